"""The model registry against a real SQLite-backed MLflow store built with MLflow's own API:
listing, every URI form, opening, registering (read back with the MLflow client), refusals
and failures (docs/FACTS.md, MLflow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("mlflow", reason="the registry extra is not installed (pip install '.[registry]')")

from registry_helpers import DANGEROUS_PICKLE, build_store, save_mlp, sha256  # noqa: E402

from inspector.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("registry")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHECKPOINT_INSPECTOR_DATA", str(root / "data"))
        mp.setenv("CHECKPOINT_INSPECTOR_CACHE", str(root / "cache"))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        made = build_store(root / "store")
        mp.setenv("MLFLOW_TRACKING_URI", made["uri"])
        made["root"] = root
        yield made


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_models_lists_latest_versions_aliases_and_tags(store, capsys):
    code, out, err = run(capsys, "registry", "models", "--json")
    assert code == 0, err
    models = {m["name"]: m for m in json.loads(out)}
    assert set(models) == {"mlp", "other", "single"}
    assert models["mlp"]["latest_version"] == "3"
    assert models["mlp"]["aliases"] == {"prod": "2", "staging": "3"} or {
        k: str(v) for k, v in models["mlp"]["aliases"].items()
    } == {"prod": "2", "staging": "3"}
    assert models["mlp"]["tags"] == {"team": "vision", "task": "toy"}
    assert models["other"]["latest_version"] == "2"
    code, out, _ = run(capsys, "registry", "models")
    assert "mlp  latest 3  aliases prod=2, staging=3  tags team=vision, task=toy" in out


def test_versions_carry_runs_aliases_tags_and_run_metrics(store, capsys):
    code, out, err = run(capsys, "registry", "versions", "mlp", "--json")
    assert code == 0, err
    versions = {v["version"]: v for v in json.loads(out)}
    assert sorted(versions) == ["1", "2", "3"]
    for v, info in store["mlp"].items():
        got = versions[v]
        assert got["run_id"] == info["run_id"]
        assert got["tags"] == {"seed": str(info["seed"])}
        assert got["metrics"] == {
            "loss": pytest.approx(1.0 / int(v)),
            "accuracy": pytest.approx(0.5 + int(v) / 10),
        }
    assert versions["2"]["aliases"] == ["prod"] and versions["3"]["aliases"] == ["staging"]
    assert versions["1"]["aliases"] == []


@pytest.mark.parametrize(
    "uri, version",
    [
        ("models:/mlp/1", "1"),
        ("models:/mlp/2", "2"),
        ("models:/mlp@prod", "2"),
        ("models:/mlp@staging", "3"),
        ("models:/mlp/latest", "3"),
        ("models:/mlp/1/mlp_v1.pt", "1"),
    ],
)
def test_every_model_uri_form_resolves_to_the_registered_bytes(store, uri, version):
    from inspector.registry.resolve import origin_of, resolve_uri

    path = resolve_uri(uri)
    assert sha256(path) == store["mlp"][version]["sha"]
    o = origin_of(path)
    assert (o["model"], o["version"], o["run_id"], o["uri"]) == (
        "mlp",
        version,
        store["mlp"][version]["run_id"],
        uri,
    )


def test_a_version_whose_source_is_one_file(store, capsys):
    from inspector.registry.resolve import resolve_uri

    assert sha256(resolve_uri("models:/single/1")) == store["mlp"]["1"]["sha"]
    code, out, err = run(capsys, "registry", "files", "single", "1", "--json")
    assert code == 0 and [(f["path"], f["uri"]) for f in json.loads(out)] == [
        ("mlp_v1.pt", "models:/single/1")
    ]


def test_runs_uri_resolves_and_records_the_run(store):
    from inspector.registry.resolve import origin_of, resolve_uri

    rid = store["mlp"]["3"]["run_id"]
    path = resolve_uri(f"runs:/{rid}/ckpt/mlp_v3.pt")
    assert sha256(path) == store["mlp"]["3"]["sha"]
    assert origin_of(path)["run_id"] == rid and origin_of(path)["run_name"] == "train v3"
    assert sha256(resolve_uri(f"runs:/{rid}/ckpt")) == store["mlp"]["3"]["sha"]  # the folder's one file


def test_a_version_is_downloaded_once_and_reused(store, monkeypatch):
    from inspector.registry import resolve

    first = resolve.resolve_uri("models:/mlp/1")
    monkeypatch.setattr(resolve, "_download", lambda *a, **k: pytest.fail("downloaded again"))
    assert resolve.resolve_uri("models:/mlp/1") == first
    assert resolve.resolve_uri("models:/mlp/latest") == resolve.resolve_uri("models:/mlp@staging")


def test_commands_open_registry_uris_like_local_files(store, capsys):
    import torch

    code, out, err = run(capsys, "info", "models:/mlp@prod", "--json")
    assert code == 0, err
    info = json.loads(out)
    expected = torch.load(store["mlp"]["2"]["file"], weights_only=True)["model_state_dict"]
    assert info["tensor_count"] == len(expected)
    assert info["numel_total"] == sum(t.numel() for t in expected.values())
    code, out, err = run(capsys, "stats", "models:/mlp/latest", "model_state_dict/0.weight", "--json")
    assert code == 0, err
    w = torch.load(store["mlp"]["3"]["file"], weights_only=True)["model_state_dict"]["0.weight"]
    assert json.loads(out)["max"] == pytest.approx(float(w.max()))
    code, out, err = run(
        capsys, "scan", "models:/mlp/1", f"runs:/{store['mlp']['2']['run_id']}/ckpt/mlp_v2.pt"
    )
    assert code == 0 and out.count(": safe") == 2, (out, err)


@pytest.mark.parametrize(
    "uri, message",
    [
        ("models:/nope/1", "model 'nope' does not exist"),
        ("models:/mlp/9", "version 9 of model 'mlp' does not exist"),
        ("models:/mlp@gone", "model 'mlp' has no alias @gone"),
        ("models:/mlp/newest", "a version number, 'latest' or @alias"),
        ("runs:/0123456789abcdef/ckpt/x.pt", "run 0123456789abcdef does not exist"),
        ("models:/other/1", "is not a checkpoint"),
        ("models:/other/2", "holds 2 files (part5.pt, part6.pt): name one"),
    ],
)
def test_registry_failures_are_one_line_exit_2(store, capsys, uri, message):
    code, out, err = run(capsys, "info", uri)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["registry", "versions", "nope"], "model 'nope' does not exist"),
        (["registry", "files", "mlp", "12"], "version 12 of model 'mlp' does not exist"),
        (["registry", "register", "missing.pt", "--name", "x"], "no such file"),
        (["registry", "register", __file__, "--name", "a/b"], "model name 'a/b'"),
        (["registry", "register", __file__, "--name", "x", "--alias", "latest"], "alias 'latest'"),
        (
            ["registry", "register", __file__, "--name", "x", "--tag", "novalue"],
            "tag 'novalue': write KEY=VALUE",
        ),
    ],
)
def test_registry_command_failures_are_one_line_exit_2(store, capsys, argv, message):
    before = _counts(store["uri"])
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert _counts(store["uri"]) == before


def test_an_unreachable_server_is_one_line(store, capsys):
    from registry_helpers import free_port

    code, _, err = run(capsys, "--tracking-uri", f"http://127.0.0.1:{free_port()}", "info", "models:/mlp/1")
    assert code == 2 and "cannot reach the tracking server" in err and err.count("\n") == 1, err
    code, _, err = run(capsys, "registry", "models", "--tracking-uri", f"http://127.0.0.1:{free_port()}")
    assert code == 2 and "cannot reach the tracking server" in err, err


def test_register_records_the_files_facts_and_reads_back(store, capsys, tmp_path):
    import torch
    from mlflow.tracking import MlflowClient

    f = tmp_path / "trained.pt"
    sd = save_mlp(f, seed=7, epoch=12, loss=0.125)
    code, out, err = run(
        capsys,
        "registry",
        "register",
        str(f),
        "--name",
        "fresh",
        "--tag",
        "team=nlp",
        "--tag",
        "data=v2",
        "--description",
        "from a test",
        "--alias",
        "candidate",
        "--json",
    )
    assert code == 0, err
    r = json.loads(out)
    assert r["uri"] == "models:/fresh/1"
    c = MlflowClient(tracking_uri=store["uri"], registry_uri=store["uri"])
    mv = c.get_model_version("fresh", "1")
    assert mv.tags == {"team": "nlp", "data": "v2"} and mv.description == "from a test"
    assert str(c.get_registered_model("fresh").aliases["candidate"]) == "1"
    run_ = c.get_run(mv.run_id)
    p = run_.data.params
    assert p["ckpt.format"] == "zip" and p["ckpt.verdict"] == "safe" and p["ckpt.epoch"] == "12"
    assert int(p["ckpt.parameter_count"]) == sum(t.numel() for t in sd.values())
    assert int(p["ckpt.tensor_count"]) == len(sd)
    assert p["ckpt.dtypes"].startswith("float32") and "int64" in p["ckpt.dtypes"]  # BatchNorm's counter
    assert run_.data.metrics["loss"] == pytest.approx(0.125) and float(p["ckpt.loss"]) == 0.125
    assert run_.data.tags["ckpt.verdict"] == "safe"
    # the artifact is the file, byte for byte, and models:/ opens it
    from inspector.registry.resolve import resolve_uri

    assert sha256(resolve_uri("models:/fresh@candidate")) == sha256(f)
    got = torch.load(resolve_uri("models:/fresh/1"), weights_only=True)["model_state_dict"]
    assert all(torch.equal(got[k], sd[k]) for k in sd)
    code, out, _ = run(capsys, "registry", "register", str(f), "--name", "fresh")
    assert code == 0 and out.splitlines()[0] == "models:/fresh/2"


def test_a_checkpoint_folder_registers_and_opens_as_one_checkpoint(store, capsys, tmp_path):
    """A shard index folder (what from_pretrained writes): the whole folder is the artifact."""
    import torch
    from safetensors.torch import save_file

    folder = tmp_path / "hf-model"
    folder.mkdir()
    a, b = {"l0.w": torch.randn(4, 3)}, {"l1.w": torch.randn(2, 4), "head.b": torch.randn(2)}
    for name, sd in (("model-00001-of-00002.safetensors", a), ("model-00002-of-00002.safetensors", b)):
        save_file(sd, str(folder / name))
    (folder / "model.safetensors.index.json").write_text(
        json.dumps(
            {
                "metadata": {},
                "weight_map": {
                    **{k: "model-00001-of-00002.safetensors" for k in a},
                    **{k: "model-00002-of-00002.safetensors" for k in b},
                },
            }
        )
    )
    code, out, err = run(capsys, "registry", "register", str(folder), "--name", "sharded", "--json")
    assert code == 0, err
    assert json.loads(out)["facts"]["parameter_count"] == 12 + 8 + 2
    code, out, err = run(capsys, "info", "models:/sharded/1", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["format"] == "hf-index" and info["tensor_count"] == 3


def _counts(uri):
    from mlflow.tracking import MlflowClient

    c = MlflowClient(tracking_uri=uri, registry_uri=uri)
    runs = sum(len(c.search_runs([e.experiment_id])) for e in c.search_experiments())
    return len(c.search_registered_models()), runs


def test_a_dangerous_file_is_refused_unless_forced(store, capsys, tmp_path):
    bad = tmp_path / "evil.pt"
    bad.write_bytes(DANGEROUS_PICKLE)
    before = _counts(store["uri"])
    code, out, err = run(capsys, "registry", "register", str(bad), "--name", "evil")
    assert code == 1 and "dangerous" in err and "--force" in err and err.count("\n") == 1, err
    assert _counts(store["uri"]) == before
    code, out, err = run(capsys, "registry", "register", str(bad), "--name", "evil", "--force", "--json")
    assert code == 0, err
    assert json.loads(out)["facts"]["verdict"] == "dangerous"


def test_not_a_checkpoint_and_an_unwritable_store_write_nothing(store, capsys, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a checkpoint at all, just some words\n")
    before = _counts(store["uri"])
    code, _, err = run(capsys, "registry", "register", str(notes), "--name", "notes")
    assert code == 2 and "not registered" in err and err.count("\n") == 1, err
    assert _counts(store["uri"]) == before
    ck = tmp_path / "ok.pt"
    save_mlp(ck, 3)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, _, err = run(
        capsys,
        "registry",
        "register",
        str(ck),
        "--name",
        "m",
        "--tracking-uri",
        f"sqlite:///{blocker}/sub/mlflow.db",
    )
    assert code == 2 and "cannot write the registry store" in err, err
    assert not (blocker.parent / "sub").exists()


def test_a_failure_part_way_leaves_nothing_in_the_store(store, capsys, tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    ck = tmp_path / "half.pt"
    save_mlp(ck, 4)
    before = _counts(store["uri"])
    artifacts = Path(store["root"] / "data")
    from mlflow.exceptions import MlflowException

    monkeypatch.setattr(
        MlflowClient,
        "create_model_version",
        lambda *a, **k: (_ for _ in ()).throw(MlflowException("database is locked")),
    )
    code, _, err = run(capsys, "registry", "register", str(ck), "--name", "halfway")
    assert code == 2 and err == "ckpt: database is locked\n", err
    monkeypatch.undo()
    assert _counts(store["uri"]) == before  # no model, the run deleted
    leftover = [p for p in (store["root"] / "store" / "artifacts").rglob("half.pt")]
    assert leftover == [] and not any(artifacts.rglob("half.pt"))


def test_embedded_default_store_needs_no_server(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CHECKPOINT_INSPECTOR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CHECKPOINT_INSPECTOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    ck = tmp_path / "m.pt"
    save_mlp(ck, 1)
    code, out, err = run(capsys, "registry", "register", str(ck), "--name", "local")
    assert code == 0, err
    assert (tmp_path / "data" / "registry" / "mlflow.db").is_file()
    assert list((tmp_path / "data" / "registry" / "artifacts").rglob("m.pt"))  # beside it, not ./mlruns
    code, out, _ = run(capsys, "registry", "where", "--json")
    assert json.loads(out)["tracking_uri"] == f"sqlite:///{tmp_path}/data/registry/mlflow.db"
    assert sha256(
        __import__("inspector.registry.resolve", fromlist=["x"]).resolve_uri("models:/local/1")
    ) == sha256(ck)

"""The same registry code against a real `mlflow server` process (SQLite backend, proxied
artifacts), started on a free local port for this module and stopped at its end."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("mlflow", reason="the registry extra is not installed (pip install '.[registry]')")

from registry_helpers import DANGEROUS_PICKLE, mlflow_server, save_mlp, sha256  # noqa: E402

from inspector.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("server")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHECKPOINT_INSPECTOR_DATA", str(root / "data"))
        mp.setenv("CHECKPOINT_INSPECTOR_CACHE", str(root / "cache"))
        with mlflow_server(root / "srv") as url:
            mp.setenv("MLFLOW_TRACKING_URI", url)
            yield {"url": url, "root": root}


@pytest.fixture(scope="module")
def registered(server, tmp_path_factory):
    """Two versions registered through `ckpt registry register` over HTTP."""
    src = tmp_path_factory.mktemp("src")
    out = {}
    for v, seed in ((1, 10), (2, 11)):
        f = src / f"net_v{v}.pt"
        sd = save_mlp(f, seed, epoch=v, loss=0.5 / v)
        argv = ["registry", "register", str(f), "--name", "net", "--tag", f"round={v}", "--json"]
        if v == 2:
            argv += ["--alias", "prod"]
        assert main(argv) == 0
        out[str(v)] = {"file": f, "sha": sha256(f), "sd": sd}
    return out


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_register_over_http_reads_back_with_the_mlflow_client(server, registered):
    from mlflow.tracking import MlflowClient

    c = MlflowClient(tracking_uri=server["url"], registry_uri=server["url"])
    mv = c.get_model_version("net", "2")
    assert mv.tags == {"round": "2"}
    assert str(c.get_registered_model("net").aliases["prod"]) == "2"
    run_ = c.get_run(mv.run_id)
    sd = registered["2"]["sd"]
    assert int(run_.data.params["ckpt.parameter_count"]) == sum(t.numel() for t in sd.values())
    assert run_.data.params["ckpt.verdict"] == "safe" and run_.data.params["ckpt.epoch"] == "2"
    assert run_.data.metrics["loss"] == pytest.approx(0.25)
    assert mv.source.startswith(("mlflow-artifacts:", "http"))  # proxied by the server


def test_list_and_every_uri_form_over_http(server, registered, capsys):
    code, out, err = run(capsys, "registry", "models", "--json")
    assert code == 0, err
    (m,) = [m for m in json.loads(out) if m["name"] == "net"]
    assert m["latest_version"] == "2" and {k: str(v) for k, v in m["aliases"].items()} == {"prod": "2"}
    code, out, err = run(capsys, "registry", "versions", "net", "--json")
    versions = {v["version"]: v for v in json.loads(out)}
    assert versions["1"]["metrics"]["loss"] == pytest.approx(0.5) and versions["2"]["aliases"] == ["prod"]
    code, out, err = run(capsys, "registry", "files", "net", "1", "--json")
    assert [f["path"] for f in json.loads(out)] == ["net_v1.pt"]

    from inspector.registry.resolve import resolve_uri

    rid = versions["1"]["run_id"]
    for uri, v in (
        ("models:/net/1", "1"),
        ("models:/net@prod", "2"),
        ("models:/net/latest", "2"),
        ("models:/net/1/net_v1.pt", "1"),
        (f"runs:/{rid}/checkpoint/net_v1.pt", "1"),
    ):
        assert sha256(resolve_uri(uri)) == registered[v]["sha"], uri


def test_open_and_failures_over_http(server, registered, capsys, tmp_path):
    code, out, err = run(capsys, "info", "models:/net@prod", "--json")
    assert code == 0, err
    assert json.loads(out)["tensor_count"] == len(registered["2"]["sd"])
    code, _, err = run(capsys, "info", "models:/missing/1")
    assert code == 2 and "model 'missing' does not exist in the registry at http://127.0.0.1:" in err, err
    code, _, err = run(capsys, "info", "models:/net/7")
    assert code == 2 and "version 7 of model 'net' does not exist" in err, err
    bad = tmp_path / "evil.pt"
    bad.write_bytes(DANGEROUS_PICKLE)
    code, _, err = run(capsys, "registry", "register", str(bad), "--name", "net")
    assert code == 1 and "dangerous" in err, err
    code, out, _ = run(capsys, "registry", "versions", "net", "--json")
    assert len(json.loads(out)) == 2  # nothing was added
    # an artifact that is not a checkpoint, registered by other means
    from mlflow.tracking import MlflowClient

    c = MlflowClient(tracking_uri=server["url"], registry_uri=server["url"])
    notes = tmp_path / "README.txt"
    notes.write_text("model card: this folder holds no weights\n" * 4)
    exp = c.create_experiment("notes")
    r = c.create_run(exp)
    c.log_artifact(r.info.run_id, str(notes), "card")
    c.create_registered_model("card")
    c.create_model_version("card", source=f"{r.info.artifact_uri}/card", run_id=r.info.run_id)
    code, _, err = run(capsys, "info", "models:/card/1")
    assert code == 2 and "the artifact README.txt is not a checkpoint" in err and err.count("\n") == 1, err

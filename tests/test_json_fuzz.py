"""Every JSON we read is validated as it is walked: mutated JSON trees of valid fixtures
end in a one-line error or a checkpoint with warnings, never an internal error (issue 13).
This run is bounded to a few seconds; `python tests/fuzz/json_fuzz.py --seconds 600` is
the long one."""

from __future__ import annotations

import json
import os
import sys
import zipfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fuzz"))

from json_fuzz import exercise, fuzz  # noqa: E402

from inspector.formats import open_checkpoint  # noqa: E402


def test_json_fuzz_bounded(tmp_path):
    counts = fuzz(str(tmp_path), seconds=4, seed=13)
    assert counts["rounds"] >= 10
    assert counts["ok"] > 0  # most mutations leave a file that still opens, with warnings


def test_old_pt2_with_null_signature_entries_opens_with_warnings(tmp_path):
    """The file from the issue: a graph-signature entry is null (was AttributeError)."""
    import io

    import torch

    sd = {"fc.weight": torch.randn(2, 3)}
    inner = io.BytesIO()
    torch.save(sd, inner)
    p = tmp_path / "old.pt2"
    program = {
        "graph_module": {
            "graph": {"nodes": None},
            "signature": {
                "input_specs": [None, {"parameter": None}, {"user_input": {"arg": None}}],
                "output_specs": None,
            },
        },
        "schema_version": None,
    }
    with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as z:
        z.writestr("serialized_exported_program.json", json.dumps(program))
        z.writestr("serialized_state_dict.pt", inner.getvalue())
    ck = open_checkpoint(p)
    assert ck.find("program/inputs/2").value == "user_input"
    assert any("input_specs[0]" in w and "found missing" in w for w in ck.warnings)
    torch.testing.assert_close(
        torch.from_numpy(ck.array(ck.tensor_node("state_dict/fc.weight")).copy()), sd["fc.weight"]
    )
    assert exercise(str(p)) == "ok"


@pytest.mark.parametrize("text", ["[" * 100000 + "]" * 100000, '{"weight_map": {"a": ' + "9" * 5000 + "}}"])
def test_shard_index_deep_or_huge_is_one_line(tmp_path, text):
    p = tmp_path / "model.safetensors.index.json"
    p.write_text(text)
    assert exercise(str(p)).startswith("refused: ")


def test_pt2_pickled_tensors_and_compressed_members_are_read(tmp_path):
    """A current-layout weight stored with use_pickle (its own torch.save file), the sample
    inputs, and an old-layout state_dict compressed inside the archive."""
    import io

    import torch

    m = torch.nn.Linear(3, 2)
    src = tmp_path / "src.pt2"
    torch.export.save(torch.export.export(m, (torch.randn(1, 3),)), str(src))
    p = tmp_path / "pickled.pt2"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as zout:
        for n in zin.namelist():
            data = zin.read(n)
            if n.endswith("model_weights_config.json"):
                cfg = json.loads(data)
                cfg["config"]["weight"]["use_pickle"] = True
                data = json.dumps(cfg).encode()
            elif n.endswith("data/weights/weight_0"):
                b = io.BytesIO()
                torch.save(m.weight.detach(), b)
                data = b.getvalue()
            zout.writestr(n, data)
    ck = open_checkpoint(p)
    w = ck.tensor_node("weights/weight")
    torch.testing.assert_close(torch.from_numpy(ck.array(w).copy()), m.weight.detach())
    assert ck.find("sample_inputs/model.pt") is not None
    assert exercise(str(p)) == "ok"
    sd = {"fc.weight": torch.randn(2, 3)}
    b = io.BytesIO()
    torch.save(sd, b)
    old = tmp_path / "old.pt2"
    with zipfile.ZipFile(old, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("serialized_exported_program.json", json.dumps({"graph_module": {}}))
        z.writestr("serialized_state_dict.pt", b.getvalue())
    ck = open_checkpoint(old)
    torch.testing.assert_close(
        torch.from_numpy(ck.array(ck.tensor_node("state_dict/fc.weight")).copy()), sd["fc.weight"]
    )

"""The static scanner (analysis/pickle_scan.py, hooks on formats/pickle_walk.py) on its own:
what it must find on hand-made pickles (globals, called or only referenced, structural
flags, malformed streams), that it names exactly what CPython's unpickler resolves on every
corpus stream, and that the static scan alone (the fallback path, `ckpt scan` of a
non-torch pickle) tells every malicious bare pickle of the security corpus from the benign
ones. tests/test_security.py judges whole files through `scan_file`; this file judges the
scanner."""

import json
import pickle
import pickletools
import zipfile
from collections import Counter

import pytest
from helpers import REAL, SECURITY, corpus_or_skip

from inspector.analysis.evidence import static_rows, worst
from inspector.analysis.pickle_scan import fast_scan, scan_stream, scan_streams
from inspector.formats.detect import sniff
from inspector.formats.errors import CheckpointError
from inspector.formats.torch_legacy import starts_with_magic


def found(data: bytes) -> dict[tuple[str, str, str], tuple[int, bool]]:
    """(module, name, opcode) -> (count, called)."""
    s = scan_stream(data, "s")
    return {k: (u.count, u.called) for k, u in s.globals.items()}


CHAIN = (
    b"\x80\x04\x8c\x08builtins\x8c\x07getattr\x93\x8c\x08builtins\x8c\n__import__\x93\x8c\x02os\x85R"
    b"\x8c\x06system\x86R\x8c\x02id\x85R."
)


@pytest.mark.parametrize(
    "data, want",
    [
        (b"cos\nsystem\n(S'id'\ntR.", {("os", "system", "GLOBAL"): (1, True)}),
        (b"(cos\nsystem\nS'id'\no.", {("os", "system", "GLOBAL"): (1, True)}),  # OBJ
        (b"(S'id'\nios\nsystem\n.", {("os", "system", "INST"): (1, True)}),
        (b"\x80\x02cos\nsystem\n)\x81.", {("os", "system", "GLOBAL"): (1, True)}),  # NEWOBJ
        # only referenced (a value in a list), never called
        (b"\x80\x02]cos\nsystem\na.", {("os", "system", "GLOBAL"): (1, False)}),
        # Python 2 spelling, as Python 3 resolves it
        (b"c__builtin__\nset\n(]tR.", {("builtins", "set", "GLOBAL"): (1, True)}),
        # STACK_GLOBAL whose operands come from the memo
        (
            b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93.",
            {("os", "system", "STACK_GLOBAL"): (1, False)},
        ),
        # a DUP'd global is the same global (CPython's DUP): calling the copy calls it
        (b"\x80\x02cos\nsystem\n2)R0.", {("os", "system", "GLOBAL"): (1, True)}),
        # one call marks every use of the name called, whichever opcode named it
        (
            b"\x80\x04cos\nsystem\n\x8c\x02os\x8c\x06system\x93)R\x86.",
            {("os", "system", "GLOBAL"): (1, True), ("os", "system", "STACK_GLOBAL"): (1, True)},
        ),
    ],
)
def test_globals_found_called_or_referenced(data, want):
    assert found(data) == want
    assert scan_stream(data, "s").error is None


@pytest.mark.parametrize(
    "data, flag, name",
    [
        (CHAIN, "REDUCE calls the result of another call (a resolver chain)", ("builtins", "getattr")),
        (
            b"\x80\x04K\x01\x8c\x06system\x93.",
            "STACK_GLOBAL with a module or name computed",
            ("<computed>", "<computed>"),
        ),
        (
            b"cbuiltins\nobject\n}S'x'\nK\x01sb.",
            "BUILD on the global builtins.object",
            ("builtins", "object"),
        ),
        (b"\x80\x02\x82\x01.", "EXT1 opcode (extension registry lookup)", ("<extension>", "1")),
    ],
)
def test_structural_tricks_are_flagged(data, flag, name):
    s = scan_stream(data, "s")
    assert s.error is None
    assert any(f.startswith(flag) for f in s.flags), s.flags
    assert name in {(u.module, u.name) for u in s.globals.values()}


def test_resolver_chain_calls_both_resolvers():
    got = found(CHAIN)
    assert got[("builtins", "getattr", "STACK_GLOBAL")] == (1, True)
    assert got[("builtins", "__import__", "STACK_GLOBAL")] == (1, True)


def test_malformed_stream_keeps_what_was_found_before_the_error():
    s = scan_stream(b"cos\nsystem\n(S'id'\ntR\xff.", "s")
    assert s.error and "unknown opcode" in s.error and s.end == len(b"cos\nsystem\n(S'id'\ntR\xff.")
    assert s.globals[("os", "system", "GLOBAL")].called
    s = scan_stream(b"cos\nsystem\n(S'id'\ntR", "s")
    assert s.error == "the pickle has no STOP opcode" and s.globals[("os", "system", "GLOBAL")].called
    assert scan_stream(b".", "s").error  # STOP on an empty stack: pickle.loads refuses it too


def test_streams_after_stop_are_scanned_and_flagged():
    first = pickle.dumps([1, 2], protocol=2)
    data = first + b"cos\nsystem\n(S'id'\ntR."
    scans = scan_streams(data, "f", fast=False)
    assert [s.end for s in scans] == [len(first), len(data)]
    assert scans[0].flags == [f"{len(data) - len(first)} bytes after STOP hold another pickle stream"]
    assert scans[1].stream == "f (stream 2)" and scans[1].globals[("os", "system", "GLOBAL")].called
    assert scan_stream(data, "s", start=len(first)).end == len(data)


@pytest.mark.parametrize("proto", range(6))
def test_opcode_counts_are_what_genops_reads(proto):
    data = pickle.dumps({"a": [1, 2.5, "x" * 300, b"b", (None, True)], "n": 2**70}, protocol=proto)
    assert scan_stream(data, "s").opcodes == Counter(op.name for op, _, _ in pickletools.genops(data))


def test_int_text_is_read_as_the_c_unpickler_reads_it():
    assert pickle.loads(b"I0x10\n.") == 16  # pickletools refuses this literal; torch.load does not
    s = scan_stream(b"cos\nsystem\n(I0x10\ntR.", "s")
    assert s.error is None and s.globals[("os", "system", "GLOBAL")].called


def _corpus_pickles():
    for entry in json.loads((SECURITY / "manifest.json").read_text()):
        path = SECURITY / entry["file"]
        if not zipfile.is_zipfile(path):
            yield entry["file"], path.read_bytes()
    for path in list(SECURITY.rglob("*")) + sorted(REAL.glob("*")):
        if path.is_file() and zipfile.is_zipfile(path):
            try:
                z = zipfile.ZipFile(path)
                for name in z.namelist():
                    if name.endswith(".pkl"):
                        yield f"{path.name}:{name}", z.read(name)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError):
                continue


def _names(scan) -> Counter:
    out = Counter()
    for u in scan.globals.values():
        out[(u.module, u.name)] += u.count
    return out


def test_static_scan_names_what_the_c_unpickler_resolves_on_the_corpora():
    """Wherever the C unpickler (find_class: the imports torch.load makes) reads a stream
    to its end, the static scan names the same globals as often, calls at least what the
    unpickler instantiated, and reads the stream to the same end without error."""
    corpus_or_skip(SECURITY)
    corpus_or_skip(REAL)
    seen = 0
    for name, data in _corpus_pickles():
        c = fast_scan(data, name)
        if c is None:
            continue
        s = scan_stream(data, name)
        assert s.error is None and s.end == c.end == len(data), name
        assert _names(s) == _names(c), name
        called = {(u.module, u.name) for u in s.globals.values() if u.called}
        assert {(u.module, u.name) for u in c.globals.values() if u.called} <= called, name
        seen += 1
    assert seen >= 80


def _static_verdict(data: bytes, where: str) -> str:
    scans = scan_streams(data, where, fast=False)
    if any(s.flags for s in scans):
        return "dangerous"
    return worst(r.category for s in scans for r in static_rows(s, s.stream))


def test_static_scan_alone_tells_malicious_bare_pickles_from_benign():
    """The security corpus' bare pickles (not zips, not legacy torch files, whose streams the
    verdict reads one by one) and the real checkpoints' pickles: the static scan alone finds
    every malicious one dangerous and no benign one."""
    corpus_or_skip(SECURITY)
    rows = []
    for rec in json.loads((SECURITY / "manifest.json").read_text()):
        path = SECURITY / rec["file"]
        try:
            if sniff(str(path)) != "pickle" or zipfile.is_zipfile(path):
                continue
        except CheckpointError:  # an image, an archive of another kind
            continue
        data = path.read_bytes()
        if starts_with_magic(data[:64]):
            continue
        rows.append(
            (rec["file"], rec["label"] != "benign", _static_verdict(data, rec["file"]) == "dangerous")
        )
    corpus_or_skip(REAL)  # real checkpoints: every pickle in them is benign
    for path in sorted(REAL.glob("*")):
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                for name in z.namelist():
                    if name.endswith(".pkl"):
                        rows.append(
                            (f"{path.name}:{name}", False, _static_verdict(z.read(name), name) == "dangerous")
                        )
    wrong = [(f, want, got) for f, want, got in rows if want != got]
    assert wrong == []
    assert sum(want for _, want, _ in rows) >= 80 and sum(not want for _, want, _ in rows) >= 20

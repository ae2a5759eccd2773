"""The verdict's bulk zip path (directory as columns, members as rows over an mmap, plain
tensor records skipped by proof) gives exactly the verdict of the one-by-one path, and
still reports every anomaly planted among many members (docs/ARCHITECTURE.md, safety
model)."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest
from helpers import SECURITY, corpus_or_skip

from inspector.analysis import zip_archives, zip_members
from inspector.analysis.verdict import scan_file
from inspector.formats import open_checkpoint
from inspector.formats.zipdir import directory_columns

SHELL_BINARY = b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00echo\x85R."
SHELL_TEXT = b"cposix\nsystem\n(S'echo'\ntR."


def _torch_zip(n: int = 300) -> bytearray:
    """torch.save's zip: every member has a data descriptor (the local walk stops at once)."""
    import torch

    buf = io.BytesIO()
    torch.save({f"w{i}": torch.full((64,), float(i)) for i in range(n)}, buf)
    return bytearray(buf.getvalue())


def _plain_zip(n: int = 300) -> bytearray:
    """The same layout written by zipfile: sizes in the local headers, so the local walk
    goes from member to member (and is proved, not run, by the bulk path)."""
    import pickle

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"epoch": 1}, protocol=2))
        for i in range(n):
            z.writestr(f"archive/data/{i}", struct.pack("<64f", *[float(i)] * 64))
        z.writestr("archive/version", b"3\n")
    return bytearray(buf.getvalue())


def _central(data: bytes, name: str) -> int:
    """Where `name`'s central-directory entry starts."""
    end = data.rfind(b"PK\x05\x06")
    (cd_size, cd_off) = struct.unpack_from("<LL", data, end + 12)
    if cd_off == 0xFFFFFFFF:  # zip64: the locator's record
        rec = struct.unpack_from("<Q", data, end - 20 + 8)[0]
        cd_size, cd_off = struct.unpack_from("<QQ", data, rec + 40)
    pos = cd_off
    while data[pos : pos + 4] == b"PK\x01\x02":
        nlen, elen, clen = struct.unpack_from("<HHH", data, pos + 28)
        if data[pos + 46 : pos + 46 + nlen] == name.encode():
            return pos
        pos += 46 + nlen + elen + clen
    raise KeyError(name)


def _local(data: bytes, name: str) -> int:
    return struct.unpack_from("<L", data, _central(data, name) + 42)[0]


def _data(data: bytes, name: str) -> int:
    at = _local(data, name)
    nlen, elen = struct.unpack_from("<HH", data, at + 26)
    return at + 30 + nlen + elen


def _rename(data: bytearray, old: str, new: str, local: bool = True, central: bool = True) -> None:
    assert len(old) == len(new)
    c, ln = _central(data, old), _local(data, old)
    if central:
        data[c + 46 : c + 46 + len(new)] = new.encode()
    if local:
        data[ln + 30 : ln + 30 + len(new)] = new.encode()


def _verdicts(path, monkeypatch, reader: bool = False):
    """(bulk verdict, one-by-one verdict, rows the bulk path skipped as plain)."""
    plain = []
    real = zip_archives.plain_rows

    def spy(rows, size):
        mask = real(rows, size)
        plain.append(0 if mask is None else int(mask.sum()))
        return mask

    monkeypatch.setattr(zip_archives, "plain_rows", spy)

    def run():
        if not reader:
            return scan_file(str(path)).to_json()
        ck = open_checkpoint(str(path))
        try:
            return scan_file(ck.path, ck.container.reports, ck.container.zipdir).to_json()
        finally:
            ck.close()

    fast = run()
    monkeypatch.setattr(zip_members, "BULK", False)
    full = run()
    monkeypatch.setattr(zip_members, "BULK", True)
    return fast, full, sum(plain)


def _write(tmp_path, data: bytes, name: str = "m.pt"):
    p = tmp_path / name
    p.write_bytes(bytes(data))
    return p


@pytest.mark.parametrize("make", [_torch_zip, _plain_zip], ids=["torch", "zipfile"])
def test_clean_checkpoint_takes_the_bulk_path(tmp_path, monkeypatch, make):
    p = _write(tmp_path, make())
    for reader in (False, True) if make is _torch_zip else (False,):
        fast, full, plain = _verdicts(p, monkeypatch, reader)
        assert fast == full
        assert fast["verdict"] == "safe"
        assert plain >= 300  # every tensor record proved plain, none read one by one


def _anomaly_local_name(d):
    c = _central(d, "archive/data/157")
    d[_local(d, "archive/data/157") + 30 + 15] = ord("8")  # the local header says data/158
    assert d[c + 46 + 15] == ord("7")
    return "unvouched", "local header name"


def _anomaly_no_local_header(d):
    d[_local(d, "archive/data/42") : _local(d, "archive/data/42") + 2] = b"XX"
    return "flags", "member archive/data/42 has no local header"


def _anomaly_appended(d):
    d.extend(SHELL_TEXT)
    return "flags", "after the archive's end hold a pickle"


def _anomaly_duplicate(d):
    _rename(d, "archive/data/10", "archive/data/11")
    return "unvouched", "more than one member named 'archive/data/11'"


def _anomaly_hidden_binary_pickle(d):
    at = _data(d, "archive/data/77")
    d[at : at + len(SHELL_BINARY)] = SHELL_BINARY
    return "flags", "pickle bytes hidden in member archive/data/77"


def _anomaly_hidden_text_pickle(d):
    at = _data(d, "archive/data/78")
    d[at : at + len(SHELL_TEXT)] = SHELL_TEXT
    return "flags", "pickle bytes hidden in member archive/data/78"


def _anomaly_encrypted(d):
    c = _central(d, "archive/data/5")
    d[c + 8] |= 0x1
    return "unvouched", "member archive/data/5 is marked encrypted"


def _anomaly_unusual_flags(d):
    c = _central(d, "archive/data/6")
    d[c + 8] |= 0x40
    return "unvouched", "member archive/data/6 uses unusual zip flags"


def _anomaly_escape(d):
    _rename(d, "archive/data/123", "archive/../a/123")
    return "unvouched", "'archive/../a/123' escapes the archive folder"


def _anomaly_record_name(d):  # a storage named like a record is looked at, not skipped
    _rename(d, "archive/data/200", "archive/version_")
    at = _data(d, "archive/version_")
    d[at : at + len(SHELL_TEXT)] = SHELL_TEXT
    return "flags", "pickle bytes hidden in member archive/version_"


def _anomaly_leading_slash(d):
    _rename(d, "archive/data/125", "/rchive/data/125")
    return "unvouched", "'/rchive/data/125' escapes the archive folder"


def _anomaly_drive_colon(d):
    _rename(d, "archive/data/124", "c:chive/data/124")
    return "unvouched", "'c:chive/data/124' escapes the archive folder"


def _anomaly_nested_zip(d):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("x/data.pkl", SHELL_BINARY)
    at = _data(d, "archive/data/90")
    assert len(inner.getvalue()) <= 256
    d[at : at + len(inner.getvalue())] = inner.getvalue()
    return "streams", "archive/data/90 › x/data.pkl"


def _anomaly_json_without_folder(d):
    """A name without a folder is read as JSON when it starts like JSON (SB3's `data`)."""
    import base64

    _rename(d, "archive/data/126", "archive_data_126")
    text = b'{"p": {":serialized:": "' + base64.b64encode(SHELL_BINARY) + b'"}}'
    at = _data(d, "archive_data_126")
    d[at : at + 256] = text.ljust(256)
    return "streams", "archive_data_126 :serialized: value 1"


def _anomaly_claimed_sizes(d):
    """Sizes claimed past the read budget: the loop stops at the member that overdraws
    it, so nothing is charged at once."""
    for i in range(300):
        struct.pack_into("<L", d, _central(d, f"archive/data/{i}") + 24, 0x7FFFFFFF)
    return "unvouched", "the archive's members add up to more than"


ANOMALIES = [v for k, v in sorted(globals().items()) if k.startswith("_anomaly_")]


@pytest.mark.parametrize("make", [_torch_zip, _plain_zip], ids=["torch", "zipfile"])
@pytest.mark.parametrize("plant", ANOMALIES, ids=lambda f: f.__name__[9:])
def test_anomaly_among_many_members_is_reported_alike(tmp_path, monkeypatch, plant, make):
    d = make()
    where, text = plant(d)
    p = _write(tmp_path, d)
    fast, full, plain = _verdicts(p, monkeypatch)
    assert fast == full
    if where == "streams":
        assert any(s["stream"] == text for s in fast["streams"]) and fast["verdict"] == "dangerous"
    else:
        assert any(text in line for line in fast[where if where == "flags" else "unverified"]), fast
    assert fast["verdict"] != "safe"
    # the rest of the archive still went the bulk way (a zipfile zip whose local name
    # differs takes the one-by-one walk: that member is on it under another name)
    if plant not in (_anomaly_duplicate, _anomaly_claimed_sizes) and (
        make is _torch_zip or plant is not _anomaly_local_name
    ):
        assert plain >= 250


@pytest.mark.parametrize("where", [-1, 100, 199])
def test_local_only_member_is_judged(tmp_path, monkeypatch, where):
    """A stored zip without data descriptors (the local walk goes member to member) with
    one member left out of the directory (first, between two, last): a streaming reader
    still sees it, so the walk is not taken as proved."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        if where < 0:
            z.writestr("arr/hidden.pkl", SHELL_BINARY)
        for i in range(200):
            z.writestr(f"arr/data/{i}", bytes(64))
            if i == where:
                z.writestr("arr/hidden.pkl", SHELL_BINARY)
    d = bytearray(buf.getvalue())
    c = _central(d, "arr/hidden.pkl")
    nlen, elen, clen = struct.unpack_from("<HHH", d, c + 28)
    del d[c : c + 46 + nlen + elen + clen]
    end = d.rfind(b"PK\x05\x06")
    count, size = struct.unpack_from("<HL", d, end + 10)
    struct.pack_into("<HHL", d, end + 8, count - 1, count - 1, size - (46 + nlen + elen + clen))
    assert "arr/hidden.pkl" not in zipfile.ZipFile(io.BytesIO(bytes(d))).namelist()
    fast, full, _ = _verdicts(_write(tmp_path, d, "z.zip"), monkeypatch)
    assert fast == full
    assert fast["verdict"] == "dangerous"


def test_security_corpus_zips_alike(monkeypatch):
    root = corpus_or_skip(SECURITY)
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and p.read_bytes()[:2] == b"PK"]
    assert files
    for p in files:
        fast, full, _ = _verdicts(p, monkeypatch)
        assert fast == full, p


def test_columns_decline_a_signature_inside_a_name():
    """A central signature inside a name could start a false entry: the column decode
    says no and the directory is decoded one by one."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a", b"1")
        z.writestr("b/PK\x01\x02" + "x" * 50, b"2")
        z.writestr("c", b"3")
    data = buf.getvalue()
    start = struct.unpack_from("<L", data, data.rfind(b"PK\x05\x06") + 16)[0]
    cd = data[start : data.rfind(b"PK\x05\x06")]
    assert directory_columns(cd, 1000) is None
    clean = data.replace(b"PK\x01\x02" + b"x", b"PKxx" + b"x")
    cols = directory_columns(clean[start : clean.rfind(b"PK\x05\x06")], 1000)
    assert cols is not None and len(cols.pos) == 3
    assert [int(x) for x in cols.offset] == [
        i.header_offset for i in zipfile.ZipFile(io.BytesIO(clean)).infolist()
    ]


def test_repeated_no_argument_call_is_counted_and_rendered_alike():
    """`Module()` five times, the last given to repr: counted five times, one example,
    and the result still renders as the call it stands for (what the full path does)."""
    from inspector.analysis.trace import MAX_EXAMPLES, trace_stream

    stream = b"ctorch.nn\nModule\n)R0" * 4 + b"cbuiltins\nrepr\n(ctorch.nn\nModule\n)RtR."
    t = trace_stream(stream, "s")
    assert t.complete
    module = t.events[("call", "torch.nn.Module")]
    assert module.count == 5 and module.examples == ["torch.nn.Module()"]
    assert t.events[("call", "builtins.repr")].examples == ["builtins.repr(torch.nn.Module())"]
    # once its examples are full (`Module()` among them), it is counted the usual way: "(…)"
    calls = b"ctorch.nn\nModule\n)R0" + b"".join(
        b"ctorch.nn\nModule\n(I%d\ntR0" % i for i in range(MAX_EXAMPLES - 1)
    )
    t = trace_stream(calls + b"cbuiltins\nrepr\n(ctorch.nn\nModule\n)RtR.", "s")
    assert "torch.nn.Module()" in t.events[("call", "torch.nn.Module")].examples
    assert t.events[("call", "torch.nn.Module")].count == MAX_EXAMPLES + 1
    assert t.events[("call", "builtins.repr")].examples == ["builtins.repr(torch.nn.Module(…))"]

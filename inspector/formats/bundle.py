"""Zip archives of other libraries that wrap torch files, opened as one checkpoint.

A stable-baselines3 `.zip` holds `data` (JSON; values it could not write as JSON are
cloudpickled and base64-encoded under `:serialized:`), `policy.pth`,
`policy.optimizer.pth`, `pytorch_variables.pth` (each a torch.save file),
`_stable_baselines3_version` and `system_info.txt`. Any zip whose members are torch
files is read the same way: each torch member is a sub-tree (a stored torch.save zip is
read in place; compressed or legacy members are inflated into memory and read there),
JSON members are trees, text members are text, pickles are read with stand-ins, and
serialized values are shown as what they are (never unpickled).
"""

from __future__ import annotations

import base64
import binascii
import pickletools
from dataclasses import dataclass, field

from .errors import CheckpointError
from .jsonsafe import JSON_LIMIT, parse_json
from .limits import Limits
from .stubs import SourceText
from .zipdir import Window

TEXT_LIMIT = 1 << 20


@dataclass(eq=False)
class SerializedPickle:
    """A pickled value stored as text (stable-baselines3's cloudpickle + base64): its
    size and the names it would import, read statically; never unpickled."""

    nbytes: int
    names: list = field(default_factory=list)
    note: str | None = None
    display_type = "serialized pickle"  # class attribute: the Type column

    def __repr__(self):
        if self.note:
            return f"serialized pickle ({self.note})"
        head = ", ".join(self.names[:4]) + (f", … {len(self.names) - 4} more" if len(self.names) > 4 else "")
        return f"cloudpickle, {self.nbytes:,} bytes" + (f": {head}" if head else "")


def pickle_names(data: bytes, limit: int = 64) -> list[str]:
    """module.name of each global a pickle names, read opcode by opcode (nothing run)."""
    names: list[str] = []
    strings: list[str] = []
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name in ("GLOBAL", "INST"):
                names.append(str(arg).replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                names.append(f"{strings[-2]}.{strings[-1]}")
            elif isinstance(arg, str):
                strings.append(arg)
            if len(names) >= limit:
                break
    except Exception:  # a damaged stream: the names read so far are what we can say
        pass
    return list(dict.fromkeys(names))


def decode_serialized(value):
    """SB3's JSON: {":type:": ..., ":serialized:": base64 pickle, ...} -> the same dict with
    the pickle replaced by a SerializedPickle; everything else unchanged (recursively)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == ":serialized:" and isinstance(v, str):
                try:
                    raw = base64.b64decode(v, validate=False)
                    out[k] = SerializedPickle(len(raw), pickle_names(raw))
                except (binascii.Error, ValueError):
                    out[k] = SerializedPickle(len(v), note="not valid base64")
            else:
                out[k] = decode_serialized(v)
        return out
    if isinstance(value, list):
        return [decode_serialized(v) for v in value]
    return value


@dataclass(eq=False)
class Entry:
    """One member of a zip or tar: where its bytes lie when stored as they are."""

    name: str
    size: int  # bytes of content
    offset: int | None  # absolute offset in the file when stored uncompressed, else None
    read: object  # callable(limit) -> the content (inflated when compressed)


def read_bundle(path: str, c, limits: Limits) -> dict:
    """A zip of torch files (ZipContainer `c`)."""
    entries = []
    for name in c.names:
        if name.endswith("/"):
            continue
        m = c.members[name]
        entries.append(
            Entry(
                name,
                m.file_size,
                c.dir.data_offset(m) if m.method == 0 else None,
                lambda limit, name=name: c.read_member(name, name, limit),
            )
        )
    return read_entries(path, c.fh, entries, limits, c.storages, c.warnings)


def read_entries(path: str, fh, entries: list[Entry], limits: Limits, storages: dict, warnings: list) -> dict:
    out: dict = {}
    for e in entries:
        try:
            out[e.name] = _member(path, fh, e, limits, storages, warnings)
        except CheckpointError as exc:
            out[e.name] = f"<unreadable: {exc}>"
            warnings.append(f"{e.name}: {exc}")
    return out


def _member(path: str, fh, e: Entry, limits: Limits, storages: dict, warnings: list):
    data = None
    if e.offset is not None:
        head = Window(fh, e.offset, e.size).read(64)
    else:  # compressed: inflated once (within the record limit) and kept for reading
        data = e.read(limits.max_record_read)
        head = data[:64]

    def content(limit: int) -> bytes:
        return data if data is not None else e.read(limit)

    if head[:4] == b"PK\x03\x04" and e.offset is not None:
        return _stored_zip(path, fh, e, limits, storages, warnings)
    from .detect import _safetensors_header

    if _safetensors_header(head, e.size):
        return _safetensors(path, fh, e, content, limits, storages, warnings)
    if head[:4] == b"PK\x03\x04" or _legacy(head):
        from .nested import read_torch_bytes

        obj, refs = read_torch_bytes(content(limits.max_record_read), limits, e.name)
        for ref in refs:
            storages[f"{e.name}/{ref.key}"] = ref
        return obj
    if head[:1] == b"\x80":
        from .unpickler import unpickle

        return unpickle(content(limits.max_pickle_bytes), what=e.name, limits=limits)
    if e.size <= JSON_LIMIT and head.lstrip()[:1] in (b"{", b"["):
        text = content(JSON_LIMIT)
        try:
            return decode_serialized(parse_json(text, e.name, warnings))
        except CheckpointError:
            pass  # not JSON after all: shown as text below
        return _text(e.name, text)
    if e.size <= TEXT_LIMIT:
        return _text(e.name, content(TEXT_LIMIT))
    return f"<{e.size:,} bytes>"


def _legacy(head: bytes) -> bool:
    from .torch_legacy import starts_with_magic

    return starts_with_magic(head)


def _text(name: str, data: bytes):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(data):,} bytes>"
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in text[:4096]):
        return f"<{len(data):,} bytes>"  # binary that happens to decode
    if len(text) <= 200 and "\n" not in text.strip():
        return text.strip()
    return SourceText(name, text)


def _safetensors(path: str, fh, e: Entry, content, limits: Limits, storages: dict, warnings: list):
    """A safetensors member: stored ones mapped in place, compressed ones from memory."""
    import io

    from .safetensors_reader import SafetensorsContainer

    if e.offset is not None:
        inner = SafetensorsContainer(
            path, Window(fh, e.offset, e.size), limits, e.size, base=e.offset, validate=False
        )
        obj = inner.load()
    else:
        from .nested import BytesContainer

        data = content(limits.max_record_read)
        inner = SafetensorsContainer(f"<{e.name}>", io.BytesIO(data), limits, len(data), validate=False)
        obj = inner.load()
        source = BytesContainer(data, e.name)
        for ref in inner.storages.values():
            ref.source, ref.compressed = source, True
    for key, ref in inner.storages.items():
        storages[f"{e.name}/{key}"] = ref
    warnings.extend(f"{e.name}: {r.error}" for r in inner.storages.values() if r.error)
    return obj


def _stored_zip(path: str, fh, e: Entry, limits: Limits, storages: dict, warnings: list):
    """A torch.save zip stored as it is inside the outer file: read in place."""
    from .torch_zip import ZipContainer

    inner = ZipContainer(path, Window(fh, e.offset, e.size), limits, e.size, base=e.offset)
    if inner.kind == "torchscript":
        from .torchscript import read_torchscript

        obj = read_torchscript(inner)
    elif inner.kind != "zip":
        return f"<a {inner.kind} archive, {e.size:,} bytes; not read>"
    else:
        obj = inner.load(deferred=False)
    for k, ref in inner.storages.items():
        ref.source = inner
        storages[f"{e.name}/{k}"] = ref
    warnings.extend(f"{e.name}: {w}" for w in inner.warnings)
    return obj

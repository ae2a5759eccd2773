"""torch.distributed.checkpoint folders: `.metadata` plus `__<rank>_<n>.distcp` files.

torch's own reader loads `.metadata` with plain `pickle.load` (docs/FACTS.md); here it goes
through the non-executing unpickler. Each tensor is shown with its global shape and
dtype; its per-rank chunks (offsets, sizes, file and byte range) are listed, and their
bytes are read on demand - each chunk is a torch.save archive stored inside a .distcp
file (read in place) or raw bytes. Non-tensor entries are torch.save'd objects, read
the same safe way.
"""

from __future__ import annotations

import os

import numpy as np

from . import dtypes as dt
from .container import MultiFileContainer
from .container import contiguous_strides as _contiguous
from .deferred import realize
from .errors import CheckpointError, LimitExceeded, TensorDataError
from .limits import Limits
from .safe_io import check_regular, open_regular, read_regular
from .stubs import DTypeValue, ObjectStub, StorageRef, TensorInfo
from .unpickler import unpickle
from .zipdir import Window

MAX_METADATA = 256 << 20
MAX_ASSEMBLE = 512 << 20


def _state(obj) -> dict:
    return obj.state_dict() or {} if isinstance(obj, ObjectStub) else {}


def _ints(v) -> tuple | None:
    if isinstance(v, (tuple, list)) and all(type(x) is int and x >= 0 for x in v):
        return tuple(v)
    return None


class DcpContainer(MultiFileContainer):
    def __init__(self, folder: str, limits: Limits):
        self.path = folder
        self.limits = limits
        self.storages: dict[str, StorageRef] = {}
        self.handles: dict[str, object] = {}
        self.inner: list = []

    def _file(self, rel) -> tuple[str, object, int]:
        if not isinstance(rel, str) or "/" in rel or "\\" in rel or rel in ("", ".", ".."):
            raise CheckpointError(f"a chunk names a file outside the folder: {rel!r:.60}")
        full = os.path.join(self.path, rel)
        if rel not in self.handles:
            if not os.path.lexists(full):
                raise CheckpointError(f"{rel} is missing from the folder")
            self.handles[rel] = open_regular(full, rel, folder=self.path)
        return full, self.handles[rel], os.fstat(self.handles[rel].fileno()).st_size

    def load(self) -> dict:
        meta_path = os.path.join(self.path, ".metadata")
        if check_regular(meta_path, ".metadata", folder=self.path) > MAX_METADATA:
            raise LimitExceeded(".metadata is too large")
        meta = unpickle(
            read_regular(meta_path, MAX_METADATA, ".metadata", folder=self.path),
            what=".metadata",
            limits=self.limits,
        )
        st = _state(meta)
        sdm = st.get("state_dict_metadata")
        if not isinstance(sdm, dict):
            raise CheckpointError(".metadata holds no state_dict_metadata: not a DCP checkpoint")
        where: dict[tuple, object] = {}
        try:
            for key, info in (st.get("storage_data") or {}).items():
                k = _state(key)
                offset = k.get("offset")
                where[(k.get("fqn"), tuple(offset) if offset is not None else None)] = _state(info)
        except (TypeError, AttributeError, ValueError) as exc:  # a hand-made or damaged .metadata
            raise CheckpointError(
                f".metadata has an unexpected structure ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:80]})"
            ) from None
        out: dict = {}
        for fqn, md in sdm.items():
            try:
                out[str(fqn)] = self._entry(str(fqn), md, where)
            except (CheckpointError, TensorDataError) as exc:
                out[str(fqn)] = f"<unreadable: {exc}>"
            except (TypeError, AttributeError, ValueError, KeyError, IndexError) as exc:
                out[str(fqn)] = (
                    f"<unreadable: its metadata has an unexpected structure ({type(exc).__name__})>"
                )
        return out

    def _entry(self, fqn: str, md, where: dict):
        s = _state(md)
        if "chunks" not in s:  # BytesStorageMetadata: a torch.save'd object
            info = where.get((fqn, None))
            if info is None:
                return "<no storage record>"
            return self._read_object(fqn, info)
        props = s.get("properties")
        pstate = props.stub_state if isinstance(props, ObjectStub) else None
        dtype_v = pstate[0] if isinstance(pstate, tuple) and pstate else _state(props).get("dtype")
        dtype = dt.lookup(dtype_v.name) if isinstance(dtype_v, DTypeValue) else None
        shape = _ints(s.get("size"))
        if dtype is None or shape is None:
            raise CheckpointError(f"{fqn}: dtype or size not recognised")
        chunks = []
        for ch in s.get("chunks") or []:
            c = _state(ch)
            offsets, sizes = _ints(c.get("offsets")), _ints(c.get("sizes"))
            if offsets is None or sizes is None or len(offsets) != len(shape):
                raise CheckpointError(f"{fqn}: a chunk has invalid offsets or sizes")
            info = where.get((fqn, offsets))
            chunk = self._chunk(fqn, offsets, sizes, dtype, info)
            chunks.append(
                {
                    "offsets": offsets,
                    "sizes": sizes,
                    "tensor": chunk,
                    "file": info.get("relative_path") if info else None,
                }
            )
        t = TensorInfo(None, dtype, shape, _contiguous(shape), 0, rebuild="dcp")
        t.layout = "dcp"
        t.parts = {"chunks": chunks, "device": "cpu"}
        return t

    def _chunk(self, fqn, offsets, sizes, dtype, info) -> TensorInfo:
        if info is None:
            raise CheckpointError(f"{fqn}: chunk at {offsets} has no storage record")
        full, fh, fsize = self._file(info.get("relative_path"))
        start, length = info.get("offset"), info.get("length")
        if (
            type(start) is not int
            or type(length) is not int
            or start < 0
            or length < 0
            or start + length > fsize
        ):
            raise CheckpointError(f"{fqn}: chunk byte range lies outside {info.get('relative_path')}")
        fh.seek(start)
        if fh.read(4) == b"PK\x03\x04":
            t = realize(self._inner(full, fh, start, length))
            if not isinstance(t, TensorInfo):
                raise CheckpointError(f"{fqn}: chunk does not hold a tensor")
            return t
        ref = StorageRef(
            key=f"{fqn}@{offsets}",
            dtype=dtype,
            location="cpu",
            numel=length // dtype.itemsize,
            record=info.get("relative_path"),
            data_offset=start,
            record_size=length,
            path=full,
            source=self,
        )
        self.storages[ref.key] = ref
        return TensorInfo(ref, dtype, sizes, _contiguous(sizes), 0, rebuild="raw")

    def _inner(self, full, fh, start, length):
        from .torch_zip import ZipContainer

        inner = ZipContainer(full, Window(fh, start, length), self.limits, length, base=start)
        obj = inner.load(deferred=False)
        for k, ref in inner.storages.items():
            ref.source, ref.path = inner, full
            self.storages[f"{os.path.basename(full)}@{start}/{k}"] = ref
        self.inner.append(inner)
        return obj

    def _read_object(self, fqn, info):
        full, fh, fsize = self._file(info.get("relative_path"))
        start, length = info.get("offset"), info.get("length")
        if type(start) is not int or type(length) is not int or start + length > fsize:
            raise CheckpointError(f"{fqn}: byte range lies outside its file")
        return self._inner(full, fh, start, length)

    def close(self) -> None:
        for fh in self.handles.values():
            fh.close()


class ChunkedSource:
    """A DCP tensor's chunks read one after another (statistics do not need the order)."""

    def __init__(self, parts: list):
        self.parts = parts
        self.size = sum(p.size for p in parts)

    def raw_chunks(self, chunk: int):
        for p in self.parts:
            if hasattr(p, "raw_chunks"):
                yield from p.raw_chunks(chunk)
            else:
                flat = np.ascontiguousarray(p).reshape(-1)
                for i in range(0, flat.size, chunk):
                    yield flat[i : i + chunk]

    def runs(self, starts, length: int) -> np.ndarray:
        """Runs at positions of the chunks laid end to end (for previews)."""
        bounds = np.cumsum([0] + [p.size for p in self.parts])
        out = []
        for s in starts:
            i = int(np.searchsorted(bounds, s, side="right")) - 1
            p, local = self.parts[i], int(s - bounds[i])
            n = min(length, p.size - local)
            if hasattr(p, "runs"):
                out.append(p.runs([local], n))
            else:
                out.append(np.asarray(p).reshape(-1)[local : local + n])
        return np.concatenate(out) if out else np.empty(0)


def dcp_source(ck, t: TensorInfo):
    from .tensor_data import tensor_source

    return ChunkedSource(
        [tensor_source(ck.container, ck.path, c["tensor"], ck.byteorder) for c in t.parts["chunks"]]
    )


def dcp_array(ck, t: TensorInfo) -> np.ndarray:
    """The global tensor assembled from its chunks (bounded in size)."""
    from .tensor_data import tensor_array

    if t.nbytes > MAX_ASSEMBLE:
        raise TensorDataError(
            f"assembling {t.nbytes:,} bytes from chunks is over the "
            f"{MAX_ASSEMBLE:,}-byte limit; statistics still work"
        )
    out = np.zeros(t.shape, dtype=t.dtype.numpy_raw(ck.byteorder))
    for c in t.parts["chunks"]:
        part = tensor_array(ck.container, ck.path, c["tensor"], ck.byteorder)
        index = tuple(slice(o, o + s) for o, s in zip(c["offsets"], c["sizes"]))
        out[index] = part.reshape(c["sizes"])
    out.flags.writeable = False
    return out

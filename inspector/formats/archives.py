"""Zip archives that are not plain torch.save files, read statically.

- TorchScript (`torch.jit.save`, and the mobile `.ptl` with `bytecode.pkl`): the module
  hierarchy from `data.pkl`, constants from `constants.pkl`, and the `code/` files as
  text. Never `torch.jit.load`.
- The oldest TorchScript layout: `model.json` + `tensors/`.
- torch.export `.pt2`: current layout (`data/weights/*` described by
  `model_weights_config.json`, the program in `models/*.json`) and the old one
  (`serialized_state_dict.pt` etc., each a torch.save archive stored inside the zip).
  Never `torch.export.load`, which silently retries with weights_only=False.
"""

from __future__ import annotations


from . import dtypes as dt
from .checkpoint import Checkpoint, assemble
from .container import contiguous_strides as _contiguous
from .errors import CheckpointError
from .limits import Limits
from .safe_io import load_json
from .stubs import SourceText, StorageRef, TensorInfo
from .zipdir import Window

MAX_JSON = 256 << 20
MAX_CODE = 4 << 20

# torch/_export/serde/schema.py ScalarType
EXPORT_DTYPES = {1: "uint8", 2: "int8", 3: "int16", 4: "int32", 5: "int64", 6: "float16",
                 7: "float32", 8: "float64", 9: "complex32", 10: "complex64", 11: "complex128",
                 12: "bool", 13: "bfloat16", 28: "uint16", 29: "float8_e4m3fn",
                 30: "float8_e5m2", 31: "float8_e4m3fnuz", 32: "float8_e5m2fnuz",
                 33: "float8_e8m0fnu", 34: "uint32", 35: "uint64"}
# model.json (TorchScript before 1.3) dataType names
OLD_TS_DTYPES = {"FLOAT": "float32", "DOUBLE": "float64", "FLOAT16": "float16", "HALF": "float16",
                 "INT64": "int64", "INT32": "int32", "INT16": "int16", "INT8": "int8",
                 "UINT8": "uint8", "BOOL": "bool"}


def open_archive(path: str, c, limits: Limits) -> Checkpoint:
    try:
        if c.kind == "torchscript":
            obj = _torchscript(c)
        elif c.kind == "torchscript-old":
            obj = _torchscript_old(c)
        elif c.kind == "pt2":
            obj = _pt2(c)
        else:
            obj = _pt2_old(path, c, limits)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        # JSON of the wrong shape somewhere below the top level (a list where an object
        # belongs, a number where a list does): one line, not an internal error
        raise CheckpointError(f"the archive's JSON has an unexpected structure "
                              f"({type(exc).__name__}: {' '.join(str(exc).split())[:100]})") from None
    fmt = "torchscript" if c.kind.startswith("torchscript") else "pt2"
    ck = assemble(path, fmt, obj, c, c.storages, limits, byteorder=c.byteorder)
    ck.warnings.extend(c.warnings)
    return ck


def _json(c, name: str) -> dict:
    obj = load_json(c.read_member(name, name, MAX_JSON), name)
    if not isinstance(obj, dict):
        raise CheckpointError(f"{name} holds a JSON {type(obj).__name__}, not an object")
    return obj


def _code(c) -> dict:
    out = {}
    for n in c.names:
        rel = n[len(c.root):]
        if rel.startswith("code/") and not rel.endswith(".debug_pkl"):
            data = c.read_member(n, n, MAX_CODE)
            out[rel[len("code/"):]] = SourceText(rel, data.decode("utf-8", "replace"))
    return out


def _torchscript(c) -> dict:
    out = {"model": c.load("data.pkl")}
    if c.root + "constants.pkl" in c.members:
        out["constants"] = c.load("constants.pkl", records="constants/")
    if c.root + "bytecode.pkl" in c.members:
        out["bytecode"] = c.load("bytecode.pkl", records="constants/")
    code = _code(c)
    if code:
        out["code"] = code
    return out


def _record_tensor(c, key: str, record: str, dtype_name: str | None, shape, stride, offset,
                   device: str = "cpu") -> TensorInfo:
    dtype = dt.lookup(dtype_name or "")
    if dtype is None:
        raise CheckpointError(f"{key}: unknown dtype {dtype_name!r:.30}")
    if not (isinstance(shape, (list, tuple)) and all(type(s) is int and 0 <= s < 1 << 62 for s in shape)):
        raise CheckpointError(f"{key}: invalid shape")
    stride = tuple(stride) if stride is not None else _contiguous(shape)
    if not all(type(s) is int and abs(s) < 1 << 62 for s in stride) or type(offset or 0) is not int:
        raise CheckpointError(f"{key}: invalid strides or storage offset")
    m = c.members.get(record)
    ref = StorageRef(key=record[len(c.root):], dtype=dtype, location=device,
                     numel=(m.file_size // dtype.itemsize) if m else 0, record=record)
    if m is None:
        ref.error = f"record {record[len(c.root):]} is missing from the archive"
    else:
        ref.record_size = m.file_size
        ref.compressed = m.method != 0
    c.storages[ref.key] = ref
    return TensorInfo(ref, dtype, tuple(shape), stride, int(offset or 0), rebuild="record")


def _torchscript_old(c) -> dict:
    model = _json(c, c.root + "model.json")
    tensors = []
    for i, t in enumerate(model.get("tensors", [])):
        key = (t.get("data") or {}).get("key", f"tensors/{i}")
        dims = [int(d) for d in t.get("dims", [])]
        strides = [int(s) for s in t.get("strides", [])] or None
        tensors.append(_record_tensor(c, f"tensor {i}", c.root + key,
                                      OLD_TS_DTYPES.get(t.get("dataType", "FLOAT")), dims, strides,
                                      int(t.get("offset", 0)), t.get("device", "cpu")))

    def module(m: dict) -> dict:
        out: dict = {}
        for p in m.get("parameters", []):
            idx = int(p.get("tensorId", -1))
            out[p.get("name", "?")] = tensors[idx] if 0 <= idx < len(tensors) else "<missing tensor>"
        for a in m.get("attributes", []):
            out[a.get("name", "?")] = a.get("type", "attribute")
        for sub in m.get("submodules", []):
            out[sub.get("name", "?")] = module(sub)
        return out

    out = {"model": module(model.get("mainModule", {})),
           "producer": {k: model[k] for k in ("producerName", "producerVersion", "protoVersion")
                        if k in model}}
    code = _code(c)
    if code:
        out["code"] = code
    return out


def _export_meta(c, key: str, entry: dict, folder: str) -> TensorInfo | str:
    meta = entry.get("tensor_meta") or {}
    if entry.get("use_pickle"):
        return "<a pickled tensor (torch.save inside the archive); not read>"
    sizes = [s.get("as_int") for s in meta.get("sizes", [])]
    strides = [s.get("as_int") for s in meta.get("strides", [])]
    offset = (meta.get("storage_offset") or {}).get("as_int", 0)
    device = meta.get("device") or {}
    tag = device.get("type", "cpu") + (f":{device['index']}" if device.get("index") is not None else "")
    t = _record_tensor(c, key, c.root + folder + entry.get("path_name", ""),
                       EXPORT_DTYPES.get(meta.get("dtype")), sizes, strides, offset, tag)
    t.is_parameter = bool(entry.get("is_param"))
    t.requires_grad = bool(meta.get("requires_grad"))
    return t


def _pt2(c) -> dict:
    out: dict = {}
    for group, folder, config in (("weights", "data/weights/", "model_weights_config.json"),
                                  ("constants", "data/constants/", "model_constants_config.json")):
        name = c.root + folder + config
        if name in c.members:
            cfg = _json(c, name).get("config", {})
            out[group] = {k: _export_meta(c, k, v, folder) for k, v in cfg.items()}
    for n in c.names:
        rel = n[len(c.root):]
        if rel.startswith("models/") and rel.endswith(".json"):
            out[f"program {rel[len('models/'):-5]}"] = _program_summary(_json(c, n))
    return out


def _program_summary(program: dict) -> dict:
    gm = program.get("graph_module", program)
    sig = gm.get("signature", {}) or {}
    graph = gm.get("graph", {}) or {}

    def spec(s: dict) -> str:
        kind, body = next(iter(s.items())) if s else ("?", {})
        name = body.get("parameter_name") or body.get("buffer_name") or \
            body.get("tensor_constant_name") or ""
        arg = body.get("arg", {})
        arg_name = arg.get("name") or (arg.get("as_tensor") or {}).get("name", "")
        return f"{kind} {name or arg_name}".strip()

    return {"inputs": [spec(s) for s in sig.get("input_specs", [])],
            "outputs": [spec(s) for s in sig.get("output_specs", [])],
            "graph nodes": len(graph.get("nodes", [])),
            "torch_version": program.get("torch_version"),
            "schema_version": program.get("schema_version")}


def _pt2_old(path: str, c, limits: Limits) -> dict:
    from .torch_zip import ZipContainer

    out: dict = {}
    for member, label in (("serialized_state_dict.pt", "state_dict"),
                          ("serialized_constants.pt", "constants"),
                          ("serialized_example_inputs.pt", "example_inputs")):
        name = c.root + member
        m = c.members.get(name)
        if m is None:
            continue
        if m.method != 0:
            out[label] = "<compressed inside the archive; not read>"
            continue
        start = c.dir.data_offset(m)
        inner = ZipContainer(path, Window(c.fh, start, m.compress_size), limits, m.compress_size,
                             base=start)
        out[label] = inner.load(deferred=False)
        for k, ref in inner.storages.items():
            ref.source = inner
            c.storages[f"{label}/{k}"] = ref
    if c.root + "serialized_exported_program.json" in c.members:
        out["program"] = _program_summary(_json(c, c.root + "serialized_exported_program.json"))
    return out

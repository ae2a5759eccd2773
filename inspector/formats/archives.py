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
from .jsonsafe import Walk
from .limits import Limits
from .safe_io import load_json
from .stubs import StorageRef, TensorInfo
from .torchscript import code_texts, read_torchscript

MAX_JSON = 256 << 20

# torch/_export/serde/schema.py ScalarType
EXPORT_DTYPES = {
    1: "uint8",
    2: "int8",
    3: "int16",
    4: "int32",
    5: "int64",
    6: "float16",
    7: "float32",
    8: "float64",
    9: "complex32",
    10: "complex64",
    11: "complex128",
    12: "bool",
    13: "bfloat16",
    28: "uint16",
    29: "float8_e4m3fn",
    30: "float8_e5m2",
    31: "float8_e4m3fnuz",
    32: "float8_e5m2fnuz",
    33: "float8_e8m0fnu",
    34: "uint32",
    35: "uint64",
}
# model.json (TorchScript before 1.3) dataType names
OLD_TS_DTYPES = {
    "FLOAT": "float32",
    "DOUBLE": "float64",
    "FLOAT16": "float16",
    "HALF": "float16",
    "INT64": "int64",
    "INT32": "int32",
    "INT16": "int16",
    "INT8": "int8",
    "UINT8": "uint8",
    "BOOL": "bool",
}


def open_archive(path: str, c, limits: Limits) -> Checkpoint:
    try:
        if c.kind == "torchscript":
            obj = read_torchscript(c)
        elif c.kind == "torchscript-old":
            obj = _torchscript_old(c)
        elif c.kind == "pt2":
            obj = _pt2(c)
        elif c.kind == "bundle":
            from .bundle import read_bundle

            obj = read_bundle(path, c, limits)
        else:
            obj = _pt2_old(path, c, limits)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        # JSON of the wrong shape that the typed walk did not foresee: one line, not an
        # internal error
        raise CheckpointError(
            f"the archive's JSON has an unexpected structure "
            f"({type(exc).__name__}: {' '.join(str(exc).split())[:100]})"
        ) from None
    fmt = "torchscript" if c.kind.startswith("torchscript") else "bundle" if c.kind == "bundle" else "pt2"
    ck = assemble(path, fmt, obj, c, c.storages, limits, byteorder=c.byteorder)
    ck.warnings.extend(c.warnings)
    return ck


def _json(c, name: str):
    return load_json(c.read_member(name, name, MAX_JSON), name)  # depth-bounded parse_json


def _record_tensor(
    c, key: str, record: str, dtype_name: str | None, shape, stride, offset, device: str = "cpu"
) -> TensorInfo:
    dtype = dt.lookup(dtype_name or "")
    if dtype is None:
        raise CheckpointError(f"{key}: unknown dtype {dtype_name!r:.30}")
    if not (isinstance(shape, (list, tuple)) and all(type(s) is int and 0 <= s < 1 << 62 for s in shape)):
        raise CheckpointError(f"{key}: invalid shape")
    numel = 1
    for s in shape:
        numel *= s
    if numel >= 1 << 62 or len(shape) > 64:
        raise CheckpointError(f"{key}: shape {tuple(shape)} is impossibly large")
    if stride is not None and not (
        len(stride) == len(shape) and all(type(s) is int and 0 <= s < 1 << 62 for s in stride)
    ):
        raise CheckpointError(f"{key}: invalid strides")
    if type(offset) is not int or not 0 <= offset < 1 << 62:
        raise CheckpointError(f"{key}: invalid storage offset")
    stride = tuple(stride) if stride is not None else _contiguous(shape)
    if not all(type(s) is int and abs(s) < 1 << 62 for s in stride) or type(offset or 0) is not int:
        raise CheckpointError(f"{key}: invalid strides or storage offset")
    m = c.members.get(record)
    ref = StorageRef(
        key=record[len(c.root) :],
        dtype=dtype,
        location=device,
        numel=(m.file_size // dtype.itemsize) if m else 0,
        record=record,
    )
    if m is None:
        ref.error = f"record {record[len(c.root) :]} is missing from the archive"
    else:
        ref.record_size = m.file_size
        ref.compressed = m.method != 0
    c.storages[ref.key] = ref
    return TensorInfo(ref, dtype, tuple(shape), stride, int(offset or 0), rebuild="record")


def _torchscript_old(c) -> dict:
    model = _json(c, c.root + "model.json")
    w = Walk(c.warnings, "model.json")
    if not isinstance(model, dict):
        w.warn("the top level", f"expected an object, found a {type(model).__name__}")
        model = {}
    tensors: list = []
    for i, t in enumerate(w.list(model.get("tensors"), "tensors")):
        where = f"tensors[{i}]"
        t = w.obj(t, where, required=True)
        key = w.text(w.obj(t.get("data"), f"{where}.data").get("key"), f"{where}.data.key", f"tensors/{i}")
        dims = w.ints(t.get("dims", []), f"{where}.dims")
        strides = w.ints(t.get("strides", []), f"{where}.strides") if t.get("strides") else None
        dtype = OLD_TS_DTYPES.get(w.text(t.get("dataType"), f"{where}.dataType", "FLOAT"))
        try:
            if dims is None:
                raise CheckpointError("invalid shape")
            tensors.append(
                _record_tensor(
                    c,
                    f"tensor {i}",
                    c.root + key,
                    dtype,
                    dims,
                    strides or None,
                    w.int(t.get("offset"), f"{where}.offset", 0, minimum=0),
                    w.text(t.get("device"), f"{where}.device", "cpu"),
                )
            )
        except CheckpointError as exc:
            w.warn(where, str(exc))
            tensors.append(f"<invalid tensor: {exc}>")

    def module(m, where: str, depth: int = 0) -> dict:
        out: dict = {}
        m = w.obj(m, where)
        if depth > 200:
            w.warn(where, "submodules nest too deeply; not shown")
            return out
        for j, p in enumerate(w.list(m.get("parameters"), f"{where}.parameters")):
            p = w.obj(p, f"{where}.parameters[{j}]")
            idx = w.int(p.get("tensorId"), f"{where}.parameters[{j}].tensorId", -1)
            out[str(p.get("name", "?"))] = tensors[idx] if 0 <= idx < len(tensors) else "<missing tensor>"
        for j, a in enumerate(w.list(m.get("attributes"), f"{where}.attributes")):
            a = w.obj(a, f"{where}.attributes[{j}]")
            out[str(a.get("name", "?"))] = str(a.get("type", "attribute"))
        for j, sub in enumerate(w.list(m.get("submodules"), f"{where}.submodules")):
            sub_where = f"{where}.submodules[{j}]"
            out[str(w.obj(sub, sub_where).get("name", "?"))] = module(sub, sub_where, depth + 1)
        return out

    out = {
        "model": module(model.get("mainModule"), "mainModule"),
        "producer": {k: model[k] for k in ("producerName", "producerVersion", "protoVersion") if k in model},
    }
    code = code_texts(c)
    if code:
        out["code"] = code
    return out


def _export_meta(c, w: Walk, key: str, entry, folder: str) -> TensorInfo | str:
    entry = w.obj(entry, key, required=True)
    if entry.get("use_pickle"):  # the tensor is a torch.save file of its own in the archive
        name = c.root + folder + w.text(entry.get("path_name"), f"{key}.path_name")
        if name not in c.members:
            w.warn(key, "its pickled tensor is missing from the archive")
            return "<a pickled tensor missing from the archive>"
        return nested_member(c.path, c, name, f"{folder}{key}", c.limits)
    meta = w.obj(entry.get("tensor_meta"), f"{key}.tensor_meta", required=True)

    def as_int(v, where):
        return w.int(w.obj(v, where, required=True).get("as_int"), f"{where}.as_int", None, required=True)

    sizes = [as_int(s, f"{key}.sizes[{i}]") for i, s in enumerate(w.list(meta.get("sizes"), f"{key}.sizes"))]
    strides = [
        as_int(s, f"{key}.strides[{i}]") for i, s in enumerate(w.list(meta.get("strides"), f"{key}.strides"))
    ]
    offset = w.int(
        w.obj(meta.get("storage_offset"), f"{key}.storage_offset").get("as_int"),
        f"{key}.storage_offset",
        0,
        minimum=0,
    )
    device = w.obj(meta.get("device"), f"{key}.device")
    index = device.get("index")
    tag = w.text(device.get("type"), f"{key}.device.type", "cpu") + (
        f":{index}" if type(index) is int else ""
    )
    dtype = meta.get("dtype")
    try:
        if None in sizes or None in strides or len(strides) != len(sizes):
            raise CheckpointError("invalid sizes or strides")
        t = _record_tensor(
            c,
            key,
            c.root + folder + w.text(entry.get("path_name"), f"{key}.path_name"),
            EXPORT_DTYPES.get(dtype) if type(dtype) is int else None,
            sizes,
            strides,
            offset,
            tag,
        )
    except CheckpointError as exc:
        w.warn(key, str(exc))
        return f"<invalid tensor entry: {exc}>"
    t.is_parameter = entry.get("is_param") is True
    t.requires_grad = meta.get("requires_grad") is True
    return t


def _pt2(c) -> dict:
    out: dict = {}
    for group, folder, config in (
        ("weights", "data/weights/", "model_weights_config.json"),
        ("constants", "data/constants/", "model_constants_config.json"),
    ):
        name = c.root + folder + config
        if name in c.members:
            w = Walk(c.warnings, config)
            doc = _json(c, name)
            cfg = w.obj(w.get(doc, "config", "the top level"), "config", required=True)
            out[group] = {str(k): _export_meta(c, w, str(k), v, folder) for k, v in cfg.items()}
    for n in c.names:
        rel = n[len(c.root) :]
        if rel.startswith("data/sample_inputs/") and not rel.endswith("/"):
            out.setdefault("sample_inputs", {})[rel[len("data/sample_inputs/") :]] = nested_member(
                c.path, c, n, rel, c.limits
            )
        if rel.startswith("models/") and rel.endswith(".json"):
            out[f"program {rel[len('models/') : -5]}"] = _program_summary(_json(c, n), Walk(c.warnings, rel))
    return out


def _program_summary(program, w: Walk) -> dict:
    program = w.obj(program, "the top level", required=True)
    gm = w.obj(program.get("graph_module", program), "graph_module")
    sig = w.obj(gm.get("signature"), "signature")
    graph = w.obj(gm.get("graph"), "graph")

    def spec(s, where: str) -> str:
        s = w.obj(s, where, required=True)
        if not s:
            return "?"
        kind, body = next(iter(s.items()))
        body = w.obj(body, f"{where}.{kind}")
        name = body.get("parameter_name") or body.get("buffer_name") or body.get("tensor_constant_name") or ""
        arg = w.obj(body.get("arg"), f"{where}.{kind}.arg")
        arg_name = arg.get("name") or w.obj(arg.get("as_tensor"), f"{where}.{kind}.arg.as_tensor").get(
            "name", ""
        )
        return (
            f"{kind} {name if isinstance(name, str) else ''}".strip()
            if name
            else f"{kind} {arg_name if isinstance(arg_name, str) else ''}".strip()
        )

    def version(v):
        return v if isinstance(v, (str, int, float, dict, list)) or v is None else str(v)

    return {
        "inputs": [
            spec(s, f"input_specs[{i}]")
            for i, s in enumerate(w.list(sig.get("input_specs"), "signature.input_specs"))
        ],
        "outputs": [
            spec(s, f"output_specs[{i}]")
            for i, s in enumerate(w.list(sig.get("output_specs"), "signature.output_specs"))
        ],
        "graph nodes": len(w.list(graph.get("nodes"), "graph.nodes")),
        "torch_version": version(program.get("torch_version")),
        "schema_version": version(program.get("schema_version")),
    }


def nested_member(path: str, c, name: str, label: str, limits: Limits):
    """A torch.save file stored inside the archive (read in place when stored, from memory
    when compressed); its storages are listed as `label/<key>`. A member that cannot be
    read becomes a note and a warning; the rest of the archive still opens."""
    from .bundle import Entry, _member

    m = c.members[name]
    entry = Entry(
        name,
        m.file_size,
        c.dir.data_offset(m) if m.method == 0 else None,
        lambda limit: c.read_member(name, name, limit),
    )
    found: dict = {}
    try:
        obj = _member(path, c.fh, entry, limits, found, c.warnings)
    except CheckpointError as exc:
        c.warnings.append(f"{name[len(c.root) :]}: {exc}")
        return f"<unreadable: {exc}>"
    for key, ref in found.items():
        c.storages[f"{label}/{key[len(name) + 1 :]}"] = ref
    return obj


def _pt2_old(path: str, c, limits: Limits) -> dict:
    out: dict = {}
    for member, label in (
        ("serialized_state_dict.pt", "state_dict"),
        ("serialized_constants.pt", "constants"),
        ("serialized_example_inputs.pt", "example_inputs"),
    ):
        if c.root + member in c.members:
            out[label] = nested_member(path, c, c.root + member, label, limits)
    if c.root + "serialized_exported_program.json" in c.members:
        out["program"] = _program_summary(
            _json(c, c.root + "serialized_exported_program.json"),
            Walk(c.warnings, "serialized_exported_program.json"),
        )
    return out

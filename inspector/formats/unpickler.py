"""The non-executing unpickler.

It subclasses the C `pickle.Unpickler` (fast: a checkpoint opens at the cost of reading
`data.pkl`) and overrides `find_class`, the only door through which a pickle reaches
callables (GLOBAL, STACK_GLOBAL, INST, OBJ and EXT all go through it). Every name
resolves to one of our own recorders below or to a fresh inert stub type; nothing named
in the file is imported, and nothing the file names is called.
"""

from __future__ import annotations

import _compat_pickle
import collections
import functools
import io
import pickle
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import dtypes as dt
from .deferred import Realizer, realize, set_nested_rebuild, storage_of
from .errors import CheckpointError, LimitExceeded
from .limits import Limits, charge_copy, copy_budget, memory_guard
from .stubs import (
    DeviceValue,
    DTypeValue,
    NamedConstant,
    NumpyArray,
    ObjectStub,
    SizeValue,
    StorageRef,
    StubCounter,
    TensorInfo,
    make_stub_type,
)


class StorageType:
    """Stand-in for torch.FloatStorage & co.: only carries the dtype."""

    __slots__ = ("dtype", "name")
    display_type = "global"  # a class reference, like any other the file names

    def __init__(self, name: str, dtype: dt.DType):
        self.name = name
        self.dtype = dtype

    def __repr__(self):
        return f"torch.{self.name}"


# ---- tensor rebuild recorders -----------------------------------------------------------


def _ints(value, what: str) -> tuple:
    if type(value) is not tuple:
        if not isinstance(value, (tuple, list)):
            raise CheckpointError(f"tensor {what} is not a list of integers: {value!r:.80}")
        value = tuple(value)
    for v in value:
        if type(v) is not int:
            raise CheckpointError(f"tensor {what} is not a list of integers: {value!r:.80}")
        if not -(1 << 63) <= v < (1 << 63):  # torch sizes are int64; a giant int breaks printing
            raise CheckpointError(f"tensor {what} holds a number beyond 64 bits")
    return value


def _offset(value) -> int:
    if type(value) is not int:
        raise CheckpointError(f"tensor storage offset is not an integer: {value!r:.80}")
    if not -(1 << 63) <= value < (1 << 63):
        raise CheckpointError("tensor storage offset is a number beyond 64 bits")
    return value


def _storage(value) -> StorageRef:
    if type(value) is functools.partial:  # a deferred persistent id (deferred.py)
        value = storage_of(value)
    if type(value) is not StorageRef:
        raise CheckpointError(f"tensor storage is not a storage reference: {value!r:.80}")
    return value


def rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    s = _storage(storage)
    return TensorInfo(
        s,
        s.dtype,
        _ints(size, "shape"),
        _ints(stride, "stride"),
        _offset(storage_offset),
        rebuild="_rebuild_tensor",
    )


def rebuild_tensor_v2(
    storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None, *_ignored
):
    # the common case checked inline (this runs once per tensor of the file)
    if (
        type(storage) is StorageRef
        and type(size) is tuple
        and type(stride) is tuple
        and type(storage_offset) is int
        and not storage_offset >> 62
    ):
        for v in size:
            if type(v) is not int or v >> 62:  # negative or huge: checked in full below
                break
        else:
            for v in stride:
                if type(v) is not int or v >> 62:
                    break
            else:
                return TensorInfo(
                    storage,
                    storage.dtype,
                    size,
                    stride,
                    storage_offset,
                    requires_grad is True,
                    metadata=metadata or None,
                )
    s = _storage(storage)
    return TensorInfo(
        s,
        s.dtype,
        _ints(size, "shape"),
        _ints(stride, "stride"),
        _offset(storage_offset),
        requires_grad=bool(requires_grad),
        metadata=metadata or None,
    )


# The reader of `torch.storage._load_from_bytes` payloads (a torch.save stream inside the
# pickle): nested.py sets it when imported (formats/kinds.py imports it), so that this
# module, which the readers nested.py uses import, does not import it back.
_bytes_reader: list = [None]


def set_bytes_reader(load_from_bytes) -> None:
    _bytes_reader[0] = load_from_bytes


set_nested_rebuild(rebuild_tensor_v2)  # deferred.realize of nested-bytes records


def rebuild_tensor_v3(
    storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None, *_ignored
):
    s = _storage(storage)
    tdt = dt.lookup(dtype.name) if isinstance(dtype, DTypeValue) else None
    if tdt is None:
        raise CheckpointError(f"tensor names an unknown dtype: {dtype!r:.80}")
    return TensorInfo(
        s,
        tdt,
        _ints(size, "shape"),
        _ints(stride, "stride"),
        _offset(storage_offset),
        requires_grad=bool(requires_grad),
        metadata=metadata or None,
        rebuild="_rebuild_tensor_v3",
    )


def rebuild_qtensor(
    storage,
    storage_offset,
    size,
    stride,
    quantizer_params,
    requires_grad=False,
    backward_hooks=None,
    *_ignored,
):
    t = rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad)
    t.rebuild = "_rebuild_qtensor"
    q: dict[str, Any] = {}
    if isinstance(quantizer_params, tuple) and quantizer_params:
        scheme = quantizer_params[0]
        # the qscheme as torch names it, as text (never the repr of a repr)
        q["qscheme"] = scheme.path.replace("torch.", "") if isinstance(scheme, NamedConstant) else str(scheme)
        params = tuple(realize(p) for p in quantizer_params[1:])  # scales may be tensors
        if len(params) == 2:
            q["scale"], q["zero_point"] = params
        elif len(params) == 3:
            q["scales"], q["zero_points"], q["axis"] = params
    t.quantization = q
    return t


def rebuild_parameter(data, requires_grad=True, backward_hooks=None, *_ignored):
    data = realize(data)
    if isinstance(data, TensorInfo):
        data.is_parameter = True
        data.requires_grad = bool(requires_grad)
    return data


def rebuild_parameter_with_state(data, requires_grad, backward_hooks, state, *_ignored):
    data = rebuild_parameter(data, requires_grad)
    if isinstance(data, TensorInfo) and state:
        data.state = state
    return data


def rebuild_from_type_v2(func, new_type, args, state):
    if not callable(func) or not isinstance(args, tuple):
        raise CheckpointError("malformed _rebuild_from_type_v2 call")
    t = realize(func(*args))
    if isinstance(t, TensorInfo):
        path = (
            new_type.class_path()
            if isinstance(new_type, type) and issubclass(new_type, ObjectStub)
            else repr(new_type)
        )
        if path == "torch.nn.parameter.Parameter":
            t.is_parameter = True
        elif path not in ("torch.Tensor", "torch._tensor.Tensor"):
            t.tensor_type = path
        if state:
            t.state = state
    return t


def rebuild_meta_tensor_no_storage(dtype, size, stride, requires_grad=False, *_ignored):
    tdt = dt.lookup(dtype.name) if isinstance(dtype, DTypeValue) else None
    if tdt is None:
        raise CheckpointError(f"tensor names an unknown dtype: {dtype!r:.80}")
    return TensorInfo(
        None,
        tdt,
        _ints(size, "shape"),
        _ints(stride, "stride"),
        0,
        requires_grad=bool(requires_grad),
        rebuild="meta",
        parts={"device": "meta"},
    )


def rebuild_wrapper_subclass(
    cls, dtype, size, stride, storage_offset, layout, device, requires_grad=False, *_ignored
):
    t = rebuild_meta_tensor_no_storage(dtype, size, stride, requires_grad)
    t.rebuild = "_rebuild_wrapper_subclass"
    t.tensor_type = cls.class_path() if isinstance(cls, type) and issubclass(cls, ObjectStub) else repr(cls)
    t.parts = {"device": device.spec if isinstance(device, DeviceValue) else repr(device)}
    return t


def rebuild_with_parts(kind: str):
    def rebuild(*args):
        args = tuple(realize(a) for a in args)
        tensors = [a for a in args if isinstance(a, TensorInfo)]
        base = tensors[0] if tensors else None
        t = TensorInfo(
            base.storage if base else None,
            base.dtype if base else dt.DTYPES["float32"],
            base.shape if base else (),
            base.stride if base else (),
            base.storage_offset if base else 0,
            rebuild=kind,
        )
        t.layout = kind
        t.parts = {f"arg{i}": a for i, a in enumerate(args)}
        return t

    return rebuild


# ---- value recorders ----------------------------------------------------------------------


def _charged(arg) -> None:
    """A recorder about to copy `arg`: counted against the unpickle's copy budget."""
    if isinstance(arg, (list, tuple, set, frozenset, dict, str, bytes, bytearray)):
        charge_copy(len(arg))


def ordered_dict(*args, **kwargs):
    """collections.OrderedDict(...), its argument's copy counted."""
    if args:
        _charged(args[0])
    return collections.OrderedDict(*args, **kwargs)


def make_size(*args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        _charged(args[0])
        return SizeValue(args[0])
    return SizeValue(args)


def make_device(*args):
    return DeviceValue(":".join(str(a) for a in args if a is not None))


class DefaultDict(dict):
    """collections.defaultdict without its factory (which is never called)."""

    __slots__ = ("factory",)
    display_type = "defaultdict"

    def __init__(self, factory=None, *args):
        super().__init__()
        self.factory = factory


def safe_container(kind: type):
    def build(*args):
        if not args:
            return kind()
        arg = args[0]
        if isinstance(arg, (list, tuple, set, frozenset, dict, str, bytes)):
            _charged(arg)
            try:
                return kind(arg)
            except TypeError:
                pass
        return make_stub_type("builtins", kind.__name__, None)(*args)

    return build


def safe_bytes(kind: type):
    def build(*args):
        if not args:
            return kind()
        arg = args[0]
        if isinstance(arg, (bytes, bytearray, list)):
            _charged(arg)
            return kind(arg)
        if isinstance(arg, str) and len(args) > 1 and args[1] in ("latin1", "latin-1"):
            return kind(arg.encode("latin1"))
        return make_stub_type("builtins", kind.__name__, None)(*args)

    return build


def codecs_encode(obj, encoding="utf-8", *_):
    """`_codecs.encode(str, 'latin1')` is how protocol 2 writes bytes for Python 3."""
    _charged(obj)
    if isinstance(obj, str) and str(encoding).lower() in ("latin1", "latin-1", "iso-8859-1"):
        return obj.encode("latin1")
    if isinstance(obj, str) and str(encoding).lower() in ("utf-8", "utf8", "ascii"):
        return obj.encode("utf-8")
    return make_stub_type("_codecs", "encode", None)(obj, encoding)


def reconstructor(cls, base=None, state=None, *_):
    """copyreg._reconstructor: protocol 0/1's way of building an instance."""
    if isinstance(cls, type) and issubclass(cls, ObjectStub):
        inst = cls.__new__(cls)
        if state is not None:
            inst.stub_args = (state,)
        return inst
    return make_stub_type("copyreg", "_reconstructor", None)(cls, base, state)


def newobj(cls, *args):
    if isinstance(cls, type) and issubclass(cls, ObjectStub):
        return cls.__new__(cls, *args)
    return make_stub_type("copyreg", "__newobj__", None)(cls, *args)


# numpy ------------------------------------------------------------------------------------

_NUMPY_CODE = re.compile(r"^(?:[?bBhHiIlLqQefdgFD]|[biufc]\d{1,2}|b1)$")


class NumpyDType:
    """numpy.dtype(spec, align, copy) + BUILD(state): decoded only for plain numbers."""

    __slots__ = ("spec", "byteorder", "complex_state")
    display_type = "numpy.dtype"

    def __init__(self, spec=None, *_):
        self.spec = spec
        self.byteorder = "|"
        self.complex_state = False

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) >= 2 and isinstance(state[1], str):
            self.byteorder = state[1]
            self.complex_state = any(s is not None for s in state[2:5]) if len(state) >= 5 else False

    def resolve(self) -> np.dtype | None:
        if not isinstance(self.spec, str) or self.complex_state or not _NUMPY_CODE.match(self.spec):
            return None
        order = self.byteorder if self.byteorder in "<>=|" else "|"
        return np.dtype(order + self.spec if order in "<>" else self.spec)

    def __repr__(self):
        return f"dtype('{self.spec}')"


def numpy_scalar(dtype, data=None, *_):
    if isinstance(dtype, NumpyDType):
        npdt = dtype.resolve()
        if npdt is not None and isinstance(data, bytes) and len(data) == npdt.itemsize:
            return np.frombuffer(data, dtype=npdt)[0].item()
    return make_stub_type("numpy", "scalar", None)(dtype, data)


class NumpyArrayBuilder(NumpyArray):
    def __init__(self, *_):
        super().__init__(shape=(), dtype="?")

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5):
            self.note = "unrecognised numpy array state"
            return
        _, shape, dtype, fortran, raw = state
        self.shape = tuple(shape) if isinstance(shape, (tuple, list)) else ()
        self.dtype = dtype.spec if isinstance(dtype, NumpyDType) else repr(dtype)
        npdt = dtype.resolve() if isinstance(dtype, NumpyDType) else None
        if (
            npdt is None
            or not isinstance(raw, (bytes, bytearray))
            or not all(isinstance(s, int) and s >= 0 for s in self.shape)
        ):
            self.note = "not decoded (object or structured dtype)"
            return
        n = 1
        for s in self.shape:
            n *= s
        charge_copy(len(raw))
        if n * npdt.itemsize != len(raw):
            self.note = "array bytes do not match its shape"
            return
        self.value = np.frombuffer(bytes(raw), dtype=npdt).reshape(self.shape, order="F" if fortran else "C")


def numpy_reconstruct(subtype=None, shape=None, dtype=None, *_):
    return NumpyArrayBuilder()


# ---- the table ---------------------------------------------------------------------------

_U = "torch._utils"
RECORDERS: dict[tuple[str, str], Callable] = {
    (_U, "_rebuild_tensor"): rebuild_tensor,
    (_U, "_rebuild_tensor_v2"): rebuild_tensor_v2,
    (_U, "_rebuild_tensor_v3"): rebuild_tensor_v3,
    (_U, "_rebuild_qtensor"): rebuild_qtensor,
    (_U, "_rebuild_parameter"): rebuild_parameter,
    (_U, "_rebuild_parameter_with_state"): rebuild_parameter_with_state,
    (_U, "_rebuild_meta_tensor_no_storage"): rebuild_meta_tensor_no_storage,
    (_U, "_rebuild_wrapper_subclass"): rebuild_wrapper_subclass,
    (_U, "_rebuild_sparse_tensor"): rebuild_with_parts("sparse"),
    (_U, "_rebuild_nested_tensor"): rebuild_with_parts("nested"),
    (_U, "_rebuild_device_tensor_from_numpy"): rebuild_with_parts("from_numpy"),
    (_U, "_rebuild_device_tensor_from_cpu_tensor"): rebuild_with_parts("from_cpu"),
    ("torch._tensor", "_rebuild_from_type_v2"): rebuild_from_type_v2,
    ("torch._utils", "_rebuild_from_type_v2"): rebuild_from_type_v2,
    ("torch", "Size"): make_size,
    ("torch", "device"): make_device,
    # plain data (weights_only allows it); from pairs, a dict, or nothing - never a stub
    ("collections", "OrderedDict"): ordered_dict,
    ("collections", "defaultdict"): DefaultDict,
    ("builtins", "set"): safe_container(set),
    ("builtins", "frozenset"): safe_container(frozenset),
    ("builtins", "list"): safe_container(list),
    ("builtins", "tuple"): safe_container(tuple),
    ("builtins", "dict"): safe_container(dict),
    ("builtins", "bytes"): safe_bytes(bytes),
    ("builtins", "bytearray"): safe_bytes(bytearray),
    ("_codecs", "encode"): codecs_encode,
    ("copyreg", "_reconstructor"): reconstructor,
    ("copyreg", "__newobj__"): newobj,
    ("numpy", "dtype"): NumpyDType,
    ("numpy.core.multiarray", "scalar"): numpy_scalar,
    ("numpy._core.multiarray", "scalar"): numpy_scalar,
    ("numpy.core.multiarray", "_reconstruct"): numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): numpy_reconstruct,
}

# torch attributes a pickle names as plain values (qschemes, layouts, memory formats): the
# reader renders them as their names, analysis/globals_policy.py allows them as data.
TORCH_CONSTANTS = frozenset(
    {
        "per_tensor_affine",
        "per_channel_affine",
        "per_tensor_symmetric",
        "per_channel_symmetric",
        "per_channel_affine_float_qparams",
        "strided",
        "sparse_coo",
        "sparse_csr",
        "sparse_csc",
        "sparse_bsr",
        "sparse_bsc",
        "contiguous_format",
        "channels_last",
        "channels_last_3d",
        "preserve_format",
        "jagged",
    }
)
# The reader also renders the private layout torch._mkldnn by name; the policy's allow-list
# never held it (and refuses every underscored torch name anyway), so it is added here only.
_TORCH_CONSTANTS = TORCH_CONSTANTS | {"_mkldnn"}


def normalize_global(module: str, name: str) -> tuple[str, str]:
    """Python 2 names (`__builtin__.set`, `copy_reg._reconstructor`) as Python 3 spells them."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


@dataclass
class UnpickleReport:
    """What one stream named: every find_class call (GLOBAL, STACK_GLOBAL, INST, OBJ and
    EXT all go through it - exactly the imports torch.load would perform), the classes it
    instantiated, and how many bytes the stream used."""

    globals: Counter = field(default_factory=Counter)
    called: set = field(default_factory=set)
    end: int = 0


class SafeUnpickler(pickle.Unpickler):
    """find_class returns recorders or inert stubs; persistent ids go to the reader."""

    def __init__(
        self,
        file,
        *,
        persistent_load: Callable | None,
        counter: StubCounter,
        encoding: str = "utf-8",
        seen: Counter | None = None,
        deferred: Realizer | None = None,
        limits: Limits | None = None,
    ):
        # Bound before the C initialiser looks it up: one Python call per storage, not two;
        # none at all when tensors are deferred (deferred.py).
        self._deferred = deferred
        self.persistent_load = deferred.pid() if deferred is not None else (persistent_load or _unresolved)
        super().__init__(file, encoding=encoding, errors="strict")
        self._stub_types: dict[tuple[str, str], Any] = {}
        self._counter = counter
        self._seen = seen if seen is not None else Counter()
        self._limits = limits
        self._max_globals = limits.max_globals if limits is not None else 50_000

    def find_class(self, module, name):
        module, name = normalize_global(str(module), str(name))
        key = (module, name)
        self._seen[key] += 1
        found = self._stub_types.get(key)
        if found is not None:
            return found
        found = RECORDERS.get(key)
        if self._deferred is not None and key == (_U, "_rebuild_tensor_v2"):
            found = functools.partial  # C: records the call's arguments, calls nothing
        elif key == ("torch.storage", "_load_from_bytes") and self._limits is not None:
            load_from_bytes = _bytes_reader[0]  # nested.py: our readers, never torch.load
            if load_from_bytes is not None:
                found = functools.partial(load_from_bytes, self._limits, self._counter, {})
        if found is None and module in ("torch", "torch.cuda", "torch.storage"):
            if name in dt.STORAGE_CLASSES:
                found = StorageType(name, dt.DTYPES[dt.STORAGE_CLASSES[name]])
            elif dt.lookup(name) is not None and module == "torch":
                found = DTypeValue(dt.lookup(name).name)
            elif name in _TORCH_CONSTANTS:
                found = NamedConstant(f"torch.{name}")
        if found is None:
            if len(self._stub_types) >= self._max_globals:  # each is a class: ~1 KB apiece
                raise LimitExceeded(
                    f"the pickle names more than {self._max_globals:,} different classes and functions"
                )
            found = make_stub_type(module, name, self._counter)
        self._stub_types[key] = found
        return found


def _unresolved(pid):
    """A persistent id in a pickle read without its container."""
    return make_stub_type("<persistent id>", "unresolved", None)(pid)


_CORRUPT = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    RecursionError,
    UnicodeDecodeError,
    AssertionError,
)


def unpickle(
    data: bytes | io.BufferedIOBase,
    *,
    what: str,
    limits: Limits,
    persistent_load: Callable | None = None,
    counter: StubCounter | None = None,
    report: UnpickleReport | None = None,
    deferred: Realizer | None = None,
) -> Any:
    """Interpret one pickle stream with stand-ins. `data` is bytes or a seekable file
    positioned at the stream (left just after it on success)."""
    counter = counter or StubCounter(limits.max_objects)
    if isinstance(data, (bytes, bytearray, memoryview)):
        if len(data) > limits.max_pickle_bytes:
            raise LimitExceeded(
                f"{what} is {len(data):,} bytes, over the {limits.max_pickle_bytes:,}-byte limit"
            )
        stream = io.BytesIO(data)
    else:
        stream = data
    start = stream.tell()
    size = len(data) if isinstance(data, (bytes, bytearray, memoryview)) else _remaining(stream)
    # What a pickle of `size` bytes can legitimately build is bounded by its size; a tiny
    # file that claims gigabytes (a memo index, a counted length) is refused early.
    budget = min(limits.heap_budget, (256 << 20) + 64 * size)
    for encoding in ("utf-8", "latin1"):
        stream.seek(start)
        seen: Counter = Counter()
        try:
            with memory_guard(budget), copy_budget(2 * size + (1 << 20)):
                obj = SafeUnpickler(
                    stream,
                    persistent_load=persistent_load,
                    counter=counter,
                    encoding=encoding,
                    seen=seen,
                    deferred=deferred,
                    limits=limits,
                ).load()
            if report is not None:
                report.globals = seen
                report.called = set(counter.called)
                report.end = stream.tell() - start
            return obj
        except UnicodeDecodeError:
            continue  # Python 2 byte strings: retry as latin-1, as torch suggests
        except CheckpointError:
            raise
        except MemoryError:
            raise LimitExceeded(f"{what} asks for more memory than the reader allows") from None
        except _CORRUPT as exc:
            raise CheckpointError(f"{what} is not a readable pickle ({_describe(exc)})") from None
    raise CheckpointError(f"{what} holds text in an unknown encoding")


def _remaining(stream) -> int:
    try:
        here = stream.tell()
        end = stream.seek(0, 2)
        stream.seek(here)
        return max(0, end - here)
    except (OSError, ValueError):
        return 1 << 30


def _describe(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "it ends early: the file is truncated"
    text = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

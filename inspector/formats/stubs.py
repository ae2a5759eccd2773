"""Inert stand-ins for everything a pickle can name.

A pickle builds objects by calling globals it names. Our unpickler never imports those:
each name becomes a fresh stub *type* (NEWOBJ needs a type) whose construction records
the arguments, and whose `__setstate__`, `append`, `extend`, `add` and `__setitem__`
record what the pickle feeds them. Stubs have `__slots__` and no `__dict__`, so a pickle
cannot replace their methods through BUILD. Tensors, storages and a few value types
(torch.Size, torch.device, dtypes, numpy scalars) get dedicated records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .dtypes import DType


class StubCounter:
    """Counts objects created through stand-ins so a hostile pickle hits a limit."""

    __slots__ = ("count", "limit", "called")

    def __init__(self, limit: int):
        self.count = 0
        self.limit = limit
        self.called: set[tuple[str, str]] = set()  # classes the pickle instantiated

    def tick(self, cls=None) -> None:
        self.count += 1
        if cls is not None:
            self.called.add((cls.stub_module, cls.stub_name))
        if self.count > self.limit:
            from .errors import LimitExceeded

            raise LimitExceeded(f"the pickle creates more than {self.limit:,} objects")


class ObjectStub:
    """An instance of a class named in the file, recorded but never created for real."""

    __slots__ = ("stub_args", "stub_kwargs", "stub_state", "stub_items", "stub_dictitems")
    stub_module = ""
    stub_name = ""
    stub_counter: StubCounter | None = None

    def __new__(cls, *args, **kwargs):
        if cls.stub_counter is not None:
            cls.stub_counter.tick(cls)
        self = object.__new__(cls)
        self.stub_args = args
        self.stub_kwargs = kwargs
        self.stub_state = None
        self.stub_items = None
        self.stub_dictitems = None
        return self

    def __init__(self, *args, **kwargs):
        pass

    # --- what the pickle machine calls on an object it built -------------------------
    def __setstate__(self, state):
        if self.stub_state is None:
            self.stub_state = state
        elif isinstance(self.stub_state, dict) and isinstance(state, dict):
            from .limits import charge_copy

            charge_copy(len(state))
            self.stub_state.update(state)
        else:
            self.stub_state = (self.stub_state, state)

    def append(self, item):
        if self.stub_items is None:
            self.stub_items = []
        self.stub_items.append(item)

    def extend(self, items):
        from .limits import charge_copy

        if hasattr(items, "__len__"):
            charge_copy(len(items))
        for item in items:
            self.append(item)

    add = append

    def __setitem__(self, key, value):
        if self.stub_dictitems is None:
            self.stub_dictitems = {}
        try:
            self.stub_dictitems[key] = value
        except TypeError:  # unhashable key: keep it as a pair
            self.stub_dictitems[("<unhashable>", id(key))] = (key, value)

    def __reduce__(self):  # never let a stub be pickled back as if it were real
        raise TypeError("inert stand-in")

    # --- presentation ------------------------------------------------------------------
    @classmethod
    def class_path(cls) -> str:
        return f"{cls.stub_module}.{cls.stub_name}" if cls.stub_module else cls.stub_name

    def state_dict(self) -> dict | None:
        """The object's attributes when its state is a dict (or (dict, slots) pair)."""
        st = self.stub_state
        if isinstance(st, dict):
            return st
        if isinstance(st, tuple) and len(st) == 2 and all(s is None or isinstance(s, dict) for s in st):
            merged: dict = {}
            for part in st:
                if part:
                    merged.update(part)
            return merged
        return None

    def is_module(self) -> bool:
        st = self.state_dict()
        return bool(st) and ("_modules" in st or "_parameters" in st)

    def __repr__(self):
        return f"<{self.class_path()}>"


def make_stub_type(module: str, name: str, counter: StubCounter | None) -> type:
    """A new stub type standing for `module.name`; it imports and calls nothing."""
    safe_name = str(name) if str(name).isidentifier() else "Stub"
    return type(
        safe_name,
        (ObjectStub,),
        {
            "__slots__": (),
            "stub_module": str(module),
            "stub_name": str(name),
            "stub_counter": counter,
            # what repr(cls) and anything that formats the class shows: the name in the file
            "__module__": str(module),
            "__qualname__": str(name),
        },
    )


@dataclass(eq=False, slots=True)
class StorageRef:
    """One storage record: what the pickle declared and where its bytes are."""

    key: str
    dtype: DType
    location: str  # the device tag exactly as saved: 'cpu', 'cuda:0', 'mps', ...
    numel: int  # declared elements of `dtype`
    record: str | None = None  # member name in an archive
    data_offset: int | None = None  # absolute file offset of the first byte, when known
    record_size: int | None = None  # bytes actually present for this storage
    compressed: bool = False
    view_offset: int = 0  # legacy storage views: elements into the root storage
    error: str | None = None
    source: Any = None  # the container holding the bytes, when not the checkpoint's own
    path: str | None = None  # the file holding the bytes (shards, DCP chunks)

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize

    def __call__(self, *args, **kwargs):
        """Never called: callable only so that a deferred `_rebuild_tensor_v2` record
        (functools.partial, deferred.py) can hold a storage read from nested bytes."""
        from .errors import CheckpointError

        raise CheckpointError("a storage record was called")


@dataclass(eq=False, slots=True)
class TensorInfo:
    """A tensor as saved: metadata only; bytes are mapped on demand by the reader."""

    storage: StorageRef | None
    dtype: DType
    shape: tuple
    stride: tuple
    storage_offset: int
    requires_grad: bool = False
    is_parameter: bool = False
    tensor_type: str | None = None  # a Tensor subclass named by _rebuild_from_type_v2
    quantization: dict | None = None
    metadata: Any = None
    rebuild: str = "_rebuild_tensor_v2"
    state: Any = None  # _rebuild_parameter_with_state / subclass attributes
    layout: str = "strided"
    parts: dict | None = None  # sparse/nested components, or {"device": ...} without storage

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s if isinstance(s, int) else 0
        return n

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize

    @property
    def device(self) -> str:
        if self.storage is not None:
            return self.storage.location
        device = (self.parts or {}).get("device")
        return device if isinstance(device, str) else "meta"

    @property
    def type_name(self) -> str:
        if self.is_parameter:
            return "Parameter"
        if self.tensor_type:
            return self.tensor_type.rsplit(".", 1)[-1]
        return "Tensor"


class SizeValue(tuple):
    """torch.Size(...)"""

    def __repr__(self):
        return f"torch.Size({list(self)})"


@dataclass(frozen=True)
class DeviceValue:
    """torch.device(...) as written; never resolved."""

    spec: str

    def __repr__(self):
        return f"device('{self.spec}')"


@dataclass(frozen=True)
class DTypeValue:
    """A torch dtype named in the file (torch.float32, ...)."""

    name: str

    def __repr__(self):
        return f"torch.{self.name}"


@dataclass(frozen=True)
class NamedConstant:
    """A module-level constant such as torch.per_tensor_affine or torch.contiguous_format."""

    path: str

    def __repr__(self):
        return self.path


@dataclass(eq=False)
class NumpyArray:
    """A numpy array from the file, decoded only for plain numeric dtypes."""

    shape: tuple
    dtype: str
    value: Any = None  # the decoded numpy array, or None when not decodable
    note: str | None = None

    def __repr__(self):
        return f"ndarray(shape={self.shape}, dtype={self.dtype})"


@dataclass(eq=False)
class SourceText:
    """A source file inside an archive (TorchScript code/): shown as text, never run."""

    path: str
    text: str

    def __repr__(self):
        return f"source {self.path} ({self.text.count(chr(10)) + 1} lines)"


# Python refuses str() of an int over 4300 digits (and the conversion is quadratic)
INT_STR_BITS = 13_000


def int_text(value: int) -> str:
    """An int as text; a giant one (a pickle may hold millions of digits) by its leading
    digits, magnitude and last digits, computed without converting it to decimal."""
    import math

    if value.bit_length() <= INT_STR_BITS:
        return str(value)
    a = -value if value < 0 else value
    shift = a.bit_length() - 64
    log10 = math.log10(a >> shift) + shift * math.log10(2)
    exp = int(log10)
    return (
        f"{'-' if value < 0 else ''}{10 ** (log10 - exp):.9f}e+{exp} "
        f"(an integer of about {exp + 1:,} digits, ending …{a % 10**9:09d})"
    )


def key_str(value) -> str:
    """str() of a storage key or persistent id from a file; an int of thousands of digits
    (which str() refuses) as its magnitude."""
    return int_text(value) if isinstance(value, int) and not isinstance(value, bool) else str(value)


class GiantInt:
    """An int from the file too long to print (over ~4,000 digits): the tree shows it by
    magnitude (`int_text`); str(), format() and json.dumps() of the int itself raise."""

    __slots__ = ("value",)

    def __init__(self, value: int):
        self.value = value

    def __repr__(self):
        return int_text(self.value)

    __str__ = __repr__


@dataclass(eq=False)
class ModuleSource:
    """Class source code embedded by the legacy format (shown, never executed)."""

    class_path: str
    source_file: str | None
    source: str | None

"""What a pickle stream would do when a loader unpickles it: every import and every call,
in order, with its arguments as far as they are constants.

The stream is run through CPython's own C unpickler (the parser every loader uses, so
the same opcodes are accepted and the same ones refused), with `find_class` returning
recording stand-ins instead of the real globals. A stand-in that is called records the
call and returns an inert result; nothing named in the stream is imported or run.

A few callables are *modelled* because what they do decides what else runs: `getattr`
and `operator.getitem` on a named global resolve to a deeper name
(`getattr(ZoneInfo, '_unpickle')` is `zoneinfo.ZoneInfo._unpickle`), `functools.partial`
remembers its function (called later only if the stream calls the partial),
`copyreg._reconstructor`/`__newobj__`, `_rebuild_from_type_v2`, numpy's
`_reconstruct` and `numpy.random._pickle` construct the classes they are given, and
`torch.storage._load_from_bytes` hands its bytes to `torch.load` (a nested stream).
The policy (`policy.py`) judges the record; this module only observes.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from itertools import islice

from ..formats.errors import CheckpointError, LimitExceeded
from ..formats.limits import copy_budget, memory_guard
from ..formats.unpickler import (
    codecs_encode,
    normalize_global,
    safe_bytes,
    safe_container,
)

MAX_CALLS = 5_000_000
MAX_EXAMPLES = 3  # rendered examples kept per distinct call target
MAX_NESTED = 20_000
MAX_NAMES = 20_000  # distinct globals and attributes (each gets a stand-in type)


class TraceLimit(Exception):
    pass


# ---- what a stream did ------------------------------------------------------------------


@dataclass
class Event:
    """One distinct thing the loader would do: `kind` is 'import' (find_class), 'call'
    (called with arguments), 'new' (instance created without running __init__), 'build'
    (its __setstate__ / attributes set from the stream), 'resolve' (an attribute fetched
    by name from a global) or 'call-computed' (something computed at load time called)."""

    kind: str
    target: str  # dotted name, or a description when it is not a name
    count: int = 0
    examples: list = field(default_factory=list)  # rendered calls, constants shown
    first: int = 0  # order of first occurrence in the stream


@dataclass
class StreamTrace:
    stream: str
    loader: str = "pickle.load"
    events: dict = field(default_factory=dict)  # (kind, target) -> Event
    imports: list = field(default_factory=list)  # (module, name) in first-use order
    end: int = 0
    complete: bool = False
    error: str | None = None
    nested: list = field(default_factory=list)  # (what, bytes): streams the loader opens in turn
    flags: list = field(default_factory=list)
    pids: int = 0
    value: object = None  # what the stream unpickled to (stand-ins), when complete

    def ordered(self) -> list[Event]:
        return sorted(self.events.values(), key=lambda e: e.first)


# ---- stand-ins ---------------------------------------------------------------------------


class _Meta(type):
    """Metaclass of the per-global stand-in types: calling one records a call."""

    def __call__(cls, *args, **kwargs):
        return cls._tracer.call(cls, args, kwargs)

    def __repr__(cls):
        return cls._path


class _Setstate:
    """`__setstate__` looked up on a stand-in *type* (BUILD on a global) or instance."""

    def __get__(self, obj, owner):
        if obj is None:
            return lambda state: owner._tracer.build(owner, state, on_global=True)
        return lambda state: owner._tracer.build(obj, state)


class _RefBase:
    __slots__ = ()
    _path = "?"
    _tracer = None
    __setstate__ = _Setstate()

    def __new__(cls, *args, **kwargs):  # NEWOBJ and INST without arguments
        return cls._tracer.new(cls, args, kwargs)


class Result:
    """What a recorded call returned: inert, but remembers what it stands for."""

    __slots__ = ("__weakref__", "label", "partial", "path", "tracer")

    def __init__(self, tracer, label: str, path: str | None = None, partial=None):
        self.tracer, self.label, self.path, self.partial = tracer, label, path, partial

    def __call__(self, *args, **kwargs):
        return self.tracer.call(self, args, kwargs)

    def __setstate__(self, state):
        self.tracer.build(self, state)

    def append(self, item):
        pass

    def extend(self, items):
        pass

    def add(self, item):
        pass

    def __setitem__(self, key, value):
        pass

    def __repr__(self):
        return self.label


class Persistent:
    __slots__ = ("label",)

    def __init__(self, label: str):
        self.label = label

    def __repr__(self):
        return self.label


def is_ref(v) -> bool:
    return isinstance(v, type) and issubclass(v, _RefBase)


def render(v, depth: int = 0, budget: int = 160) -> str:
    """A value as the reader of the evidence should see it: constants as Python literals,
    globals by name, results of calls as the call."""
    if is_ref(v):
        return v._path
    if isinstance(v, (Result, Persistent)):
        return v.label
    if isinstance(v, (str, bytes, bytearray)):
        text = repr(v if not isinstance(v, bytearray) else bytes(v))
        return text if len(text) <= budget else text[: budget - 5] + "…" + text[-1]
    if v is None or isinstance(v, (bool, int, float, complex)):
        text = repr(v)
        return text if len(text) <= 40 else text[:37] + "…"
    if depth > 3:
        return "…"
    if isinstance(v, (tuple, list, set, frozenset)):
        items = list(islice(v, 6))  # never a copy of the whole: a memoised container
        inner = ", ".join(
            render(x, depth + 1, 60) for x in items
        )  # may be rendered again and again + (", …" if len(v) > 6 else "")
        if isinstance(v, tuple):
            return f"({inner}{',' if len(v) == 1 else ''})"
        return f"[{inner}]" if isinstance(v, list) else "{" + inner + "}"
    if isinstance(v, dict):
        items = list(islice(v.items(), 6))
        inner = ", ".join(f"{render(k, depth + 1, 40)}: {render(x, depth + 1, 60)}" for k, x in items)
        return "{" + inner + (", …" if len(v) > 6 else "") + "}"
    return f"<{type(v).__name__}>"


def is_constant(v, depth: int = 0) -> bool:
    if v is None or isinstance(v, (str, bytes, bytearray, bool, int, float, complex)):
        return True
    if depth > 8:
        return False
    if isinstance(v, (tuple, list, set, frozenset)):
        return all(is_constant(x, depth + 1) for x in v)
    if isinstance(v, dict):
        return all(is_constant(k, depth + 1) and is_constant(x, depth + 1) for k, x in v.items())
    return False


def render_call(target: str, args, kwargs) -> str:
    parts = [render(a) for a in args] + [f"{k}={render(x)}" for k, x in (kwargs or {}).items()]
    text = ", ".join(parts)
    if len(text) > 400:
        text = text[:396] + " …"
    return f"{target}({text})"


# ---- semantics of the callables we model ------------------------------------------------

_CONTAINERS = {
    "builtins.list": safe_container(list),
    "builtins.tuple": safe_container(tuple),
    "builtins.set": safe_container(set),
    "builtins.frozenset": safe_container(frozenset),
    "builtins.dict": safe_container(dict),
    "builtins.bytes": safe_bytes(bytes),
    "builtins.bytearray": safe_bytes(bytearray),
    "_codecs.encode": codecs_encode,
}
_GETATTR = {"builtins.getattr"}
_GETITEM = {"_operator.getitem", "operator.getitem"}
_PARTIAL = {"functools.partial"}
_CONSTRUCTS_ARG0 = {  # target -> index of the class argument it instantiates
    "copyreg._reconstructor": 0,
    "copyreg.__newobj__": 0,
    "copyreg.__newobj_ex__": 0,
    "torch._utils._rebuild_wrapper_subclass": 0,
    "numpy.core.multiarray._reconstruct": 0,
    "numpy._core.multiarray._reconstruct": 0,
    "numpy.ma.core._mareconstruct": 0,
    "pandas.core.indexes.base._new_Index": 0,
}
_REBUILD_FROM_TYPE = {"torch._tensor._rebuild_from_type_v2", "torch._utils._rebuild_from_type_v2"}
_CALLS_ITS_ARGS = ("numpy.random._pickle.",)
_LOAD_FROM_BYTES = {"torch.storage._load_from_bytes"}
_OTHER = object()  # a Tracer helper's "not this kind of call": go on judging it
_SPECIAL = (
    _GETATTR
    | _GETITEM
    | _PARTIAL
    | set(_CONSTRUCTS_ARG0)
    | _REBUILD_FROM_TYPE
    | _LOAD_FROM_BYTES
    | {"builtins.type"}
)


class Tracer:
    def __init__(self, out: StreamTrace, persistent: str = "record"):
        self.out = out
        self.types: dict[tuple[str, str], type] = {}
        self.attr_types: dict[str, type] = {}
        self.calls = 0
        self.order = 0
        self.persistent = persistent

    # -- recording
    def _event(self, kind: str, target: str, example: str | None = None) -> None:
        key = (kind, target)
        e = self.out.events.get(key)
        if e is None:
            self.order += 1
            e = self.out.events[key] = Event(kind, target, first=self.order)
        e.count += 1
        if example is not None and len(e.examples) < MAX_EXAMPLES and example not in e.examples:
            e.examples.append(example)
        self.calls += 1
        if self.calls > MAX_CALLS:
            raise TraceLimit(f"the stream makes more than {MAX_CALLS:,} calls")

    def ref_type(self, path: str) -> type:
        t = self.attr_types.get(path)
        if t is None:
            if len(self.attr_types) >= MAX_NAMES:
                raise TraceLimit(f"the stream names more than {MAX_NAMES:,} distinct globals")
            name = path.rsplit(".", 1)[-1]
            t = _Meta(
                name if name.isidentifier() else "Ref",
                (_RefBase,),
                {"__slots__": (), "_path": path, "_tracer": self},
            )
            self.attr_types[path] = t
        return t

    def find_class(self, module: str, name: str) -> type:
        module, name = normalize_global(str(module), str(name))
        key = (module, name)
        t = self.types.get(key)
        if t is None:
            self.out.imports.append(key)
            t = self.types[key] = self.ref_type(f"{module}.{name}")
        self._event("import", f"{module}.{name}")
        return t

    def persistent_load(self, pid):
        self.out.pids += 1
        if self.out.pids > 2_000_000:
            raise TraceLimit("the stream references more than 2,000,000 storages")
        if self.out.pids <= MAX_EXAMPLES:
            self._event("persistent-id", "persistent id", f"persistent_load({render(pid)})")
        return Persistent(f"<storage {render(pid[2]) if isinstance(pid, tuple) and len(pid) > 2 else '?'}>")

    # -- the pickle machine's operations on stand-ins
    def new(self, cls, args, kwargs):
        path = cls._path
        self._event("new", path, render_call(f"{path}.__new__", args, kwargs) if args or kwargs else None)
        return Result(self, f"{path}(…)", path=None)

    def build(self, target, state, on_global: bool = False):
        if on_global:
            self._event("build-global", target._path, f"BUILD {target._path} <- {render(state)}")
            self.out.flags.append(
                f"BUILD on the global {target._path} (sets attributes of a module or class)"
            )
            return
        label = target.label if isinstance(target, Result) else render(target)
        owner = getattr(target, "instance_of", None)
        if (
            isinstance(target, Result)
            and target.partial is not None
            and isinstance(state, tuple)
            and len(state) >= 3
        ):  # partial.__setstate__((func, args, kwds, dict)) replaces all
            func, pargs, pkw = state[0], state[1], state[2]
            target.partial = (
                func,
                tuple(pargs) if isinstance(pargs, (tuple, list)) else (),
                dict(pkw) if isinstance(pkw, dict) else {},
            )
            target.label = render_call("functools.partial", (func,) + target.partial[1], target.partial[2])
        self._event("build", owner or label.split("(")[0], f"{label}.__setstate__({render(state)})")

    def call(self, callee, args, kwargs):
        if is_ref(callee):
            return self._call_global(callee._path, args, kwargs)
        if isinstance(callee, Result):
            if callee.partial is not None:
                func, pargs, pkw = callee.partial
                return self.call(func, tuple(pargs) + tuple(args), {**pkw, **(kwargs or {})})
            if callee.path is not None:
                return self._call_global(callee.path, args, kwargs)
            text = render_call(callee.label, args, kwargs)
            self._event("call-computed", callee.label, text)
            self.out.flags.append(f"calls a value computed at load time: {text:.120}")
            return Result(self, f"{callee.label}(…)")
        text = render_call(render(callee), args, kwargs)
        self._event("call-computed", render(callee), text)
        return Result(self, text)

    def _call_global(self, path: str, args, kwargs):
        """A call of a named global (or of an attribute resolved from one)."""
        if path == "builtins.type" and len(args) == 3:
            path = "builtins.type (creating a class)"
        seen = self.out.events.get(("call", path))
        if (
            not args
            and not kwargs
            and seen is not None
            and len(seen.examples) < MAX_EXAMPLES  # (when full, the count below applies)
            and path not in _SPECIAL
            and not path.startswith(_CALLS_ITS_ARGS)
            and f"{path}()" in seen.examples
        ):
            return self._repeat_no_args(path)
        if (
            seen is not None
            and len(seen.examples) >= MAX_EXAMPLES
            and path not in _SPECIAL
            and not path.startswith(_CALLS_ITS_ARGS)
            and not _names_a_global(args, kwargs)
        ):
            return self._call_again(seen, path, args, kwargs)
        text = render_call(path, args, kwargs)
        resolved = self._resolve(path, args, kwargs, text)
        if resolved is not _OTHER:
            return resolved
        self._event("call", path, text)
        if path in _CONTAINERS:
            try:
                return _CONTAINERS[path](*args, **(kwargs or {}))
            except Exception:
                return Result(self, text)
        if path in _PARTIAL and args and (is_ref(args[0]) or isinstance(args[0], Result)):
            return Result(self, text, partial=(args[0], args[1:], dict(kwargs or {})))
        built = self._construct(path, args)
        if built is not _OTHER:
            return built
        self._follow_arguments(path, args, kwargs)
        return Result(self, text, path=None)

    def _call_again(self, seen, path: str, args, kwargs):
        """The thousandth tensor: counted, not rendered again."""
        seen.count += 1
        self.calls += 1
        if self.calls > MAX_CALLS:
            raise TraceLimit(f"the stream makes more than {MAX_CALLS:,} calls")
        if path in _CONTAINERS:
            try:
                return _CONTAINERS[path](*args, **(kwargs or {}))
            except Exception:
                pass
        return Result(self, f"{path}(…)", path=None)

    def _resolve(self, path: str, args, kwargs, text: str):
        """getattr(global, "name") and operator.getitem(global, key): the name it reaches
        (a reference to resolve further), or _OTHER for any other call."""
        if path in _GETATTR and len(args) >= 2 and isinstance(args[1], str) and not kwargs:
            target = args[0]
            if is_ref(target):
                resolved = f"{target._path}.{args[1]}"
                self._event("resolve", resolved, text)
                return self.ref_type(resolved)
            if isinstance(
                target, (str, bytes, bytearray, int, float, complex, tuple, list, dict, set, frozenset)
            ) and not isinstance(target, bool):
                resolved = f"builtins.{type(target).__name__}.{args[1]}"
                self._event("resolve", resolved, text)
                return self.ref_type(resolved)
            if isinstance(target, Result) and target.path:
                resolved = f"{target.path}.{args[1]}"
                self._event("resolve", resolved, text)
                return self.ref_type(resolved)
        if path in _GETITEM and len(args) == 2 and is_ref(args[0]):
            self._event("call", f"{args[0]._path}.__getitem__", text)
            return Result(self, f"{args[0]._path}[{render(args[1])}]")
        return _OTHER

    def _construct(self, path: str, args):
        """Calls that build an instance of a class they are given (copyreg, __reduce_ex__,
        _rebuild_from_type): the class's __new__/__init__ recorded. The instance, the
        rebuilt value, or _OTHER for any other call."""
        if path in _CONSTRUCTS_ARG0 and args:
            cls = args[0]
            if is_ref(cls):
                rest = args[1:] if path != "copyreg._reconstructor" else ()
                self._event("new", cls._path, render_call(f"{cls._path}.__new__", rest, None))
                return _Instance(self, cls._path)
        if (
            path == "copyreg._reconstructor"
            and len(args) > 1
            and is_ref(args[1])
            and args[1]._path != "builtins.object"
        ):  # base.__new__(cls, state), base.__init__
            self._event("call", args[1]._path, render_call(args[1]._path, args[2:3], None))
        if path in _REBUILD_FROM_TYPE and len(args) >= 3:
            func, new_type, fargs = args[0], args[1], args[2]
            inner = self.call(func, tuple(fargs) if isinstance(fargs, (tuple, list)) else (fargs,), {})
            if is_ref(new_type):
                self._event("new", new_type._path, None)
                if len(args) > 3 and args[3]:
                    self._event("build", new_type._path, f"{new_type._path}.__setstate__({render(args[3])})")
            return inner
        return _OTHER

    def _follow_arguments(self, path: str, args, kwargs) -> None:
        """What a call does with what it is given: named callables it may call, the
        callables it does call, and torch.save bytes it would torch.load."""
        last = path.rsplit(".", 1)[-1]
        if (
            path not in _SPECIAL
            and path not in _CONTAINERS
            and not path.startswith(_CALLS_ITS_ARGS)
            and (path.startswith("torch.") and last[:1].isupper() or not _allowed(path))
        ):
            # what it calls with the callables it is given is not known (LambdaLR calls its
            # lr_lambda while constructing, torch.utils.checkpoint its function): named
            # callables passed to a torch class or to anything off the allowlist count as called
            for a in list(args) + list((kwargs or {}).values()):
                for ref in (
                    [a] if is_ref(a) else [x for x in a if is_ref(x)] if isinstance(a, (tuple, list)) else []
                ):
                    self._event("call", ref._path, f"{ref._path}(…)  (given to {path})")
        if path.startswith(_CALLS_ITS_ARGS):
            for a in list(args) + list((kwargs or {}).values()):
                if is_ref(a):
                    self.call(a, (), {})
        if path in _LOAD_FROM_BYTES and args:
            if not isinstance(args[0], (bytes, bytearray)):
                self.out.flags.append(f"{path} is given something that is not bytes")
            elif len(self.out.nested) >= MAX_NESTED:
                raise TraceLimit(f"more than {MAX_NESTED:,} nested torch.load payloads")
            else:
                self.out.nested.append(
                    (f"bytes given to {path} (call {self.out.events[('call', path)].count})", bytes(args[0]))
                )

    def _repeat_no_args(self, path: str):
        """`path()` again (an `OrderedDict()` per tensor) with its one example kept: what
        `call` below would do, without rendering it again. With no arguments, every
        branch of `call` that looks at them is empty (nothing given to it to call, no
        class or bytes to follow); what is left is the count and what it returns."""
        text = f"{path}()"
        self._event("call", path)
        if path in _CONTAINERS:
            try:
                return _CONTAINERS[path]()
            except Exception:
                return Result(self, text)
        return Result(self, text, path=None)


_NEVER_REF = frozenset({int, float, bool, str, bytes, type(None)})  # instances, never types


def _names_a_global(args, kwargs) -> bool:
    """An argument is a global, or a tuple or list holding one (a tensor's size and
    stride tuples of ints are passed over by their type alone)."""
    for a in list(args) + list((kwargs or {}).values()):
        if type(a) in _NEVER_REF:
            continue
        if (
            is_ref(a)
            or isinstance(a, (tuple, list))
            and any(type(x) not in _NEVER_REF and is_ref(x) for x in a)
        ):
            return True
    return False


def _allowed(path: str) -> bool:
    from .policy import allowed, canonical

    return allowed(path) or allowed(canonical(path))


class _Instance(Result):
    """An object of a named class, created without running its constructor."""

    __slots__ = ("instance_of",)

    def __init__(self, tracer, cls_path: str):
        super().__init__(tracer, f"{cls_path}(…)")
        self.instance_of = cls_path


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, tracer: Tracer, encoding: str):
        self.persistent_load = tracer.persistent_load
        super().__init__(file, encoding=encoding, errors="strict")
        self._tracer = tracer

    def find_class(self, module, name):
        return self._tracer.find_class(module, name)


def trace_stream(
    data,
    stream: str,
    start: int = 0,
    loader: str = "pickle.load",
    encoding: str = "utf-8",
    budget: int = 2 << 30,
) -> StreamTrace:
    """Run the C unpickler over the stream at `start` of `data` (bytes or a seekable
    binary file) with recording stand-ins. `complete` is True only when it reached STOP.

    The C unpickler reads frames differently from a file that can `peek` (open(), a
    zip or tar member) and from a BytesIO (torch's zip reader, `_load_from_bytes`): for
    bytes both readings are tried when the first does not finish, and the one that got
    further is kept (a loader of either kind would run what it saw)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return _trace(data, stream, start, loader, encoding, budget)
    first = _trace(io.BufferedReader(io.BytesIO(data)), stream, start, loader, encoding, budget)
    if first.complete or (first.error or "").startswith("not read to the end"):
        return first  # finished, or stopped by our bounds (which the other reading would hit too)
    second = _trace(io.BytesIO(data), stream, start, loader, encoding, budget)
    if second.complete or len(second.events) > len(first.events):
        return second
    return first


def _trace(f, stream: str, start: int, loader: str, encoding: str, budget: int) -> StreamTrace:
    out = StreamTrace(stream, loader)
    if start or f.seekable():
        f.seek(start)
    base = f.tell()
    if f.seekable():
        size = max(0, f.seek(0, io.SEEK_END) - base)
        f.seek(base)
    else:  # a member inflated as it is read: its stored length, at least 64 MB
        size = max(getattr(f, "length", 0), 64 << 20)
    tracer = Tracer(out)
    try:  # the reader's copy budget: stand-ins copying a memoised container again and again
        with memory_guard(budget), copy_budget(2 * size + (1 << 20)):
            out.value = _Unpickler(f, tracer, encoding).load()
        out.complete = True
    except (TraceLimit, LimitExceeded, CheckpointError) as exc:
        out.error = f"not read to the end: {exc}"
    except MemoryError:
        out.error = "not read to the end: it asks for more memory than the scan allows"
    except RecursionError:
        out.error = "not read to the end: it nests too deeply"
    except UnicodeDecodeError as exc:
        if encoding == "utf-8" and f.seekable():  # Python 2 byte strings: loaders pass
            f.seek(base)  # encoding='latin1' for these, as torch says
            retry = _trace(f, stream, base, loader, "latin1", budget)
            retry.loader = f"{loader} (encoding='latin1')"
            return retry
        out.error = f"the loader's parser stops here (UnicodeDecodeError: {exc.reason})"
    except Exception as exc:  # the C parser refused it here, as the loader would
        text = " ".join(str(exc).split())[:160]
        out.error = f"the loader's parser stops here ({type(exc).__name__}: {text})"
    out.end = max(0, f.tell() - base)
    return out

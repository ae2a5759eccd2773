"""The shared pickle opcode walker (formats/pickle_walk.py) against CPython's pickle module:
the same opcodes as pickletools.genops, the same values as pickle.loads for plain data,
and CPython's semantics where pickletools differs (INT/LONG base 0, POP right after MARK)."""

import collections
import pickle
import pickletools

import pytest

from inspector.formats.pickle_walk import PickleWalk, PickleWalkError, iter_opcodes

PLAIN = [
    None,
    True,
    False,
    0,
    1,
    -1,
    255,
    256,
    65535,
    65536,
    -(2**31),
    2**31,
    2**70,
    -(2**70),
    3.5,
    -0.0,
    "",
    "text",
    "ünïcode ✓",
    "x" * 300,
    b"",
    b"bytes",
    b"\x00" * 300,
    bytearray(b"ba"),
    (),
    (1,),
    (1, 2),
    (1, 2, 3),
    (1, 2, 3, 4),
    [],
    [1, "a", None],
    {},
    {"a": 1, 2: [3]},
    set(),
    {1, 2, 3},
    frozenset(),
    frozenset({"a", "b"}),
    {"nested": [{"deep": (1, [2, {3: b"4"}])}], "list": list(range(2000))},
]


class Rebuild(PickleWalk):
    """Builds the real Python values of plain data, the way pickle.loads would."""

    def sequence(self, op, items, mark, index):
        if op.name == "LIST":
            return list(items)
        if op.name == "DICT":
            return dict(zip(items[::2], items[1::2]))
        if op.name == "FROZENSET":
            return frozenset(items)
        return tuple(items)

    def literal(self, op, arg, index):
        if op.name in ("EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET"):
            return {"EMPTY_LIST": list, "EMPTY_DICT": dict, "EMPTY_SET": set}[op.name]()
        if op.name == "BYTEARRAY8":
            return bytearray(arg)
        return super().literal(op, arg, index)

    def extend(self, op, target, items, index):
        if op.name in ("APPEND", "APPENDS"):
            target.extend(items)
        elif op.name in ("SETITEM", "SETITEMS"):
            target.update(zip(items[::2], items[1::2]))
        else:
            target.update(items)
        return target

    def global_(self, module, name, op, index):
        module = {"__builtin__": "builtins"}.get(module, module)
        if module in ("builtins", "_codecs") and name in ("bytes", "bytearray", "set", "frozenset", "encode"):
            return getattr(__import__(module), name)
        return ("global", module, name)

    def stack_global(self, module, name, index):
        return self.global_(module, name, None, index)

    def call(self, op, callee, args, index):
        if callable(callee) and op.name == "REDUCE":
            return callee(*args[0])
        return super().call(op, callee, args, index)

    def build(self, target, state, index):
        return target


def walk(data, cls=Rebuild):
    w = cls(data, record=True).walk()
    assert w.stopped and w.end == len(data)
    assert len(w.stack) == 1 and not w.marks
    return w


@pytest.mark.parametrize("proto", range(6))
def test_same_opcodes_as_pickletools(proto):
    for obj in PLAIN:
        data = pickle.dumps(obj, protocol=proto)
        ours = [(op.name, arg, pos) for op, arg, pos in iter_opcodes(data)]
        theirs = [(op.name, arg, pos) for op, arg, pos in pickletools.genops(data)]
        assert ours == theirs, obj


@pytest.mark.parametrize("proto", range(6))
def test_rebuilds_what_pickle_loads_builds(proto):
    for obj in PLAIN:
        data = pickle.dumps(obj, protocol=proto)
        got = walk(data).stack[0]
        want = pickle.loads(data)
        assert got == want and type(got) is type(want), (proto, obj)


@pytest.mark.parametrize("proto", range(6))
def test_shared_and_recursive_values_come_from_the_memo(proto):
    inner = [1, 2]
    obj = {"a": inner, "b": inner}
    got = walk(pickle.dumps(obj, protocol=proto)).stack[0]
    assert got == obj and got["a"] is got["b"]
    loop = []
    loop.append(loop)
    got = walk(pickle.dumps(loop, protocol=proto)).stack[0]
    assert got[0] is got


class Calls(PickleWalk):
    def __init__(self, data):
        super().__init__(data)
        self.calls, self.builds, self.pids = [], [], []

    def call(self, op, callee, args, index):
        self.calls.append((op.name, callee))
        return ("obj", callee)

    def build(self, target, state, index):
        self.builds.append(target)
        return target

    def persistent(self, op, pid, index):
        self.pids.append(pid)
        return ("pid", pid)


class _Point:
    def __init__(self, x):
        self.x = x


class _Slots:
    __slots__ = ("a",)

    def __getnewargs_ex__(self):
        return (), {"k": 1}

    def __getstate__(self):
        return (None, {"a": 1})


@pytest.mark.parametrize("proto", range(6))
def test_calls_builds_and_globals_reach_the_hooks(proto):
    od = collections.OrderedDict(a=1)
    w = Calls(pickle.dumps([od, _Point(3)], protocol=proto)).walk()
    assert w.stopped
    callees = [c for _, c in w.calls]
    assert ("global", "collections", "OrderedDict") in callees
    names = [c[2] for c in callees if isinstance(c, tuple) and c[0] == "global"]
    assert "_Point" in names or "_reconstructor" in names  # protocol 0-1 go through copyreg
    assert any(t == ("obj", ("global", __name__, "_Point")) or t[0] == "obj" for t in w.builds)
    if proto >= 2:
        assert ("NEWOBJ", ("global", __name__, "_Point")) in w.calls
    if proto >= 4:
        w = Calls(pickle.dumps(_Slots(), protocol=proto)).walk()
        assert w.calls == [("NEWOBJ_EX", ("global", __name__, "_Slots"))]


@pytest.mark.parametrize("proto", range(6))
def test_persistent_ids_text_and_binary(proto):
    import io

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return obj[1:] if isinstance(obj, str) and obj.startswith("@") else None

    f = io.BytesIO()
    P(f, protocol=proto).dump(["@storage0", 1])
    ops = {op.name for op, _, _ in iter_opcodes(f.getvalue())}
    assert ("PERSID" if proto == 0 else "BINPERSID") in ops
    w = Calls(f.getvalue()).walk()
    assert w.pids == ["storage0"]
    assert len(w.stack) == 1


def test_int_and_long_parse_as_pickle_does():
    for data in (b"I0x10\n.", b"I-0o17\n.", b"L0b101L\n.", b"I00\n.", b"I01\n.", b"I1_000\n.", b"I 7\n."):
        assert walk(data).stack[0] == pickle.loads(data), data
        assert type(walk(data).stack[0]) is type(pickle.loads(data))
    assert walk(b"I010\n.").stack[0] == pickle.loads(b"I010\n.") == 8  # the C unpickler's octal
    for data in (b"Ixyz\n.", b"L1.5\n."):
        with pytest.raises(ValueError):
            pickle.loads(data)
        with pytest.raises(PickleWalkError):
            walk(data)
    with pytest.raises(ValueError):  # pickletools cannot read what pickle accepts
        list(pickletools.genops(b"I0x10\n."))


def test_pop_right_after_mark_pops_the_mark():
    data = b"N(0."  # NONE, MARK, POP (the mark), STOP
    assert pickle.loads(data) is None
    w = walk(data)
    assert w.stack == [None]
    data = b"(N0t."  # MARK, NONE, POP (the None), TUPLE
    assert walk(data).stack[0] == pickle.loads(data) == ()


@pytest.mark.parametrize(
    "data, message",
    [
        (b"0.", "stack underflow"),
        (b"(t0.", "stack underflow"),
        (b"t.", "MARK missing"),
        (b"(p0\n.", "stack underflow"),
        (b"g5\n.", "memo 5 missing"),
        (b"\xff.", "unknown opcode"),
        (b"X\x10\x00\x00\x00ab", "BINUNICODE"),
    ],
)
def test_malformed_streams_raise_what_pickle_would(data, message):
    with pytest.raises(Exception):
        pickle.loads(data)
    with pytest.raises(PickleWalkError, match=message):
        PickleWalk(data).walk()


def test_no_stop_and_bytes_after_stop():
    w = PickleWalk(b"N").walk()
    assert not w.stopped and w.end == 1
    w = PickleWalk(b"N.junk").walk()
    assert w.stopped and w.end == 2
    w2 = PickleWalk(b"N.K\x05.", start=2).walk()
    assert w2.stopped and w2.stack == [5] and w2.end == 5


def test_max_ops_bounds_the_walk():
    data = pickle.dumps(list(range(100)), protocol=0)
    with pytest.raises(PickleWalkError, match="too many"):
        PickleWalk(data, max_ops=50).walk()

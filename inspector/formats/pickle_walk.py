"""One walk over a pickle's opcodes with CPython's stack effects, and hooks for what matters.

Nothing is executed. `PickleWalk.walk()` reads the opcodes one by one and keeps a symbolic
stack, memo and mark stack exactly as `pickle.Unpickler` (the C `_pickle`) would, but the
values on them are whatever the hooks return. A subclass overrides the hooks it cares about:
the rewriter (ops/pickle_rewrite.py) remembers which opcodes built each value, the scanner
(analysis/pickle_scan.py) follows globals and calls. Semantics copied from CPython rather
than from pickletools:

- INT and LONG text is parsed by the C unpickler itself (base 0: `I0x10\\n` is 16, `I010\\n`
  is 8; `I00\\n`/`I01\\n` are False/True), where pickletools would refuse or differ.
- POP right after MARK pops the mark (the C unpickler does so), it is not an underflow.
- Popping below the innermost mark is a stack underflow; PUT/MEMOIZE need a value above it.
- STOP ends the walk; `end` is the offset just after it (or where the data ran out).
- DUP pushes the same value again (a duplicated global stays that global).

Speed (the scanner walks every opcode of pickles with millions of them): one table maps
each opcode byte to its reader and stack effect, and the common arguments (fixed-size
integers, length-prefixed strings and bytes) are read straight from the bytes.

Errors raise `PickleWalkError` (a ValueError) with a short message; `pos` says where.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import struct
import sys

_STOP = next(op for op in pickletools.opcodes if op.name == "STOP")
STRINGS = {
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "UNICODE",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
}
NUMBERS = {
    "NONE",
    "NEWTRUE",
    "NEWFALSE",
    "INT",
    "BININT",
    "BININT1",
    "BININT2",
    "LONG",
    "LONG1",
    "LONG4",
    "FLOAT",
    "BINFLOAT",
}
_LITERALS = (
    STRINGS
    | NUMBERS
    | {
        "BINBYTES",
        "SHORT_BINBYTES",
        "BINBYTES8",
        "BYTEARRAY8",
        "EMPTY_LIST",
        "EMPTY_DICT",
        "EMPTY_SET",
        "NEXT_BUFFER",
    }
)
_TUPLE_SIZES = {"EMPTY_TUPLE": 0, "TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}
_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}
_GETS = {"GET", "BINGET", "LONG_BINGET"}


class PickleWalkError(ValueError):
    pass


def _read_number(f, code: bytes):
    """INT or LONG text read by the C unpickler itself (what torch.load uses): base 0 with its
    quirks (`I010` is 8, `I0x10` is 16, `I00`/`I01` are False/True, `L12L` drops the L).
    A two-opcode pickle of one number literal runs nothing."""
    line = f.readline()
    if not line.endswith(b"\n"):
        raise PickleWalkError(
            f"no newline found when trying to read {'an INT' if code == b'I' else 'a LONG'}"
        )
    try:
        return pickle.loads(code + line + b".")
    except Exception:
        raise PickleWalkError(f"bad {'INT' if code == b'I' else 'LONG'} literal {line[:40]!r}") from None


def _uint1(data, p, f):
    if p < len(data):
        return data[p], p + 1
    raise ValueError("not enough data in stream to read uint1")


def _fixed(fmt: str, what: str):
    """A fixed-size argument read straight from the bytes (pickletools' `read_<what>`)."""
    unpack, size = struct.Struct(fmt).unpack_from, struct.calcsize(fmt)

    def read(data, p, f):
        if p + size > len(data):
            raise ValueError(f"not enough data in stream to read {what}")
        return unpack(data, p)[0], p + size

    return read


def _counted(count, what: str, text: bool):
    """A length-prefixed string or bytes argument (pickletools' `read_<what>`)."""

    def read(data, p, f):
        n, p = count(data, p, f)
        end = p + n
        if end > len(data):
            raise ValueError(f"expected {n} bytes in a {what}, but only {len(data) - p} remain")
        raw = data[p:end]
        return (str(raw, "utf-8", "surrogatepass") if text else raw), end

    return read


def _number(data, p, f, code: bytes):
    f.seek(p)
    return _read_number(f, code), f.tell()


def _by_file(reader):
    """Any other argument: pickletools' own reader over the stream."""

    def read(data, p, f):
        f.seek(p)
        return reader(f), f.tell()

    return read


_uint4 = _fixed("<I", "uint4")
_FAST = {
    "uint1": _uint1,
    "uint2": _fixed("<H", "uint2"),
    "int4": _fixed("<i", "int4"),
    "uint4": _uint4,
    "uint8": _fixed("<Q", "uint8"),
    "float8": _fixed(">d", "float8"),
    "unicodestring1": _counted(_uint1, "unicodestring1", True),
    "unicodestring4": _counted(_uint4, "unicodestring4", True),
    "bytes1": _counted(_uint1, "bytes1", False),
    "bytes4": _counted(_uint4, "bytes4", False),
}


def _reader(op):
    if op.name in ("INT", "LONG"):
        code = op.code.encode("latin1")
        return lambda data, p, f: _number(data, p, f, code)
    if op.arg is None:
        return None  # no argument
    return _FAST.get(op.arg.name) or _by_file(op.arg.reader)


# opcode byte -> (OpcodeInfo, argument reader or None); None for a byte that is no opcode
_DECODE: list = [None] * 256
for _op in pickletools.opcodes:
    _DECODE[ord(_op.code)] = (_op, _reader(_op))


def _undecodable(data: bytes, pos: int, exc: Exception) -> PickleWalkError:
    """The error for the opcode at `pos`: no opcode at all, or its argument cut short or bad."""
    entry = _DECODE[data[pos]]
    if entry is None:
        return PickleWalkError(f"unknown opcode {data[pos : pos + 1]!r} at byte {pos}")
    return PickleWalkError(f"{entry[0].name} at byte {pos}: {' '.join(str(exc).split())[:100]}")


def _decode(data: bytes, pos: int, f: io.BytesIO) -> tuple:
    """The opcode at `pos`: (OpcodeInfo, argument, offset of the next opcode)."""
    try:
        op, read = _DECODE[data[pos]]  # TypeError: no opcode has this byte
        if read is None:
            return op, None, pos + 1
        arg, nxt = read(data, pos + 1, f)
        return op, arg, nxt
    except (TypeError, ValueError, struct.error) as exc:
        raise _undecodable(data, pos, exc) from None


def iter_opcodes(data: bytes, start: int = 0):
    """(OpcodeInfo, argument, offset) up to and including STOP, like pickletools.genops but
    reading INT and LONG as `pickle` does (common arguments are read straight from the bytes,
    the values pickletools gives). Raises PickleWalkError on an unknown opcode or a
    truncated argument; simply ends when the data ends without STOP."""
    if not isinstance(data, bytes):
        data = bytes(data)
    f, size, pos = io.BytesIO(data), len(data), start
    while pos < size:
        op, arg, nxt = _decode(data, pos, f)
        yield op, arg, pos
        if op is _STOP:
            return
        pos = nxt


class PickleWalk:
    """Walk one pickle stream; override the hooks. `ops` (when `record`) keeps every
    (OpcodeInfo, arg, offset) read, `stopped` says whether STOP was reached."""

    def __init__(self, data: bytes, start: int = 0, max_ops: int | None = None, record: bool = False):
        self.data, self.start, self.max_ops, self.record = data, start, max_ops, record
        self.stack: list = []
        self.marks: list[int] = []  # stack length at each open MARK
        self.mark_ops: list[int] = []  # opcode index of each open MARK
        self.memo: dict = {}
        self.ops: list = []
        self.stopped = False
        self.end = start
        self.pos = start  # offset of the opcode being walked
        self.counts = dict.fromkeys(pickletools.opcodes, 0)  # OpcodeInfo -> how many walked

    # ---- hooks: return the value pushed (defaults build a plain description) -----------------
    def literal(self, op, arg, index: int):
        """Strings (bytes of protocol 0-1 STRING opcodes as latin-1 text), numbers, None,
        bools, bytes, the empty list/dict/set, NEXT_BUFFER."""
        if op.name in STRINGS and isinstance(arg, bytes):
            return arg.decode("latin1")
        if op.name in ("NEWTRUE", "NEWFALSE"):
            return op.name == "NEWTRUE"
        return arg

    def global_(self, module: str, name: str, op, index: int):
        """GLOBAL and INST name a global by text."""
        return ("global", module, name)

    def stack_global(self, module, name, index: int):
        """STACK_GLOBAL: `module` and `name` are the values popped (not necessarily text)."""
        return ("global", module, name)

    def call(self, op, callee, args: list, index: int):
        """REDUCE (args: [tuple]), NEWOBJ ([cls, tuple] -> callee cls, args [tuple]),
        NEWOBJ_EX (args [tuple, dict]), OBJ and INST (args: the values after the mark)."""
        return ("call", callee)

    def build(self, target, state, index: int):
        """BUILD: returns what stays on the stack in place of `target`."""
        return target

    def persistent(self, op, pid, index: int):
        """PERSID (pid is the text) and BINPERSID (the popped value)."""
        return ("persistent", pid)

    def extension(self, op, code: int, index: int):
        return ("extension", code)

    def sequence(self, op, items: list, mark: int | None, index: int):
        """TUPLE/TUPLE1-3/EMPTY_TUPLE, LIST, DICT, FROZENSET: `items` are the values consumed,
        `mark` the opcode index of their MARK (None without one)."""
        return (op.name.lower(), items)

    def extend(self, op, target, items: list, index: int):
        """APPEND(S), SETITEM(S), ADDITEMS: returns what stays on the stack for `target`."""
        return target

    def put(self, key, value, index: int) -> None:
        """PUT/BINPUT/LONG_BINPUT/MEMOIZE: `value` (the top of the stack) is memoised."""

    def get(self, key, value, index: int):
        """GET/BINGET/LONG_BINGET: returns the value pushed for the memoised `value`."""
        return value

    def readonly(self, value, index: int):
        return value

    # ---- the walk ------------------------------------------------------------------------------
    def pop(self):
        stack = self.stack
        if len(stack) <= (self.marks[-1] if self.marks else 0):
            raise PickleWalkError("stack underflow")
        return stack.pop()

    def pop_n(self, n: int) -> list:
        """The top `n` values, deepest first."""
        stack = self.stack
        if len(stack) - n < (self.marks[-1] if self.marks else 0):
            raise PickleWalkError("stack underflow")
        if not n:
            return []
        items = stack[-n:]
        del stack[-n:]
        return items

    def pop_mark(self) -> tuple[list, int]:
        """The values above the innermost mark and the opcode index of that MARK."""
        if not self.marks:
            raise PickleWalkError("MARK missing")
        at = self.marks.pop()
        items = self.stack[at:]
        del self.stack[at:]
        return items, self.mark_ops.pop()

    def top(self):
        if len(self.stack) <= (self.marks[-1] if self.marks else 0):
            raise PickleWalkError("stack underflow")
        return self.stack[-1]

    def walk(self) -> PickleWalk:
        """Walk to STOP (or the end of the data). Each opcode is read by `_decode` (as
        `iter_opcodes` reads it) and goes to its entry in `_STEPS`: one dispatch, no chain of
        name tests, no generator (the scanner walks millions of opcodes)."""
        data = self.data if isinstance(self.data, bytes) else bytes(self.data)
        f, size, pos, index = io.BytesIO(data), len(data), self.start, 0
        steps, counts = _STEPS, self.counts
        limit = sys.maxsize if self.max_ops is None else self.max_ops
        record = self.ops.append if self.record else None
        try:
            while pos < size:
                op, arg, nxt = _decode(data, pos, f)
                if index >= limit:
                    raise PickleWalkError("too many opcodes")
                counts[op] += 1
                if record is not None:
                    record((op, arg, pos))
                if op is _STOP:
                    self.top()  # STOP pops the result: an empty stack is an underflow
                    self.stopped = True
                    self.end = pos + 1
                    return self
                steps[op](self, op, arg, index)
                pos, index = nxt, index + 1
        finally:
            self.pos = pos
        self.end = size
        return self

    def step(self, op, arg, index: int) -> None:
        """One opcode's stack effect (what `walk` does for each)."""
        _STEPS[op](self, op, arg, index)

    def opcode_counts(self) -> dict[str, int]:
        """How many of each opcode the walk read (by name; those it never met left out)."""
        return {op.name: n for op, n in self.counts.items() if n}


# ---- each opcode's stack effect: f(walk, op, arg, index) ------------------------------------------
def _literal(w, op, arg, i):
    w.stack.append(w.literal(op, arg, i))


def _nothing(w, op, arg, i):  # PROTO, FRAME
    pass


def _mark(w, op, arg, i):
    w.marks.append(len(w.stack))
    w.mark_ops.append(i)


def _pop(w, op, arg, i):
    if w.marks and w.marks[-1] == len(w.stack):
        w.marks.pop()
        w.mark_ops.pop()
    else:
        w.pop()


def _pop_mark(w, op, arg, i):
    w.pop_mark()


def _dup(w, op, arg, i):
    w.stack.append(w.top())


def _put(w, op, arg, i):
    stack = w.stack
    if len(stack) <= (w.marks[-1] if w.marks else 0):
        raise PickleWalkError("stack underflow")
    w.memo[arg] = value = stack[-1]
    w.put(arg, value, i)


def _memoize(w, op, arg, i):
    _put(w, op, len(w.memo), i)


def _get(w, op, arg, i):
    try:
        value = w.memo[arg]
    except KeyError:
        raise PickleWalkError(f"memo {arg} missing") from None
    w.stack.append(w.get(arg, value, i))


def _fixed_tuple(w, op, arg, i):
    w.stack.append(w.sequence(op, w.pop_n(_TUPLE_SIZES[op.name]), None, i))


def _marked_sequence(w, op, arg, i):  # TUPLE, LIST, DICT, FROZENSET
    items, mark = w.pop_mark()
    w.stack.append(w.sequence(op, items, mark, i))


def _extend(w, op, arg, i):  # APPEND, SETITEM
    items = w.pop_n(1 if op.name == "APPEND" else 2)
    target = w.pop()
    w.stack.append(w.extend(op, target, items, i))


def _marked_extend(w, op, arg, i):  # APPENDS, SETITEMS, ADDITEMS
    items, _ = w.pop_mark()
    target = w.pop()
    w.stack.append(w.extend(op, target, items, i))


def _global(w, op, arg, i):
    module, _, name = str(arg).partition(" ")
    w.stack.append(w.global_(module, name, op, i))


def _stack_global(w, op, arg, i):
    name = w.pop()
    module = w.pop()
    w.stack.append(w.stack_global(module, name, i))


def _inst(w, op, arg, i):
    module, _, name = str(arg).partition(" ")
    items, _ = w.pop_mark()
    w.stack.append(w.call(op, w.global_(module, name, op, i), items, i))


def _obj(w, op, arg, i):
    items, _ = w.pop_mark()
    if not items:
        raise PickleWalkError("OBJ without a class")
    w.stack.append(w.call(op, items[0], items[1:], i))


def _reduce(w, op, arg, i):  # REDUCE, NEWOBJ: callable (or class), then one tuple
    args = w.pop()
    w.stack.append(w.call(op, w.pop(), [args], i))


def _newobj_ex(w, op, arg, i):
    kwargs = w.pop()
    args = w.pop()
    w.stack.append(w.call(op, w.pop(), [args, kwargs], i))


def _build(w, op, arg, i):
    state = w.pop()
    w.stack.append(w.build(w.pop(), state, i))


def _persid(w, op, arg, i):
    w.stack.append(w.persistent(op, arg, i))


def _binpersid(w, op, arg, i):
    w.stack.append(w.persistent(op, w.pop(), i))


def _extension(w, op, arg, i):
    w.stack.append(w.extension(op, arg, i))


def _readonly(w, op, arg, i):
    w.stack.append(w.readonly(w.pop(), i))


_BY_NAME = {
    **dict.fromkeys(_LITERALS, _literal),
    **dict.fromkeys(("PROTO", "FRAME"), _nothing),
    **dict.fromkeys(_PUTS, _put),
    **dict.fromkeys(_GETS, _get),
    **dict.fromkeys(_TUPLE_SIZES, _fixed_tuple),
    **dict.fromkeys(("TUPLE", "LIST", "DICT", "FROZENSET"), _marked_sequence),
    **dict.fromkeys(("APPEND", "SETITEM"), _extend),
    **dict.fromkeys(("APPENDS", "SETITEMS", "ADDITEMS"), _marked_extend),
    **dict.fromkeys(("REDUCE", "NEWOBJ"), _reduce),
    **dict.fromkeys(("EXT1", "EXT2", "EXT4"), _extension),
    "MEMOIZE": _memoize,
    "MARK": _mark,
    "POP": _pop,
    "POP_MARK": _pop_mark,
    "DUP": _dup,
    "GLOBAL": _global,
    "STACK_GLOBAL": _stack_global,
    "INST": _inst,
    "OBJ": _obj,
    "NEWOBJ_EX": _newobj_ex,
    "BUILD": _build,
    "PERSID": _persid,
    "BINPERSID": _binpersid,
    "READONLY_BUFFER": _readonly,
}
# every opcode of protocol 0-5 but STOP (which `walk` ends on) has its stack effect
_STEPS = {op: _BY_NAME[op.name] for op in pickletools.opcodes if op is not _STOP}

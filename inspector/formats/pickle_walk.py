"""One walk over a pickle's opcodes with CPython's stack effects, and hooks for what matters.

Nothing is executed. `PickleWalk.walk()` reads the opcodes one by one and keeps a symbolic
stack, memo and mark stack exactly as `pickle.Unpickler` (the C `_pickle`) would, but the
values on them are whatever the hooks return. A subclass overrides the hooks it cares about:
the rewriter (ops/pickle_rewrite.py) remembers which opcodes built each value, a scanner
follows globals and calls. Semantics copied from CPython rather than from pickletools:

- INT and LONG text is parsed by the C unpickler itself (base 0: `I0x10\\n` is 16, `I010\\n`
  is 8; `I00\\n`/`I01\\n` are False/True), where pickletools would refuse or differ.
- POP right after MARK pops the mark (the C unpickler does so), it is not an underflow.
- Popping below the innermost mark is a stack underflow; PUT/MEMOIZE need a value above it.
- STOP ends the walk; `end` is the offset just after it (or where the data ran out).

Errors raise `PickleWalkError` (a ValueError) with a short message; `pos` says where.
"""

from __future__ import annotations

import io
import pickle
import pickletools

_CODE2OP = {op.code.encode("latin1"): op for op in pickletools.opcodes}
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


def iter_opcodes(data: bytes, start: int = 0):
    """(OpcodeInfo, argument, offset) up to and including STOP, like pickletools.genops but
    reading INT and LONG as `pickle` does. Raises PickleWalkError on an unknown opcode or a
    truncated argument; simply ends when the data ends without STOP."""
    f = io.BytesIO(data)
    f.seek(start)
    while True:
        pos = f.tell()
        code = f.read(1)
        if not code:
            return
        op = _CODE2OP.get(code)
        if op is None:
            raise PickleWalkError(f"unknown opcode {code!r} at byte {pos}")
        if op.name in ("INT", "LONG"):
            arg = _read_number(f, code)
        elif op.arg is None:
            arg = None
        else:
            try:
                arg = op.arg.reader(f)
            except ValueError as exc:
                raise PickleWalkError(
                    f"{op.name} at byte {pos}: {' '.join(str(exc).split())[:100]}"
                ) from None
        yield op, arg, pos
        if op.name == "STOP":
            return


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
        if len(self.stack) <= (self.marks[-1] if self.marks else 0):
            raise PickleWalkError("stack underflow")
        return self.stack.pop()

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
        for index, (op, arg, pos) in enumerate(iter_opcodes(self.data, self.start)):
            if self.max_ops is not None and index >= self.max_ops:
                raise PickleWalkError("too many opcodes")
            self.pos = pos
            if self.record:
                self.ops.append((op, arg, pos))
            if op.name == "STOP":
                self.top()  # STOP pops the result: an empty stack is an underflow
                self.stopped = True
                self.end = pos + 1
                return self
            self.step(op, arg, index)
        self.end = len(self.data)
        return self

    def step(self, op, arg, index: int) -> None:
        name, push = op.name, self.stack.append
        if name in _LITERALS:
            push(self.literal(op, arg, index))
        elif name in ("PROTO", "FRAME"):
            pass
        elif name == "MARK":
            self.marks.append(len(self.stack))
            self.mark_ops.append(index)
        elif name == "POP":
            if self.marks and self.marks[-1] == len(self.stack):
                self.marks.pop()
                self.mark_ops.pop()
            else:
                self.pop()
        elif name == "POP_MARK":
            self.pop_mark()
        elif name == "DUP":
            push(self.top())
        elif name in _PUTS or name == "MEMOIZE":
            key = len(self.memo) if name == "MEMOIZE" else arg
            value = self.top()
            self.memo[key] = value
            self.put(key, value, index)
        elif name in _GETS:
            if arg not in self.memo:
                raise PickleWalkError(f"memo {arg} missing")
            push(self.get(arg, self.memo[arg], index))
        elif name in _TUPLE_SIZES:
            n = _TUPLE_SIZES[name]
            items = [self.pop() for _ in range(n)][::-1]
            push(self.sequence(op, items, None, index))
        elif name in ("TUPLE", "LIST", "DICT", "FROZENSET"):
            items, mark = self.pop_mark()
            push(self.sequence(op, items, mark, index))
        elif name in ("APPEND", "SETITEM"):
            items = [self.pop() for _ in range(1 if name == "APPEND" else 2)][::-1]
            target = self.pop()
            push(self.extend(op, target, items, index))
        elif name in ("APPENDS", "SETITEMS", "ADDITEMS"):
            items, _ = self.pop_mark()
            target = self.pop()
            push(self.extend(op, target, items, index))
        else:
            self._object_op(op, arg, index)

    def _object_op(self, op, arg, index: int) -> None:
        name, push = op.name, self.stack.append
        if name == "GLOBAL":
            module, _, gname = str(arg).partition(" ")
            push(self.global_(module, gname, op, index))
        elif name == "STACK_GLOBAL":
            gname = self.pop()
            module = self.pop()
            push(self.stack_global(module, gname, index))
        elif name == "INST":
            module, _, gname = str(arg).partition(" ")
            items, _ = self.pop_mark()
            push(self.call(op, self.global_(module, gname, op, index), items, index))
        elif name == "OBJ":
            items, _ = self.pop_mark()
            if not items:
                raise PickleWalkError("OBJ without a class")
            push(self.call(op, items[0], items[1:], index))
        elif name == "REDUCE":
            args = self.pop()
            push(self.call(op, self.pop(), [args], index))
        elif name == "NEWOBJ":
            args = self.pop()
            push(self.call(op, self.pop(), [args], index))
        elif name == "NEWOBJ_EX":
            kwargs = self.pop()
            args = self.pop()
            push(self.call(op, self.pop(), [args, kwargs], index))
        elif name == "BUILD":
            state = self.pop()
            push(self.build(self.pop(), state, index))
        elif name == "PERSID":
            push(self.persistent(op, arg, index))
        elif name == "BINPERSID":
            push(self.persistent(op, self.pop(), index))
        elif name.startswith("EXT"):
            push(self.extension(op, arg, index))
        elif name == "READONLY_BUFFER":
            push(self.readonly(self.pop(), index))
        else:  # pragma: no cover - every opcode of protocol 0-5 is handled above
            raise PickleWalkError(f"unhandled opcode {name}")

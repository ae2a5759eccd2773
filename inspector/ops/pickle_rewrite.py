"""Edit a pickle's persistent ids at the opcode level, keeping every other byte.

Re-mapping device tags, casting storages or turning a legacy file into the zip format
only touches the persistent ids torch writes for storages: ('storage', StorageType, key,
location, numel[, view]). Unpickling and re-pickling would need the classes named in the
file (a whole pickled model, custom objects) - instead the stream is walked with a
symbolic stack that remembers which opcode produced each value, and only the opcodes
feeding a persistent id are replaced. Only opcodes that torch.load(weights_only=True)
accepts are written (BINUNICODE, GLOBAL). Values shared through the memo stay correct:
when a string that feeds a persistent id is memoized and fetched again elsewhere, every
fetch is given the value it should see - the new one where it feeds a re-mapped id, the
old one anywhere else. FRAME opcodes are dropped (framing is optional).
"""

from __future__ import annotations

import pickletools
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import OpError

_MARK = object()
_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING",
               "BINSTRING", "SHORT_BINSTRING"}
_PUTS = ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE")
_GETS = ("GET", "BINGET", "LONG_BINGET")


@dataclass(eq=False)
class Item:
    value: object
    first: int  # index of the first op that built it
    last: int  # index of the last op (memo puts included)
    kids: list = field(default_factory=list)
    mark: int | None = None
    get_of: object = None  # memo key when this item is a fetch from the memo
    slot: object = None  # memo key this item was stored under (by its own PUT)


def binunicode_op(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(raw)) + raw


def global_op(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


class PidEdit:
    """What to do with one persistent id; the callback sets these."""

    def __init__(self, items: list[Item]):
        self.items = items
        self.values = [it.value for it in items]
        self.replace: dict[int, bytes] = {}  # element index -> opcode pushing the new value
        self.drop: set[int] = set()  # element indexes to remove (a legacy view's None)
        self.unwrap: int | None = None  # keep only this element instead of the whole pid


def _simulate(data: bytes):
    ops = list(pickletools.genops(data))
    stack: list = []
    memo: dict = {}
    pids: list[tuple[Item, int]] = []  # (pid tuple item, BINPERSID op index)
    gets: list[Item] = []  # every fetch from the memo, with what it fetched
    origins: dict = {}  # memo key -> item stored
    put_ops: dict = {}  # memo key -> op index of the PUT

    def pop():
        if not stack or stack[-1] is _MARK:
            raise OpError("the pickle is malformed (stack underflow)")
        return stack.pop()

    def pop_mark():
        i = len(stack) - 1
        while i >= 0 and stack[i] is not _MARK:
            i -= 1
        if i < 0:
            raise OpError("the pickle is malformed (MARK missing)")
        items = stack[i + 1:]
        del stack[i:]
        return items

    marks: list[int] = []
    for i, (op, arg, pos) in enumerate(ops):
        name = op.name
        if name in _STRING_OPS:
            stack.append(Item(arg.decode("latin1") if isinstance(arg, bytes) else arg, i, i))
        elif name == "GLOBAL":
            module, _, gname = str(arg).partition(" ")
            stack.append(Item(("global", module, gname), i, i))
        elif name == "STACK_GLOBAL":
            n, m = pop(), pop()
            stack.append(Item(("global", m.value, n.value), m.first, i))
        elif name in _PUTS:
            if not stack or stack[-1] is _MARK:
                raise OpError("the pickle is malformed (memo of nothing)")
            key = len(memo) if name == "MEMOIZE" else arg
            memo[key] = stack[-1]
            origins[key] = stack[-1]
            put_ops[key] = i
            stack[-1].last, stack[-1].slot = i, key
        elif name in _GETS:
            if arg not in memo:
                raise OpError(f"the pickle is malformed (memo {arg} missing)")
            src = memo[arg]
            item = Item(src.value, i, i, list(src.kids), get_of=arg)
            gets.append(item)
            stack.append(item)
        elif name == "MARK":
            stack.append(_MARK)
            marks.append(i)
        elif name in ("NONE", "NEWTRUE", "NEWFALSE") or name.startswith(("BININT", "INT", "LONG",
                                                                            "BINFLOAT", "FLOAT")):
            stack.append(Item(None if name == "NONE" else arg, i, i))
        elif name in ("TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_TUPLE"):
            if name == "TUPLE":
                kids, mark = pop_mark(), marks.pop()
            else:
                n = {"EMPTY_TUPLE": 0, "TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}[name]
                kids, mark = [pop() for _ in range(n)][::-1], None
            first = mark if mark is not None else (kids[0].first if kids else i)
            stack.append(Item(tuple(k.value for k in kids), first, i, kids, mark))
        elif name == "BINPERSID":
            pid = pop()
            if pid.get_of is not None:
                raise OpError("a persistent id is shared through the memo; not supported")
            pids.append((pid, i))
            stack.append(Item(None, pid.first, i))
        elif name == "PERSID":
            raise OpError("protocol 0 persistent ids are text; re-save the file with a newer torch")
        elif name in ("PROTO", "FRAME", "STOP"):
            if name == "STOP":
                break
        else:
            before = op.stack_before
            if pickletools.markobject in before:
                pop_mark()
                marks.pop()
                for b in before:
                    if b is not pickletools.markobject and b is not pickletools.stackslice:
                        pop()
            else:
                for _ in before:
                    pop()
            for _ in op.stack_after:
                stack.append(Item(None, i, i))
    return ops, pids, gets, origins, put_ops


def rewrite(data: bytes, on_pid: Callable[[PidEdit], None]) -> bytes:
    ops, pids, gets, origins, put_ops = _simulate(data)
    spans = [(pos, ops[i + 1][2] if i + 1 < len(ops) else len(data)) for i, (_, _, pos) in enumerate(ops)]
    replace_ops: dict[int, bytes] = {}
    drop_ops: set[int] = {i for i, (op, _, _) in enumerate(ops) if op.name == "FRAME"}
    wanted: dict[int, bytes] = {}  # id(item) -> opcode bytes it must push instead
    dropped_slots: set = set()
    unwrapped_gets: set[int] = set()
    for pid, persid in pids:
        edit = PidEdit(pid.kids)
        on_pid(edit)
        if edit.unwrap is not None:  # ('module', cls, file, source) -> cls
            if pid.mark is None:
                raise OpError("unexpected persistent id layout")
            drop_ops.update({pid.mark, persid})
            drop_ops.update(range(pid.last - (1 if pid.slot is not None else 0), pid.last + 1))
            for j, it in enumerate(pid.kids):
                if j != edit.unwrap:
                    drop_ops.update(range(it.first, it.last + 1))
                    if it.slot is not None:
                        dropped_slots.add(it.slot)
                    if it.get_of is not None:
                        unwrapped_gets.add(id(it))
            if pid.slot is not None:
                dropped_slots.add(pid.slot)
            continue
        for j, new in edit.replace.items():
            wanted[id(pid.kids[j])] = new
        for j in edit.drop:
            it = pid.kids[j]
            if it.first != it.last or it.get_of is not None:
                raise OpError("cannot drop a shared value from a persistent id")
            drop_ops.add(it.first)
    for g in gets:
        if g.get_of in dropped_slots and id(g) not in unwrapped_gets:
            raise OpError("a removed value is used elsewhere in the pickle; not supported")
    # Each memoized value keeps one meaning per fetch: its origin op pushes what the origin
    # use wants; every fetch that wants something else is given its own literal.
    for key, origin in origins.items():
        if origin.first != origin.last - 1 and origin.first != origin.last:
            continue  # built by several ops (not a literal): never a target
        new = wanted.get(id(origin))
        if new is not None:
            replace_ops[origin.first] = new
    for g in gets:
        origin = origins[g.get_of]
        have = wanted.get(id(origin))  # what the memo slot now holds (None: unchanged)
        want = wanted.get(id(g))
        if want == have:
            continue
        if want is None:  # a fetch elsewhere keeps the old value
            want = bytes(data[spans[origin.first][0]:spans[origin.first][1]])
        replace_ops[g.first] = want
    for pid, _ in pids:  # literals without memo that feed a replaced element
        for it in pid.kids:
            new = wanted.get(id(it))
            if new is not None and it.get_of is None and it.slot is None:
                replace_ops[it.first] = new
    out = bytearray()
    for i, (a, b) in enumerate(spans):
        if i in replace_ops:
            out += replace_ops[i]
        elif i not in drop_ops:
            out += data[a:b]
    return bytes(out)

"""Edit a pickle's persistent ids at the opcode level, keeping every other byte.

Re-mapping device tags, casting storages or turning a legacy file into the zip format
only touches the persistent ids torch writes for storages: ('storage', StorageType, key,
location, numel[, view]). Unpickling and re-pickling would need the classes named in the
file (a whole pickled model, custom objects) - instead the stream is walked with a
symbolic stack (formats/pickle_walk.py) that remembers which opcode produced each value, and only the opcodes
feeding a persistent id are replaced. Only opcodes that torch.load(weights_only=True)
accepts are written (BINUNICODE, GLOBAL). Values shared through the memo stay correct:
when a string that feeds a persistent id is memoized and fetched again elsewhere, every
fetch is given the value it should see - the new one where it feeds a re-mapped id, the
old one anywhere else. FRAME opcodes are dropped (framing is optional).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from ..formats.pickle_walk import NUMBERS, STRINGS, PickleWalk, PickleWalkError
from .errors import OpError

_TUPLES = {"TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_TUPLE"}


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


class _Simulation(PickleWalk):
    """Items remember which opcodes built them; persistent ids and memo fetches are listed."""

    def __init__(self, data: bytes):
        super().__init__(data, record=True)
        self.pids: list[tuple[Item, int]] = []  # (pid tuple item, BINPERSID op index)
        self.gets: list[Item] = []  # every fetch from the memo, with what it fetched
        self.origins: dict = {}  # memo key -> item stored

    def literal(self, op, arg, i):
        if op.name in STRINGS:
            return Item(arg.decode("latin1") if isinstance(arg, bytes) else arg, i, i)
        if op.name in NUMBERS:
            return Item(None if op.name == "NONE" else arg, i, i)
        return Item(None, i, i)

    def global_(self, module, name, op, i):
        return Item(("global", module, name), i, i)

    def stack_global(self, module, name, i):
        return Item(("global", module.value, name.value), module.first, i)

    def put(self, key, value, i):
        self.origins[key] = value
        value.last, value.slot = i, key

    def get(self, key, src, i):
        item = Item(src.value, i, i, list(src.kids), get_of=key)
        self.gets.append(item)
        return item

    def sequence(self, op, kids, mark, i):
        if op.name not in _TUPLES:
            return Item(None, i, i)
        first = mark if mark is not None else (kids[0].first if kids else i)
        return Item(tuple(k.value for k in kids), first, i, kids, mark)

    def persistent(self, op, pid, i):
        if op.name == "PERSID":
            raise OpError("protocol 0 persistent ids are text; re-save the file with a newer torch")
        if pid.get_of is not None:
            raise OpError("a persistent id is shared through the memo; not supported")
        self.pids.append((pid, i))
        return Item(None, pid.first, i)

    def call(self, op, callee, args, i):
        return Item(None, i, i)

    def build(self, target, state, i):
        return Item(None, i, i)

    def extend(self, op, target, items, i):
        return Item(None, i, i)

    def extension(self, op, code, i):
        return Item(None, i, i)

    def readonly(self, value, i):
        return Item(None, i, i)


def _simulate(data: bytes) -> _Simulation:
    try:
        sim = _Simulation(data).walk()
    except PickleWalkError as exc:
        raise OpError(f"the pickle is malformed ({exc})") from None
    if not sim.stopped:
        raise OpError("the pickle is malformed (no STOP opcode)")
    return sim


class _Edits:
    """What the callbacks asked for, as opcode indexes to drop and items to push anew."""

    def __init__(self, ops):
        self.drop_ops: set[int] = {i for i, (op, _, _) in enumerate(ops) if op.name == "FRAME"}
        self.wanted: dict[int, bytes] = {}  # id(item) -> opcode bytes it must push instead
        self.dropped_slots: set = set()
        self.unwrapped_gets: set[int] = set()

    def unwrap(self, pid: Item, persid: int, keep: int) -> None:
        """('module', cls, file, source) -> cls: everything but element `keep` goes."""
        if pid.mark is None:
            raise OpError("unexpected persistent id layout")
        self.drop_ops.update({pid.mark, persid})
        self.drop_ops.update(range(pid.last - (1 if pid.slot is not None else 0), pid.last + 1))
        for j, it in enumerate(pid.kids):
            if j != keep:
                self.drop_ops.update(range(it.first, it.last + 1))
                if it.slot is not None:
                    self.dropped_slots.add(it.slot)
                if it.get_of is not None:
                    self.unwrapped_gets.add(id(it))
        if pid.slot is not None:
            self.dropped_slots.add(pid.slot)

    def apply(self, pid: Item, edit: PidEdit) -> None:
        for j, new in edit.replace.items():
            self.wanted[id(pid.kids[j])] = new
        for j in edit.drop:
            it = pid.kids[j]
            if it.first != it.last or it.get_of is not None:
                raise OpError("cannot drop a shared value from a persistent id")
            self.drop_ops.add(it.first)


def _replacements(data: bytes, sim: _Simulation, spans, edits: _Edits) -> dict[int, bytes]:
    """Opcode index -> the bytes written instead of it."""
    wanted = edits.wanted
    for g in sim.gets:
        if g.get_of in edits.dropped_slots and id(g) not in edits.unwrapped_gets:
            raise OpError("a removed value is used elsewhere in the pickle; not supported")
    replace_ops: dict[int, bytes] = {}
    # Each memoized value keeps one meaning per fetch: its origin op pushes what the origin
    # use wants; every fetch that wants something else is given its own literal.
    for origin in sim.origins.values():
        if origin.first != origin.last - 1 and origin.first != origin.last:
            continue  # built by several ops (not a literal): never a target
        new = wanted.get(id(origin))
        if new is not None:
            replace_ops[origin.first] = new
    for g in sim.gets:
        origin = sim.origins[g.get_of]
        have = wanted.get(id(origin))  # what the memo slot now holds (None: unchanged)
        want = wanted.get(id(g))
        if want == have:
            continue
        if want is None:  # a fetch elsewhere keeps the old value
            want = bytes(data[spans[origin.first][0] : spans[origin.first][1]])
        replace_ops[g.first] = want
    for pid, _ in sim.pids:  # literals without memo that feed a replaced element
        for it in pid.kids:
            new = wanted.get(id(it))
            if new is not None and it.get_of is None and it.slot is None:
                replace_ops[it.first] = new
    return replace_ops


def rewrite(data: bytes, on_pid: Callable[[PidEdit], None]) -> bytes:
    sim = _simulate(data)
    ops = sim.ops
    spans = [(pos, ops[i + 1][2] if i + 1 < len(ops) else len(data)) for i, (_, _, pos) in enumerate(ops)]
    edits = _Edits(ops)
    for pid, persid in sim.pids:
        edit = PidEdit(pid.kids)
        on_pid(edit)
        if edit.unwrap is not None:
            edits.unwrap(pid, persid, edit.unwrap)
        else:
            edits.apply(pid, edit)
    replace_ops = _replacements(data, sim, spans, edits)
    out = bytearray()
    for i, (a, b) in enumerate(spans):
        if i in replace_ops:
            out += replace_ops[i]
        elif i not in edits.drop_ops:
            out += data[a:b]
    return bytes(out)

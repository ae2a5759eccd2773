"""Static scan of one pickle stream: which globals it names, which it calls, and how.

The scan never executes anything: it walks the opcodes with the shared walker
(formats/pickle_walk.py, CPython's stack effects; docs/ARCHITECTURE.md, formats) and keeps
only what matters on the symbolic stack (strings, globals, call results), which is what
lets it resolve STACK_GLOBAL operands fed through the memo, tell a global that is only
referenced from one that is called, and see structural tricks: a global computed at load
time, a call on the result of a call (resolver chains such as
`getattr(__import__('os'), 'system')`), BUILD on a global, EXT opcodes, more than one
stream or bytes after STOP.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..formats.pickle_walk import STRINGS, PickleWalk
from ..formats.unpickler import normalize_global

MAX_OPS = 20_000_000


@dataclass(frozen=True)
class Global:
    module: str
    name: str


class _Call:  # result of calling something
    __slots__ = ("callee",)

    def __init__(self, callee):
        self.callee = callee


_ANY = object()  # any other value: numbers, containers, persistent ids, ...


@dataclass
class GlobalUse:
    module: str
    name: str
    opcode: str
    stream: str
    count: int = 1
    called: bool = False


@dataclass
class StreamScan:
    stream: str
    globals: dict[tuple[str, str, str], GlobalUse] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    end: int = 0  # offset just after STOP (or where parsing stopped)
    error: str | None = None
    opcodes: Counter = field(default_factory=Counter)


class _ScanWalk(PickleWalk):
    """The scanner's hooks: on the stack, text stays text, a global is a `Global`, a call's
    result a `_Call`; everything else is `_ANY`. Uses and flags go to `out` as they are met,
    so a stream that turns out malformed keeps what was found before the error."""

    def __init__(self, data: bytes, stream: str, start: int):
        super().__init__(data, start, max_ops=MAX_OPS)
        self.out = StreamScan(stream)
        self.by_name: dict[tuple[str, str], list[GlobalUse]] = {}  # (linear: no scan of all uses per call)

    def use(self, g: Global, opcode: str, called: bool = False) -> None:
        key = (g.module, g.name, opcode)
        u = self.out.globals.get(key)
        if u is None:
            self.out.globals[key] = u = GlobalUse(g.module, g.name, opcode, self.out.stream, 0)
            self.by_name.setdefault((g.module, g.name), []).append(u)
        u.count += 1
        u.called = u.called or called

    def literal(self, op, arg, index):
        if op.name in STRINGS:
            return arg.decode("latin1") if isinstance(arg, bytes) else arg
        return _ANY

    def global_(self, module, name, op, index):
        g = Global(*normalize_global(module, name))
        self.use(g, op.name, called=op.name == "INST")
        return g

    def stack_global(self, module, name, index):
        if isinstance(module, str) and isinstance(name, str):
            g = Global(*normalize_global(module, name))
        else:
            self.out.flags.append("STACK_GLOBAL with a module or name computed at load time")
            g = Global("<computed>", "<computed>")
        self.use(g, "STACK_GLOBAL")
        return g

    def call(self, op, callee, args, index):
        if op.name == "INST":  # the global_ hook marked this use called (and only this one)
            return _Call(callee)
        if isinstance(callee, Global):
            for u in self.by_name.get((callee.module, callee.name), ()):
                u.called = True
        elif isinstance(callee, _Call):
            self.out.flags.append(f"{op.name} calls the result of another call (a resolver chain)")
        return _Call(callee)

    def build(self, target, state, index):
        if isinstance(target, Global):
            self.out.flags.append(
                f"BUILD on the global {target.module}.{target.name} (overwrites a module or class attribute)"
            )
        return target

    def extension(self, op, code, index):
        self.out.flags.append(f"{op.name} opcode (extension registry lookup)")
        g = Global("<extension>", str(code))
        self.use(g, op.name)
        return g

    def sequence(self, op, items, mark, index):
        return _ANY

    def extend(self, op, target, items, index):
        return _ANY

    def persistent(self, op, pid, index):
        return _ANY

    def readonly(self, value, index):
        return _ANY


def scan_stream(data: bytes, stream: str, start: int = 0) -> StreamScan:
    """Scan the pickle starting at `start`; `end` tells where it stopped."""
    walk = _ScanWalk(data, stream, start)
    out = walk.out
    try:
        walk.walk()
        out.end = walk.end
        if not walk.stopped:
            out.error = "the pickle has no STOP opcode"
    except Exception as exc:  # malformed (or hostile beyond that): report, keep what was found
        out.error = f"malformed at byte {walk.pos}: {' '.join(str(exc).split())[:120]}"
        out.end = len(data)
    out.opcodes.update(walk.opcode_counts())
    return out


def scan_streams(data: bytes, stream: str, expect_single: bool = True, fast: bool = True) -> list[StreamScan]:
    """All pickles in `data` back to back. More than one, or bytes after STOP, is flagged
    when a single stream is expected."""
    quick = fast_scan(data, stream) if fast else None
    if quick is not None:
        return [quick]
    scans = [scan_stream(data, stream)]
    pos = scans[0].end
    while pos < len(data) and scans[-1].error is None and len(scans) < 64:
        rest = data[pos:]
        if not rest.strip(b"\x00\n\r "):
            break
        nxt = scan_stream(data, f"{stream} (stream {len(scans) + 1})", pos)
        if expect_single:
            scans[0].flags.append(
                f"{len(data) - pos} bytes after STOP"
                + (" hold another pickle stream" if nxt.globals or nxt.error is None else "")
            )
        scans.append(nxt)
        if nxt.end <= pos:
            break
        pos = nxt.end
    return scans


def from_report(report, stream: str, length: int) -> StreamScan | None:
    """A clean run of the non-executing unpickler as a scan result, or None when the full
    static scan is needed. The C unpickler resolves every GLOBAL, STACK_GLOBAL, INST, OBJ
    and EXT through find_class - the same calls torch.load would make - so when it
    consumed the whole stream without error, its log is the complete list of imports.
    Anything unusual (an error, bytes after STOP) sends the stream to `scan_streams`,
    which also reports structure: resolver chains, BUILD on globals, computed names."""
    if report is None or report.end != length:
        return None
    out = StreamScan(stream, end=length)
    for (module, name), count in report.globals.items():
        out.globals[(module, name, "global")] = GlobalUse(
            module, name, "global", stream, count, called=(module, name) in report.called
        )
    return out


def fast_scan(data: bytes, stream: str) -> StreamScan | None:
    """Run the non-executing unpickler over a stream just to learn what it names."""
    from ..formats.bare_pickle import BarePickleContainer
    from ..formats.errors import CheckpointError
    from ..formats.limits import DEFAULT_LIMITS
    from ..formats.unpickler import UnpickleReport, unpickle

    report = UnpickleReport()
    tolerant = BarePickleContainer("", None, DEFAULT_LIMITS)
    try:
        unpickle(
            data, what=stream, limits=DEFAULT_LIMITS, persistent_load=tolerant.persistent_load, report=report
        )
    except CheckpointError:
        return None
    return from_report(report, stream, len(data))

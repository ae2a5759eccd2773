"""Static scan of one pickle stream: which globals it names, which it calls, and how.

The scan never executes anything: it walks the opcodes with `pickletools.genops` and
simulates the stack symbolically (strings, memo slots, globals, call results), which is
what lets it resolve STACK_GLOBAL operands fed through the memo, tell a global that is
only referenced from one that is called, and see structural tricks: a global computed
at load time, a call on the result of a call (resolver chains such as
`getattr(__import__('os'), 'system')`), BUILD on a global, EXT opcodes, more than one
stream or bytes after STOP.
"""

from __future__ import annotations

import io
import pickletools
from collections import Counter
from dataclasses import dataclass, field

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


_MARK = object()
_ANY = object()


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


def scan_stream(data: bytes, stream: str, start: int = 0) -> StreamScan:
    """Scan the pickle starting at `start`; `end` tells where it stopped."""
    out = StreamScan(stream)
    stack: list = []
    marks: list[int] = []
    memo: dict = {}
    f = io.BytesIO(data)
    f.seek(start)
    last_pos = start

    by_name: dict[tuple[str, str], list[GlobalUse]] = {}  # (linear: no scan of all uses per call)

    def use(g: Global, opcode: str, called: bool = False):
        key = (g.module, g.name, opcode)
        u = out.globals.get(key)
        if u is None:
            out.globals[key] = u = GlobalUse(g.module, g.name, opcode, stream, 0)
            by_name.setdefault((g.module, g.name), []).append(u)
        u.count += 1
        u.called = u.called or called

    def pop_mark() -> list:
        if not marks:
            raise ValueError("MARK missing")
        at = marks.pop()
        items = stack[at:]
        del stack[at:]
        return items

    def pop():
        if not stack:
            raise ValueError("stack underflow")
        return stack.pop()

    def on_call(callee, opcode):
        if isinstance(callee, Global):
            for u in by_name.get((callee.module, callee.name), ()):
                u.called = True
        elif isinstance(callee, _Call):
            out.flags.append(f"{opcode} calls the result of another call (a resolver chain)")
        return _Call(callee)

    try:
        for n, (op, arg, pos) in enumerate(pickletools.genops(f)):
            if n > MAX_OPS:
                raise ValueError("too many opcodes")
            last_pos = pos
            name = op.name
            out.opcodes[name] += 1
            if name in ("GLOBAL", "INST"):
                module, _, gname = str(arg).partition(" ")
                module, gname = normalize_global(module, gname)
                g = Global(module, gname)
                use(g, name, called=(name == "INST"))
                if name == "INST":
                    pop_mark()
                    stack.append(_Call(g))
                else:
                    stack.append(g)
            elif name == "STACK_GLOBAL":
                gname, module = pop(), pop()
                if isinstance(module, str) and isinstance(gname, str):
                    module, gname = normalize_global(module, gname)
                    g = Global(module, gname)
                    use(g, name)
                    stack.append(g)
                else:
                    out.flags.append("STACK_GLOBAL with a module or name computed at load time")
                    stack.append(Global("<computed>", "<computed>"))
                    use(stack[-1], name)
            elif name in ("REDUCE", "NEWOBJ"):
                pop()  # the arguments
                stack.append(on_call(pop(), name))
            elif name == "NEWOBJ_EX":
                pop(), pop()  # kwargs, args
                stack.append(on_call(pop(), name))
            elif name == "OBJ":
                items = pop_mark()
                stack.append(on_call(items[0] if items else None, name))
            elif name == "BUILD":
                pop()  # the state
                target = stack[-1] if stack else None
                if isinstance(target, Global):
                    out.flags.append(
                        f"BUILD on the global {target.module}.{target.name} "
                        "(overwrites a module or class attribute)"
                    )
            elif name.startswith("EXT"):
                out.flags.append(f"{name} opcode (extension registry lookup)")
                stack.append(Global("<extension>", str(arg)))
                use(stack[-1], name)
            elif name == "MARK":
                marks.append(len(stack))
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = stack[-1] if stack else _ANY
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1] if stack else _ANY
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                if arg not in memo:
                    raise ValueError(f"memo key {arg} missing")
                stack.append(memo[arg])
            elif name == "STOP":
                out.end = f.tell()
                break
            elif name in ("PROTO", "FRAME"):
                pass
            else:
                _generic(op, arg, stack, marks, pop, pop_mark)
        else:
            out.error = "the pickle has no STOP opcode"
            out.end = f.tell()
    except Exception as exc:  # malformed: report, keep what was found before the error
        out.error = f"malformed at byte {last_pos}: {' '.join(str(exc).split())[:120]}"
        out.end = len(data)
    return out


_STRING_OPS = {
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "UNICODE",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
}


def _generic(op, arg, stack, marks, pop, pop_mark):
    """Stack effect of every other opcode, from pickletools' own descriptions."""
    before = op.stack_before
    if pickletools.markobject in before:
        pop_mark()
        rest = [b for b in before if b is not pickletools.markobject and b is not pickletools.stackslice]
        for _ in rest:
            pop()
    else:
        for _ in before:
            pop()
    for _ in op.stack_after:
        if op.name in _STRING_OPS:
            value = arg
            if isinstance(value, bytes):
                value = value.decode("latin1")
            stack.append(value)
        else:
            stack.append(_ANY)


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

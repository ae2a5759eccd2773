"""The evidence behind a verdict: per stream the loader would read, each import and each
call it would make (arguments shown as far as they are constants), judged by the policy.

`judge_trace` turns one `StreamTrace` (trace.py) into rows; `StreamReport` is what the
verdict keeps per stream: which loader reads it, whether it was parsed to the end, and
the rows. Static-scan findings (pickle_scan) join as extra rows marked `static`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import policy
from .trace import StreamTrace

MAX_STATIC_ROWS = 5000
_KIND_TEXT = {
    "call": "call",
    "new": "creates",
    "build": "sets state of",
    "resolve": "fetches",
    "reference": "references",
    "build-global": "overwrites attributes of",
    "call-computed": "calls computed",
    "static": "names (static scan)",
    "code": "runs",
    "graph": "graph calls",
}


@dataclass
class CallRow:
    stream: str
    kind: str  # call | new | build | reference | build-global | call-computed | static
    target: str
    category: str  # data | reference | needs-code | dangerous
    reason: str
    count: int = 1
    examples: list = field(default_factory=list)

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @property
    def text(self) -> str:
        """The most telling rendering: a call with its constant arguments when we have one."""
        return self.examples[0] if self.examples else f"{_KIND_TEXT.get(self.kind, self.kind)} {self.target}"


@dataclass
class StreamReport:
    stream: str
    loader: str  # what reads it: torch.load, pickle.load, numpy.load, torch.jit.load, ...
    complete: bool  # parsed to the end by the C unpickler (or fully read, for code text)
    rows: list = field(default_factory=list)
    error: str | None = None
    reached: bool = True  # False: bytes the loader never reads (evidence only)
    imports: list = field(default_factory=list)  # (module, name) the loader would import

    def to_json(self) -> dict:
        return {
            "stream": self.stream,
            "loader": self.loader,
            "complete": self.complete,
            "reached": self.reached,
            "error": self.error,
            "imports": [f"{m}.{n}" for m, n in self.imports],
            "calls": [r.to_json() for r in self.rows],
        }


def judge_trace(t: StreamTrace, reached: bool = True) -> StreamReport:
    rep = StreamReport(
        t.stream, t.loader, t.complete, error=t.error, reached=reached, imports=list(t.imports)
    )
    acted = set()  # names something was done with (called, created, resolved from)
    for e in t.events.values():
        if e.kind in ("call", "new", "build", "build-global", "call-computed"):
            acted.add(e.target)
        if e.kind == "resolve" or e.target.endswith(".__getitem__"):
            acted.add(e.target.rsplit(".", 1)[0])
    for e in t.ordered():
        if e.kind == "persistent-id":
            continue
        if e.kind == "import":
            if e.target in acted or e.target in ("builtins.getattr", "_operator.getitem", "operator.getitem"):
                continue
            kind = "reference"
        elif e.kind == "resolve":
            if e.target in acted:
                continue
            kind = "reference"
        else:
            kind = e.kind
        if kind == "build-global":
            cat, why = policy.DANGEROUS, "BUILD on a global sets attributes of a module or class"
        elif kind == "call-computed":
            cat, why = policy.DANGEROUS, "calls a value computed while loading (a resolver chain)"
        else:
            cat, why = policy.judge(kind if kind in ("reference", "new", "build") else "call", e.target)
        rep.rows.append(CallRow(t.stream, kind, e.target, cat, why, e.count, list(e.examples)))
    return rep


def static_rows(scan, stream: str) -> list[CallRow]:
    """Globals a static opcode scan found where the C parse did not go (evidence only)."""
    rows = []
    for n, u in enumerate(scan.globals.values()):
        if n >= MAX_STATIC_ROWS:
            rows.append(
                CallRow(
                    stream,
                    "static",
                    f"{len(scan.globals) - n:,} more names",
                    policy.NEEDS_CODE,
                    "not judged one by one (static scan)",
                )
            )
            break
        target = f"{u.module}.{u.name}"
        cat, why = policy.judge("call" if u.called else "reference", target)
        if u.module.startswith("<"):
            cat, why = policy.DANGEROUS, "global resolved at load time"
        rows.append(CallRow(stream, "static", target, cat, why + " (static scan)", u.count))
    return rows


def worst(categories) -> str:
    order = {policy.DANGEROUS: 3, policy.NEEDS_CODE: 2, policy.REFERENCE: 1, policy.DATA: 0}
    best = policy.DATA
    for c in categories:
        if order.get(c, 0) > order[best]:
            best = c
    return best

"""The walker's hooks fit the security scanner: `ScanWalk` below expresses
`analysis/pickle_scan.scan_stream`'s stack effects as PickleWalk hooks, and finds the same
globals (with counts and called-or-not) and the same structural flags on hand-made attacks
and on every pickle of the shared corpora. It is the blueprint for porting the scanner."""

import json
import zipfile

import pytest
from helpers import REAL, SECURITY, corpus_or_skip

from inspector.analysis.pickle_scan import Global, scan_stream
from inspector.formats.pickle_walk import PickleWalk
from inspector.formats.unpickler import normalize_global

ANY = object()


class _Call:
    def __init__(self, callee):
        self.callee = callee


class ScanWalk(PickleWalk):
    def __init__(self, data, start=0):
        super().__init__(data, start, max_ops=20_000_000)
        self.uses = {}  # (module, name, opcode) -> [count, called]
        self.flags = []

    def _use(self, g, opcode, called=False):
        u = self.uses.setdefault((g.module, g.name, opcode), [0, False])
        u[0] += 1
        u[1] = u[1] or called

    def literal(self, op, arg, i):
        v = super().literal(op, arg, i)
        return v if isinstance(v, str) else ANY

    def global_(self, module, name, op, i):
        g = Global(*normalize_global(module, name))
        self._use(g, op.name, called=op.name == "INST")
        return g

    def stack_global(self, module, name, i):
        if isinstance(module, str) and isinstance(name, str):
            g = Global(*normalize_global(module, name))
        else:
            self.flags.append("STACK_GLOBAL with a module or name computed at load time")
            g = Global("<computed>", "<computed>")
        self._use(g, "STACK_GLOBAL")
        return g

    def call(self, op, callee, args, i):
        if isinstance(callee, Global):
            for (m, n, _), u in self.uses.items():
                if (m, n) == (callee.module, callee.name):
                    u[1] = True
        elif isinstance(callee, _Call):
            self.flags.append(f"{op.name} calls the result of another call (a resolver chain)")
        return _Call(callee)

    def build(self, target, state, i):
        if isinstance(target, Global):
            self.flags.append(
                f"BUILD on the global {target.module}.{target.name} (overwrites a module or class attribute)"
            )
        return target

    def extension(self, op, code, i):
        self.flags.append(f"{op.name} opcode (extension registry lookup)")
        g = Global("<extension>", str(code))
        self._use(g, op.name)
        return g

    def sequence(self, op, items, mark, i):
        return ANY

    def extend(self, op, target, items, i):
        return ANY

    def persistent(self, op, pid, i):
        return ANY


def _agree(data: bytes) -> None:
    s = scan_stream(data, "s")
    w = ScanWalk(data)
    try:
        w.walk()
        walk_ok = w.stopped
    except ValueError:
        walk_ok = False
    assert {k: (u.count, u.called) for k, u in s.globals.items()} == {k: tuple(v) for k, v in w.uses.items()}
    assert s.flags == w.flags
    assert (s.error is None) == walk_ok


ATTACKS = [
    b"cos\nsystem\n(S'id'\ntR.",  # GLOBAL + REDUCE
    b"\x80\x04\x8c\x08builtins\x8c\x07getattr\x93\x8c\x08builtins\x8c\n__import__\x93\x8c\x02os\x85R"
    b"\x8c\x06system\x86R\x8c\x02id\x85R.",  # a resolver chain
    b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93.",  # STACK_GLOBAL through the memo
    b"\x80\x04K\x01\x8c\x06system\x93.",  # computed module
    b"cbuiltins\nobject\n}S'x'\nK\x01sb.",  # BUILD on a global
    b"\x80\x02\x82\x01.",  # EXT1
    b"(cos\nsystem\nS'id'\no.",  # OBJ
    b"(S'id'\nios\nsystem\n.",  # INST
]


@pytest.mark.parametrize("data", ATTACKS)
def test_scan_hooks_agree_with_pickle_scan_on_attacks(data):
    _agree(data)


def _corpus_pickles():
    for entry in json.loads((SECURITY / "manifest.json").read_text()):
        path = SECURITY / entry["file"]
        if not zipfile.is_zipfile(path):
            yield entry["file"], path.read_bytes()
    for path in list(SECURITY.rglob("*")) + sorted(REAL.glob("*")):
        if path.is_file() and zipfile.is_zipfile(path):
            try:
                z = zipfile.ZipFile(path)
                for name in z.namelist():
                    if name.endswith(".pkl"):
                        yield f"{path.name}:{name}", z.read(name)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError):
                continue


def test_scan_hooks_agree_with_pickle_scan_on_the_corpora():
    corpus_or_skip(SECURITY)
    corpus_or_skip(REAL)
    seen = 0
    for name, data in _corpus_pickles():
        try:
            _agree(data)
        except AssertionError as exc:
            raise AssertionError(name) from exc
        seen += 1
    assert seen >= 100

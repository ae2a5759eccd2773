"""Which key of one state_dict is which key of another.

Shared by the warm-start planner (ops/warmstart.py) and `ckpt diff`: exact keys first,
then a prefix rule - stripping or adding `module.` (DataParallel/DDP), `_orig_mod.`
(torch.compile) or `model.` (Lightning and friends) - when one explains the mismatch
better than none (docs/FACTS.md, Warm start). The rule is reported, never applied
silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..formats.tree import Node

AUTO_PREFIXES = ("module.", "_orig_mod.", "model.")


def rename(key: str, strip: list[str], add: list[str], regex: list[tuple[str, str]]) -> str:
    for p in strip:
        key = key.removeprefix(p)
    for pattern, repl in regex:
        key = re.sub(pattern, repl, key)
    for p in add:
        key = p + key
    return key


def flatten_state_dict(node: Node, follow_refs: bool = False) -> list[tuple[str, Node]] | None:
    """(key, tensor node) pairs of a state_dict (nested dicts join with dots), or of a whole
    pickled module flattened the way module.state_dict() names them; None when `node` is
    neither. With `follow_refs`, a key whose value is shared with another (tied weights)
    is listed too, as the tensor it refers to."""

    def tensor_of(c: Node) -> Node | None:
        if c.kind == "tensor":
            return c
        if follow_refs and c.kind == "ref" and c.ref is not None and c.ref.kind == "tensor":
            return c.ref
        return None

    if node.kind == "module":
        out = []
        stack = [(node, "")]
        while stack:
            mod, prefix = stack.pop()
            kids = []
            for c in mod.children:
                t = tensor_of(c)
                if t is not None:
                    out.append((prefix + c.name, t))
                elif c.kind == "module":
                    kids.append((c, f"{prefix}{c.name}."))
            stack.extend(reversed(kids))
        return out
    if node.kind != "dict":
        return None
    pairs = []
    for c in node.children:
        t = tensor_of(c)
        if t is not None:
            pairs.append((c.name, t))
        elif c.kind == "dict":
            pairs.extend((f"{c.name}.{k}", n) for k, n in flatten_state_dict(c, follow_refs))
    return pairs


@dataclass
class Rule:
    strip: list
    add: list
    explained: int  # keys of the source that land on a key of the target with the rule
    total: int  # keys of the target

    @property
    def empty(self) -> bool:
        return not (self.strip or self.add)

    def describe(self) -> str:
        what = f"strip {self.strip[0]!r}" if self.strip else f"add {self.add[0]!r}"
        return f"{what} (explains {self.explained} of {self.total} template keys)"

    def short(self) -> str:
        return f"strip {self.strip[0]!r}" if self.strip else f"add {self.add[0]!r}" if self.add else ""


def propose_rule(source_keys, target_keys) -> Rule:
    """The prefix rule (strip or add one of AUTO_PREFIXES on the source's keys) that maps
    the most source keys onto target keys; the empty rule unless one does strictly better."""
    target = set(target_keys)
    source = list(source_keys)

    def score(strip, add):
        return sum(1 for k in source if rename(k, strip, add, []) in target)

    best = Rule([], [], score([], []), len(target))
    for p in AUTO_PREFIXES:
        for strip, add in (([p], []), ([], [p])):
            s = score(strip, add)
            if s > best.explained:
                best = Rule(strip, add, s, len(target))
    return best

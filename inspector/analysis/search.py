"""Filtering the node tree as the user types, in Python (docs/FACTS.md: Qt's recursive filter is
far too slow at 100,000 nodes).

A query is whitespace-separated terms; `dtype:bf16`, `shape:4096` and `type:Parameter`
restrict by column, everything else matches the node's path (substring, case-insensitive,
or a regular expression). The result is the set of matching nodes plus their ancestors,
so the tree can show each match in place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..formats.stubs import TensorInfo
from ..formats.tree import Node

DTYPE_ALIASES = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32",
                 "float": "float32", "fp64": "float64", "double": "float64", "long": "int64",
                 "int": "int32", "fp8": "float8"}


@dataclass
class Query:
    text: list[str]
    dtype: str | None = None
    shape: str | None = None
    type: str | None = None
    regex: re.Pattern | None = None

    @property
    def empty(self) -> bool:
        return not (self.text or self.dtype or self.shape or self.type or self.regex)


def parse_query(query: str, regex: bool = False) -> Query:
    """Raises re.error for a bad regular expression (the GUI shows it, keeps the old filter)."""
    q = Query(text=[])
    rest = []
    for term in query.split():
        key, sep, value = term.partition(":")
        if sep and key.lower() in ("dtype", "shape", "type") and value:
            value = value.lower()
            if key.lower() == "dtype":
                value = DTYPE_ALIASES.get(value, value)
            setattr(q, key.lower(), value)
        else:
            rest.append(term)
    if regex and rest:
        q.regex = re.compile(" ".join(rest), re.IGNORECASE)
    else:
        q.text = [t.lower() for t in rest]
    return q


class SearchIndex:
    """Flat lists of every node's path and columns, built once per tree."""

    def __init__(self, root: Node):
        self.nodes: list[Node] = []
        self.paths: list[str] = []
        self.dtypes: list[str] = []
        self.shapes: list[str] = []
        self.types: list[str] = []
        stack = [(c, c.name) for c in reversed(root.children)]
        while stack:
            node, path = stack.pop()
            self.nodes.append(node)
            self.paths.append(path.lower())
            v = node.value
            if type(v) is TensorInfo:
                self.dtypes.append(v.dtype.name)
                self.shapes.append("(" + ", ".join(map(str, v.shape)) + ")")
            else:
                self.dtypes.append("")
                self.shapes.append("")
            self.types.append(node.type_name.lower())
            stack.extend((c, f"{path}/{c.name}") for c in reversed(node.children))

    def matches(self, q: Query) -> list[Node]:
        """Each condition narrows the candidate indexes with one list comprehension."""
        idx = range(len(self.paths))
        paths = self.paths
        if q.regex is not None:
            search = q.regex.search
            idx = [i for i in idx if search(paths[i])]
        for t in q.text:
            idx = [i for i in idx if t in paths[i]]
        for column, wanted in ((self.dtypes, q.dtype), (self.shapes, q.shape), (self.types, q.type)):
            if wanted:
                idx = [i for i in idx if wanted in column[i]]
        return [self.nodes[i] for i in idx]


def visible_set(matches: list[Node]) -> set[int]:
    """ids of the matching nodes and all their ancestors."""
    keep: set[int] = set()
    for node in matches:
        while node is not None and id(node) not in keep:
            keep.add(id(node))
            node = node.parent
    return keep


_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str):
    """'layer.2' sorts before 'layer.10'."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in _DIGITS.split(name) if p]

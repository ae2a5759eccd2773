"""Filtering the node tree as the user types, in Python (docs/FACTS.md: Qt's recursive filter is
far too slow at 100,000 nodes).

A query is whitespace-separated terms, all of which must hold (AND); `dtype:bf16`,
`shape:4096` and `type:Parameter` restrict by column, everything else matches the node's
path or the class of the node or of a module above it (`conv weight` finds the weights of
Conv2d layers), substring and case-insensitive, or the path by a regular expression.
Shapes are accepted as people type them: `shape:10,128`, `shape:(10, 128)`, `shape:10x128`
(that exact shape when written in parentheses, those dimensions in a row otherwise). The result is the set of matching nodes plus their ancestors,
so the tree can show each match in place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..formats.stubs import TensorInfo
from ..formats.tree import Node
from .dtype_names import DTYPE_ALIASES, SHORT_DTYPES

_DIM = re.compile(r"\d+")
# `shape:(10, 128)` and `shape:10, 128` / `shape:10 x 128` hold spaces: joined before splitting
_SHAPE_PARENS = re.compile(r"shape:\s*\(([^)]*)\)?", re.IGNORECASE)
_SHAPE_SPACED = re.compile(r"shape:\s*(\d+(?:\s*[,x×*]\s*\d+)+)", re.IGNORECASE)


@dataclass
class Query:
    text: list[str]
    dtype: str | None = None
    shape: tuple | None = None
    shape_exact: bool = False
    type: str | None = None
    regex: re.Pattern | None = None

    @property
    def empty(self) -> bool:
        return not (self.text or self.dtype or self.shape or self.type or self.regex)


def parse_query(query: str, regex: bool = False) -> Query:
    """Raises re.error for a bad regular expression (the GUI shows it, keeps the old filter)."""
    q = Query(text=[])
    rest = []
    query = _SHAPE_PARENS.sub(lambda m: "shape:=" + ",".join(_DIM.findall(m.group(1))), query)
    query = _SHAPE_SPACED.sub(lambda m: "shape:" + ",".join(_DIM.findall(m.group(1))), query)
    for term in query.split():
        key, sep, value = term.partition(":")
        if sep and key.lower() in ("dtype", "shape", "type") and value:
            value = value.lower()
            if key.lower() == "dtype":
                value = DTYPE_ALIASES.get(value, value)
            if key.lower() == "shape":
                q.shape_exact = value.startswith("=")
                dims = _DIM.findall(value)
                if not dims and value.strip("=() ") not in ("", "scalar"):
                    rest.append(term)  # not a shape: search it as text
                    continue
                value = tuple(int(d) for d in dims)
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
        self.shapes: list[tuple | None] = []
        self.types: list[str] = []
        self.classes: list[str] = []  # class names of the node and the modules above it
        stack = [(c, c.name, "") for c in reversed(root.children)]
        while stack:
            node, path, above = stack.pop()
            self.nodes.append(node)
            self.paths.append(path.lower())
            v = node.value
            if type(v) is TensorInfo:
                self.dtypes.append(v.dtype.name)
                self.shapes.append(tuple(v.shape))
            else:
                self.dtypes.append("")
                self.shapes.append(None)
            self.types.append(node.type_name.lower())
            if node.kind in ("module", "object"):
                above = f"{above} {node.type_name.rsplit('.', 1)[-1].lower()}"
            self.classes.append(above)
            stack.extend((c, f"{path}/{c.name}", above) for c in reversed(node.children))

    def matches(self, q: Query) -> list[Node]:
        """Each condition narrows the candidate indexes with one list comprehension."""
        idx = range(len(self.paths))
        paths = self.paths
        if q.regex is not None:
            search = q.regex.search
            idx = [i for i in idx if search(paths[i])]
        classes = self.classes
        for t in q.text:
            idx = [i for i in idx if t in paths[i] or t in classes[i]]
        for column, wanted in ((self.dtypes, q.dtype), (self.types, q.type)):
            if wanted:
                idx = [i for i in idx if wanted in column[i]]
        if q.shape is not None:
            shapes, want, exact = self.shapes, q.shape, q.shape_exact
            idx = [i for i in idx if shapes[i] is not None and shape_matches(shapes[i], want, exact)]
        return [self.nodes[i] for i in idx]

    def examples(self) -> list[str]:
        """Filter terms that find something in this tree (for the filter's placeholder)."""
        out = []
        words: dict[str, int] = {}
        dtypes: dict[str, int] = {}
        best_shape, best_numel, parameter, module = None, -1, False, None
        for node, path, dt, shape in zip(self.nodes, self.paths, self.dtypes, self.shapes):
            if shape is None:
                if node.kind == "module" and module is None:
                    module = node.type_name.rsplit(".", 1)[-1]
                continue
            word = re.split(r"[./]", path)[-1]
            if word.isidentifier():
                words[word] = words.get(word, 0) + 1
            dtypes[dt] = dtypes.get(dt, 0) + 1
            parameter = parameter or node.value.is_parameter
            n = 1
            for d in shape:
                n *= d
            if len(shape) >= 2 and n > best_numel:
                best_shape, best_numel = shape, n
        if words:
            out.append(max(words, key=words.get))
        if dtypes:
            dt = max(dtypes, key=dtypes.get)
            out.append("dtype:" + SHORT_DTYPES.get(dt, dt))
        if best_shape is not None:
            out.append("shape:" + ",".join(map(str, best_shape)))
        if parameter:
            out.append("type:Parameter")
        elif module:
            out.append("type:" + module)
        return out


def shape_matches(shape: tuple, want: tuple, exact: bool) -> bool:
    """`(10, 128)` exactly, or the dimensions `want` next to each other in the shape."""
    if exact:
        return tuple(shape) == want
    n = len(want)
    if n == 0:
        return len(shape) == 0
    return any(tuple(shape[i : i + n]) == want for i in range(len(shape) - n + 1))


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

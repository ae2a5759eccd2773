"""A layer as a person reads it: short class names, small tuples inline, and one line of
attributes on a module row (`3→16 · kernel 3×3 · stride 2 · padding 1`), as Netron shows
a node, instead of `0`/`1` rows under tuples."""

from __future__ import annotations

import re

from ..formats.tree import Node

_DOTTED = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")
INLINE_MAX = 8
LINE_MAX = 90

# (input, output) attribute pairs written as `a→b`
IN_OUT = (
    ("in_channels", "out_channels"),
    ("in_features", "out_features"),
    ("input_size", "hidden_size"),
    ("num_embeddings", "embedding_dim"),
    ("in1_features", "out_features"),
    ("embed_dim", "num_heads"),
)
# attributes whose torch default is not worth a word
DEFAULTS = {
    "dilation": 1,
    "groups": 1,
    "output_padding": 0,
    "padding_mode": "zeros",
    "transposed": False,
    "bias": True,
    "batch_first": False,
    "bidirectional": False,
    "num_layers": 1,
    "proj_size": 0,
    "inplace": False,
    "dropout": 0.0,
    "ceil_mode": False,
    "return_indices": False,
    "padding_idx": None,
    "max_norm": None,
    "norm_type": 2.0,
    "scale_grad_by_freq": False,
    "sparse": False,
    "affine": True,
    "track_running_stats": True,
    "elementwise_affine": True,
    "approximate": "none",
    "alpha": 1.0,
    "count_include_pad": True,
    "divisor_override": None,
    "start_dim": 1,
    "end_dim": -1,
    "mode": None,
}
SHORT = {
    "kernel_size": "kernel",
    "num_features": "features",
    "normalized_shape": "shape",
    "negative_slope": "slope",
    "output_size": "output",
}


def short_type(type_name: str) -> str:
    """`torch.nn.modules.conv.Conv2d` -> `Conv2d`; other names are kept."""
    return type_name.rsplit(".", 1)[-1] if _DOTTED.match(type_name or "") else type_name


def _primitive(node: Node):
    v = node.value
    if node.kind == "value" and isinstance(v, (bool, int, float, str)) or v is None and node.kind == "value":
        return True, v
    inline = inline_items(node)
    if inline is not None:
        return True, tuple(inline)
    return False, None


def inline_items(node: Node) -> list | None:
    """The numbers or strings of a small tuple/list of plain values, or None."""
    if node.kind not in ("tuple", "list") or not 0 < len(node.children) <= INLINE_MAX:
        return None
    out = []
    for c in node.children:
        if c.kind != "value" or not isinstance(c.value, (bool, int, float, str)):
            return None
        out.append(c.value)
    return out


def inline_text(node: Node) -> str | None:
    """`(3, 3)` for a tuple of plain values shown on its own row instead of 0/1 rows."""
    items = inline_items(node)
    if items is None:
        return None
    body = ", ".join(_fmt(v) for v in items)
    return (
        f"({body}{',' if len(items) == 1 and node.kind == 'tuple' else ''})"
        if node.kind == "tuple"
        else f"[{body}]"
    )


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, str):
        return repr(v)
    return str(v)


def _compact(v) -> str:
    if isinstance(v, tuple):
        if v and len(set(v)) == 1 and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
            return str(v[0])
        if all(isinstance(x, int) for x in v):
            return "×".join(str(x) for x in v)
        return "(" + ", ".join(_fmt(x) for x in v) + ")"
    return _fmt(v)


def layer_attributes(node: Node) -> dict:
    """A module's plain attributes (no internals, no `training`), in file order."""
    if node.kind != "module":
        return {}
    out = {}
    for c in node.children:
        if c.name.startswith("_") or c.name == "training":
            continue
        ok, v = _primitive(c)
        if ok:
            out[c.name] = v
    return out


def layer_line(node: Node) -> str:
    """`3→16 · kernel 3×3 · stride 2 · padding 1` for a Conv2d; '' when nothing to say."""
    attrs = layer_attributes(node)
    if not attrs:
        return ""
    parts, used = [], set()
    for a, b in IN_OUT:
        if a in attrs and b in attrs:
            parts.append(f"{_fmt(attrs[a])}→{_fmt(attrs[b])}")
            used.update((a, b))
            break
    for k, v in attrs.items():
        if k in used or (k in DEFAULTS and _same(v, DEFAULTS[k])):
            continue
        name = SHORT.get(k, k)
        if k == "kernel_size" and isinstance(v, tuple) and all(isinstance(x, int) for x in v):
            text = "×".join(str(x) for x in v)
        else:
            text = _compact(v)
        parts.append(f"{name} {text}")
    line = " · ".join(parts)
    return line if len(line) <= LINE_MAX else line[: LINE_MAX - 1] + "…"


def _same(v, default) -> bool:
    if isinstance(v, tuple):
        return len(set(v)) == 1 and v[0] == default and type(v[0]) is type(default)
    return v == default and type(v) is type(default)

"""How big Adam's next step is, layer by layer, relative to the weight.

For each parameter with `exp_avg` and `exp_avg_sq`: the update Adam would apply next,
lr * m_hat / (sqrt(v_hat) + eps) with the bias corrections m_hat = exp_avg / (1 - b1^t)
and v_hat = exp_avg_sq / (1 - b2^t) (t the saved `step`), compared with the weight as
RMS(update) / RMS(weight). Layers that barely train (ratio far below 1e-4) or explode
(above 1e-1) stand out when the table is sorted. Tensors are read in bounded chunks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..formats.stubs import TensorInfo
from .decode import CHUNK, decode, iter_raw_chunks


@dataclass
class UpdateRow:
    index: int
    name: str
    shape: tuple
    lr: float
    step: float
    weight_rms: float
    update_rms: float

    @property
    def ratio(self) -> float:
        return self.update_rms / self.weight_rms if self.weight_rms > 0 else math.inf

    def to_json(self) -> dict:
        return {
            "index": self.index,
            "name": self.name,
            "shape": list(self.shape),
            "lr": self.lr,
            "step": self.step,
            "weight_rms": self.weight_rms,
            "update_rms": self.update_rms,
            "ratio": self.ratio,
        }


def _number(ck, node) -> float | None:
    if node is None:
        return None
    v = node.value
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if type(v) is TensorInfo and v.numel == 1:
        return float(decode(np.asarray(ck.array(v)).reshape(-1), v.dtype)[0])
    return None


def _chunks(ck, t: TensorInfo):
    return iter_raw_chunks(ck.source(t), CHUNK)


def update_rows(ck, omap, cancelled=lambda: False, model=None) -> list[UpdateRow]:
    """`model`: the file the weights come from when it is not `ck` (a paired model file)."""
    rows = []
    wck = model if model is not None else ck
    for s in omap.slots:
        m, v, w = s.state.get("exp_avg"), s.state.get("exp_avg_sq"), s.param
        if m is None or v is None or w is None or type(m.value) is not TensorInfo:
            continue
        if cancelled():
            break
        hp = omap.groups[s.group] if s.group < len(omap.groups) else {}
        lr = float(hp.get("lr", 1e-3))
        b1, b2 = (hp.get("betas") or (0.9, 0.999))[:2]
        eps = float(hp.get("eps", 1e-8))
        t = _number(ck, s.state.get("step")) or 0.0
        c1 = 1 - b1**t if t > 0 else 1.0
        c2 = 1 - b2**t if t > 0 else 1.0
        wt, mt, vt = w.value, m.value, v.value
        if not (wt.numel == mt.numel == vt.numel) or wt.numel == 0:
            continue
        sum_w = sum_u = 0.0
        for rw, rm, rv in zip(_chunks(wck, wt), _chunks(ck, mt), _chunks(ck, vt)):
            xw = decode(rw, wt.dtype).astype(np.float64)
            xm = decode(rm, mt.dtype).astype(np.float64) / c1
            xv = decode(rv, vt.dtype).astype(np.float64) / c2
            u = lr * xm / (np.sqrt(np.maximum(xv, 0)) + eps)
            sum_w += float(np.dot(xw, xw))
            sum_u += float(np.dot(u, u))
        n = wt.numel
        rows.append(
            UpdateRow(
                s.index,
                s.name or f"index {s.index}",
                wt.shape,
                lr,
                t,
                math.sqrt(sum_w / n),
                math.sqrt(sum_u / n),
            )
        )
    return rows

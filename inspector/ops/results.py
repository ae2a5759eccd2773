"""What each operation hands back: typed results instead of dicts read by string keys.

Every result names the file it wrote (`output`, an absolute path) and turns into the JSON
that `ckpt … --json` prints with `to_json()` (the same keys, in the same order, as the
command line always printed).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


class Result:
    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Verified(Result):
    """The output was re-opened and compared with the input tensor by tensor."""

    tensors_checked: int
    cast: int
    devices: list[str]


@dataclass
class RemapResult(Result):
    output: str
    changes: dict[str, str]  # saved device tag -> new tag
    verified: Verified
    notes: list[str] = field(default_factory=list)


@dataclass
class StripPlan:
    """Which sub-tree holds the weights, and what stripping drops."""

    path: str
    state_key: str
    tensors: int
    bytes_before: int
    weights_bytes: int
    dropped: list[str]

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class StripResult(Result):
    output: str
    tensors: int
    size_before: int
    size_after: int
    dtype: str  # the cast dtype, or "unchanged"
    dropped: list[str]


@dataclass
class ExtractResult(Result):
    output: str
    extracted: str  # the tree path written
    size: int


@dataclass
class WarmstartResult(Result):
    output: str
    report: str  # path of the .warmstart.json report beside the output
    details: dict  # the matching report (MatchPlan.report())
    python: str  # code that loads the output into a model built like the template

    def to_json(self) -> dict:
        return {"output": self.output, "report": self.report, **self.details, "python": self.python}


@dataclass
class ExportResult(Result):
    """TorchScript or torch.export (.pt2)."""

    output: str
    kind: str
    model: str | None
    eval_mode: bool
    max_abs_difference: float | None  # eager vs exported on a random input
    traced: bool
    note: str | None = None


@dataclass
class SafetensorsResult(Result):
    output: str
    tensors: int
    tied: dict = field(default_factory=dict)  # tensors sharing storage, recorded in metadata
    metadata: dict = field(default_factory=dict)

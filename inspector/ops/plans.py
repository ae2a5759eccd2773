"""What the user asks an operation for, typed: the Convert dialogs return these, `ckpt`
builds the same ones from its arguments, and each has one job function that runs it.

`run_*(options, progress)` is what the window hands to its background runner and what the
command line calls; each returns the operation's typed result (ops/results.py). The ops
modules are imported when a job runs, so importing this module stays cheap (no torch).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .results import ExportResult, RemapResult, SafetensorsResult, StripResult, WarmstartResult
from .writer import Progress


@dataclass
class RemapOptions:
    path: str
    output: str
    rules: list[tuple[str, str]] = field(default_factory=list)  # (saved tag or pattern, new tag)
    to: str | None = None  # every storage to this device (when there are no rules)
    cast: str | None = None  # bf16/fp16: cast float32 storages too
    force: bool = False  # replace an existing output


@dataclass
class StripOptions:
    path: str
    output: str
    state_key: str | None = None  # None: the weights the layout recognises
    dtype: str | None = None  # bf16/fp16, None keeps dtypes
    force: bool = False


@dataclass
class WarmstartOptions:
    source: str
    template: str
    output: str | None = None
    strip_prefix: list[str] = field(default_factory=list)
    add_prefix: list[str] = field(default_factory=list)
    renames: list[str] = field(default_factory=list)  # REGEX=REPL
    source_key: str | None = None
    template_key: str | None = None
    force: bool = False


@dataclass
class ExportOptions:
    kind: str  # torchscript, pt2 or safetensors
    path: str
    output: str
    model: str | None = None  # MODULE:CLASS
    kwargs: str | None = None  # JSON
    example_input: str | None = None  # SHAPE
    trace: bool = False
    state_key: str | None = None
    search: list[str] | None = None  # folders to import MODULE from
    trust_pickled: bool = False  # build from the model pickled in the file (runs its code)
    force: bool = False


def run_remap(o: RemapOptions, progress: Progress | None = None) -> RemapResult:
    from .remap import apply_remap, plan_remap

    plan = plan_remap(o.path, to=o.to, rules=o.rules, cast=o.cast)
    return apply_remap(plan, o.output, o.force, progress)


def run_strip(o: StripOptions, progress: Progress | None = None) -> StripResult:
    from .strip import apply_strip, plan_strip

    return apply_strip(plan_strip(o.path, o.state_key), o.output, o.dtype, o.force, progress)


def plan_warmstart_for(o: WarmstartOptions):
    from .warmstart import plan_warmstart

    return plan_warmstart(
        o.source, o.template, o.strip_prefix, o.add_prefix, o.renames, o.source_key, o.template_key
    )


def run_warmstart(o: WarmstartOptions, progress: Progress | None = None) -> WarmstartResult:
    from .warmstart import apply_warmstart

    return apply_warmstart(plan_warmstart_for(o), o.output, o.force, progress)


def run_export(o: ExportOptions, progress: Progress | None = None) -> ExportResult | SafetensorsResult:
    if o.kind == "safetensors":
        from .safetensors_export import export_safetensors

        return export_safetensors(o.path, o.output, o.state_key, o.force, progress)
    from .export_model import export

    return export(
        o.kind,
        o.path,
        o.output,
        o.model,
        o.kwargs,
        o.example_input,
        o.trace,
        o.state_key,
        o.force,
        o.search,
        o.trust_pickled,
    )

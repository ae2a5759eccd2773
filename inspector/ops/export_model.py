"""Export TorchScript or torch.export (.pt2) from a model class the user names.

Both need code from the user: the class is imported from `MODULE:CLASS` (the user's own
package), built with `--kwargs`, given the checkpoint's weights (read by our reader, not
by torch.load), switched to eval mode, then scripted or traced (TorchScript) or exported
(torch.export). The output is saved atomically, loaded back - our own file, just written
- and the largest difference between the eager and the exported outputs on a random
input is reported. torch.jit is deprecated in this torch; torch.export is the way ahead.
"""

from __future__ import annotations

import collections
import importlib
import json
import os
import sys
import warnings

from ..formats import open_checkpoint
from .errors import OpError
from .objects import state_dict_of
from .results import ExportResult
from .torch_bridge import to_torch
from .writer import atomic_output


def load_class(spec: str, search: list[str] | None = None):
    module, sep, name = spec.partition(":")
    if not sep or not module or not name:
        raise OpError(f"--model wants MODULE:CLASS (e.g. mypkg.models:Net), got {spec!r}")
    for folder in search or []:
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # the user's module: any error is theirs, said in one line
        raise OpError(f"cannot import {module}: {type(exc).__name__}: {exc}") from None
    cls = getattr(mod, name, None)
    if cls is None:
        raise OpError(f"{module} has no {name}")
    return cls


def parse_shape(text: str | None) -> tuple | None:
    if not text:
        return None
    try:
        return tuple(int(x) for x in text.replace("x", ",").split(",") if x.strip())
    except ValueError:
        raise OpError(f"--example-input wants a shape like 1,3,224,224, got {text!r}") from None


def build_model(path: str, spec: str, kwargs: str | None, state_key: str | None, search=None):
    import torch

    try:
        kw = json.loads(kwargs) if kwargs else {}
    except ValueError as exc:
        raise OpError(f"--kwargs is not valid JSON ({exc})") from None
    cls = load_class(spec, search)
    try:
        model = cls(**kw)
    except Exception as exc:
        raise OpError(f"{spec}(**kwargs) failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(model, torch.nn.Module):
        raise OpError(f"{spec} is not a torch.nn.Module")
    ck = open_checkpoint(path)
    try:
        key = state_key
        if key is None:
            from ..analysis.layouts import recognise

            key = recognise(ck).weights
        node = ck.find(key or "") if key is not None else None
        if node is None:
            raise OpError("no state_dict recognised; name it with --state-key PATH")
        pairs = state_dict_of(ck, node)
        tensors = to_torch(ck, [n.value for _, n in pairs])
        sd = collections.OrderedDict((k, tensors[id(n.value)].clone()) for k, n in pairs)
    finally:
        ck.close()
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()
        raise OpError(f"the weights do not fit {spec}: {' '.join(first[1:3]) or first[0]}"[:300]) from None
    return model.eval()


def modules_to_import(path: str) -> list[str]:
    """What loading the file for real would import (shown before the user trusts it)."""
    from ..analysis.verdict import scan_file

    return scan_file(path).modules


def trusted_model(path: str, search: list[str] | None = None):
    """The whole nn.Module pickled in the file, loaded for real - only because the user
    chose to trust this file for this export, and only when we parsed every stream the
    loader reads to the end and list exactly what it imports: a dangerous, unverified or
    unreadable file is never loaded, trusted or not."""
    import torch

    from ..analysis.verdict import scan_file

    verdict = scan_file(path)
    if not verdict.trustable:
        raise OpError(
            f"the file cannot be trusted: {verdict.summary}; it is not loaded, "
            "trusted or not (only a fully parsed file whose imports we list exactly "
            "may be loaded on your word)"
        )
    for folder in search or []:
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        obj = torch.load(path, weights_only=False, map_location="cpu")  # the user trusted it
    except Exception as exc:
        raise OpError(
            f"loading the pickled model failed: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        ) from None
    if not isinstance(obj, torch.nn.Module):
        raise OpError(f"the file holds a {type(obj).__name__}, not a whole pickled nn.Module")
    return obj.eval()


def export(
    kind: str,
    path: str,
    output: str,
    spec: str | None,
    kwargs: str | None = None,
    example_input: str | None = None,
    trace: bool = False,
    state_key: str | None = None,
    force: bool = False,
    search: list[str] | None = None,
    trust_pickled: bool = False,
) -> ExportResult:
    import torch

    if trust_pickled:
        model = trusted_model(path, search)
        spec = "the model pickled in the file"
    else:
        model = build_model(path, spec, kwargs, state_key, search)
    shape = parse_shape(example_input)
    if shape is None and (kind == "pt2" or trace):
        raise OpError("--example-input SHAPE is needed to trace or export")
    example = torch.randn(*shape) if shape else None
    with atomic_output(output, [path], force) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if kind == "torchscript":
                    sm = torch.jit.trace(model, example) if trace else torch.jit.script(model)
                    torch.jit.save(sm, tmp)
                    loaded = torch.jit.load(tmp)  # the file we just wrote from the user's code
                else:
                    ep = torch.export.export(model, (example,))
                    torch.export.save(ep, tmp)
                    loaded = torch.export.load(tmp).module()  # our own output
            except OpError:
                raise
            except Exception as exc:
                raise OpError(
                    f"{'tracing' if trace else kind} failed: {type(exc).__name__}: "
                    f"{' '.join(str(exc).split())[:240]}"
                ) from None
        diff = None
        if example is not None:
            with torch.no_grad():
                a, b = model(example), loaded(example)
            diff = float((a - b).abs().max()) if isinstance(a, torch.Tensor) else None
    return ExportResult(
        os.path.abspath(output),
        kind,
        spec,
        True,
        diff,
        trace,
        "torch.jit is deprecated in this torch; prefer torch.export (.pt2)"
        if kind == "torchscript"
        else None,
    )

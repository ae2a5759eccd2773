"""Registering a checkpoint: the file goes into a new run's artifacts, the facts we read
from it (format, parameter count, dtype mix, epoch/step/metrics, security verdict) become
that run's params, tags and metrics, and a model version points at it.

docs/FACTS.md (MLflow): plain artifacts are registered with create_registered_model +
create_model_version(source=<run artifact URI>/checkpoint, run_id=...). Nothing is
written before the file has been read and judged; a failure part-way removes what was
created (the run is deleted, a model created for this version too).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..present import human_count
from . import RegistryError
from .store import Store, errors

ARTIFACT_DIR = "checkpoint"
_NAME = re.compile(r"^[^/@:'\"\\\x00-\x1f]{1,200}$")


class DangerousFile(RegistryError):
    """The file would run code if loaded; registering it needs --force."""


def parameter_count(ck, summary: dict, training: dict) -> int:
    """Elements of the model's weights: the recognised weights sub-tree if any, else the
    tensors saved as nn.Parameter, else every tensor."""
    w = training.get("weights")
    if w is not None:
        node = ck.find(w) if w else ck.root
        if node is not None:
            seen, n = set(), 0
            for x in node.walk():
                if x.kind == "tensor" and id(x.value) not in seen:
                    seen.add(id(x.value))
                    n += x.value.numel
            if n:
                return n
    return summary["parameter_count"] or summary["numel_total"]


def checkpoint_facts(ck, summary: dict, training: dict, verdict) -> dict:
    """What we record beside the version (all strings or numbers)."""
    facts = {
        "format": summary["format"],
        "file_size": summary["file_size"],
        "parameter_count": parameter_count(ck, summary, training),
        "tensor_count": summary["tensor_count"],
        "dtypes": ", ".join(f"{k} {human_count(v)}" for k, v in summary["dtypes"].items()),
        "layout": training.get("name"),
        "verdict": verdict.verdict,
    }
    for k in ("epoch", "step"):
        if isinstance(training.get(k), (int, float)) and not isinstance(training.get(k), bool):
            facts[k] = training[k]
    metrics = {
        _key(k): v
        for k, v in (training.get("metrics") or {}).items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v
    }
    if metrics:
        facts["metrics"] = metrics
    return facts


def _key(name) -> str:
    """A name MLflow accepts for a param or metric (letters, digits, _ - . space /)."""
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", str(name))[:200] or "_"


def read_facts(path: str):
    """(facts, verdict) of a file on disk (its inspection), or the reader's one-line error."""
    from ..analysis.inspection import inspect
    from ..formats.errors import CheckpointError

    found = inspect(path)
    if found.read_error is not None:
        raise CheckpointError(found.read_error)
    try:
        return checkpoint_facts(found.checkpoint, found.summary, found.training, found.verdict), found.verdict
    finally:
        found.checkpoint.close()


def parse_tags(items) -> dict:
    tags = {}
    for item in items or []:
        k, sep, v = item.partition("=")
        if not sep or not k.strip():
            raise RegistryError(f"tag {item!r}: write KEY=VALUE")
        tags[k.strip()] = v.strip()
    return tags


@dataclass
class RegisterOptions:
    """What Register in Registry… asks for (gui/dialogs/register_dialog.py)."""

    name: str
    tags: dict
    description: str | None = None
    alias: str | None = None
    force: bool = False  # register even when the file's verdict is dangerous
    tracking_uri: str | None = None
    facts: dict | None = None  # what the window already read from the file


def register_checkpoint(
    path: str,
    name: str,
    tags: dict | None = None,
    description: str | None = None,
    alias: str | None = None,
    force: bool = False,
    tracking: str | None = None,
    facts: dict | None = None,
) -> dict:
    path = os.path.abspath(path)
    facts = _checked(path, name, alias, force, facts)
    store = Store(tracking)
    c = store.client
    created: dict = {}
    try:
        with errors(store):
            run = _log_run(c, store.experiment_id(), path, facts)
            created["run"] = run_id = run.info.run_id
            try:
                c.get_registered_model(name)
            except Exception as exc:
                if getattr(exc, "error_code", None) != "RESOURCE_DOES_NOT_EXIST":
                    raise
                c.create_registered_model(name)
                created["model"] = name
            mv = c.create_model_version(
                name,
                source=f"{run.info.artifact_uri}/{ARTIFACT_DIR}",
                run_id=run_id,
                tags=tags or {},
                description=description or None,
            )
            created["version"] = mv.version
            if alias:
                c.set_registered_model_alias(name, alias, mv.version)
    except BaseException:
        _undo(store, created, name)
        raise
    return {
        "uri": f"models:/{name}/{mv.version}",
        "name": name,
        "version": str(mv.version),
        "run_id": run_id,
        "alias": alias,
        "tags": tags or {},
        "tracking_uri": store.uri,
        "source": mv.source,
        "facts": facts,
    }


def _checked(path: str, name: str, alias: str | None, force: bool, facts: dict | None) -> dict:
    """The file's facts once the name, the alias and the file itself pass: nothing is
    written before the file has been read and judged (a dangerous one needs `force`)."""
    if not _NAME.match(name or ""):
        raise RegistryError(f"model name {name!r}: use 1-200 characters without / @ : or quotes")
    if alias is not None and (
        not re.match(r"^[A-Za-z0-9_-]{1,255}$", alias) or alias == "latest" or re.match(r"^v\d+$", alias)
    ):
        raise RegistryError(f"alias {alias!r}: letters, digits, '_' and '-' only (not 'latest' or v<N>)")
    if not os.path.exists(path):
        raise RegistryError(f"{path}: no such file")
    if facts is None:
        from ..formats.errors import CheckpointError

        try:
            facts, _verdict = read_facts(path)
        except RegistryError:
            raise
        except CheckpointError as exc:
            raise RegistryError(f"{path}: {exc}; not registered") from None
    if facts["verdict"] == "dangerous" and not force:
        raise DangerousFile(
            f"{os.path.basename(path)} is dangerous (it would run code if loaded); "
            "not registered (--force registers it anyway)"
        )
    return facts


def _log_run(c, experiment_id: str, path: str, facts: dict):
    """A finished run holding the file as its artifact and the facts as params and metrics."""
    run = c.create_run(
        experiment_id,
        run_name=f"register {os.path.basename(path)}",
        tags={
            "ckpt.source_file": path,
            "ckpt.verdict": facts["verdict"],
            "mlflow.source.name": "checkpoint-inspector",
        },
    )
    run_id = run.info.run_id
    for k, v in facts.items():
        if k != "metrics":
            c.log_param(run_id, f"ckpt.{k}", v)
    for k, v in facts.get("metrics", {}).items():  # the loss as a fact too, not only a metric
        if "loss" in k.lower():
            c.log_param(run_id, f"ckpt.{k}", v)
    step = int(facts.get("step") or facts.get("epoch") or 0)
    for k, v in facts.get("metrics", {}).items():
        c.log_metric(run_id, k, float(v), step=step)
    if os.path.isdir(path):
        c.log_artifacts(run_id, path, f"{ARTIFACT_DIR}/{os.path.basename(path)}")
    else:
        c.log_artifact(run_id, path, ARTIFACT_DIR)
    c.set_terminated(run_id)
    return run


def _undo(store: Store, created: dict, name: str) -> None:
    """Remove what a failed registration created (MLflow only soft-deletes runs: the run's
    local artifact folder goes too)."""
    c = store.client
    artifacts = None
    if "run" in created:
        try:
            uri = c.get_run(created["run"]).info.artifact_uri
            if uri.startswith("file://"):
                from urllib.parse import unquote, urlparse

                artifacts = os.path.dirname(unquote(urlparse(uri).path))
        except Exception:
            pass
    for step in (
        lambda: "version" in created and c.delete_model_version(name, created["version"]),
        lambda: "model" in created and c.delete_registered_model(name),
        lambda: "run" in created and c.delete_run(created["run"]),
    ):
        try:
            step()
        except Exception:
            pass
    if artifacts and os.path.isdir(artifacts) and os.path.basename(artifacts) == created["run"]:
        import shutil

        shutil.rmtree(artifacts, ignore_errors=True)

"""`models:/…` and `runs:/…` -> a local path: the one place registry URIs are resolved.

`resolve_uri` is what every file argument goes through (`ckpt` commands via
`resolve_args`, the window's loader via `gui/registry_actions.py`); a local path comes
back unchanged without importing MLflow. A version is downloaded once into a cache keyed
by the store and the version (an alias or `latest` is resolved to its version number
first), next to an `origin.json` saying where it came from; the folder appears by rename
when complete, so a cancelled or failed download leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import sys
import tempfile
import threading
import time
from urllib.parse import quote

from . import RegistryError, is_registry_uri
from .store import Store, errors

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".tar", ".ckpt", ".bin", ".pkl", ".ptl", ".pt2", ".safetensors")
_MODEL = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<ref>[^/]+))(?:/(?P<sub>.+))?$")
_RUN = re.compile(r"^runs:/(?P<run>[0-9A-Za-z_-]+)(?:/(?P<path>.*))?$")
SKIP_ARGS = ("output", "tracking_uri", "registry_tracking_uri")  # never downloaded


def cache_root() -> str:
    env = os.environ.get("CHECKPOINT_INSPECTOR_CACHE")
    if env:
        return env
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return os.path.join(base, "checkpoint-inspector", "registry")
    from .store import data_dir

    return os.path.join(data_dir(), "cache", "registry")


def parse(uri: str) -> dict:
    m = _MODEL.match(uri)
    if m:
        ref = "@" + m["alias"] if m["alias"] else m["ref"]
        if not (ref.startswith("@") or ref.isdigit() or ref == "latest"):
            raise RegistryError(
                f"{uri}: after the model name comes a version number, 'latest' "
                f"or @alias (models:/NAME/3, models:/NAME/latest, models:/NAME@prod)"
            )
        return {"kind": "models", "name": m["name"], "ref": ref, "sub": (m["sub"] or "").strip("/")}
    m = _RUN.match(uri)
    if m:
        return {"kind": "runs", "run_id": m["run"], "path": (m["path"] or "").strip("/")}
    raise RegistryError(
        f"{uri}: not a registry URI (models:/NAME/VERSION, models:/NAME@ALIAS, "
        f"models:/NAME/latest or runs:/RUN_ID/PATH)"
    )


def model_version(store: Store, name: str, ref: str):
    """The ModelVersion a reference names (number, 'latest' or @alias), or a one-line error."""
    c = store.client
    with errors(store, f"model {name!r}"):
        model = c.get_registered_model(name)
    if ref.startswith("@"):
        if ref[1:] not in (model.aliases or {}):
            known = ", ".join("@" + a for a in sorted(model.aliases or {})) or "none"
            raise RegistryError(f"model {name!r} has no alias {ref} in {store.label} (aliases: {known})")
        with errors(store, f"alias {ref} of model {name!r}"):
            return c.get_model_version_by_alias(name, ref[1:])
    if ref == "latest":
        with errors(store):
            versions = c.search_model_versions("name='{}'".format(name.replace("'", "\\'")))
        if not versions:
            raise RegistryError(f"model {name!r} has no versions in {store.label}")
        return max(versions, key=lambda v: int(v.version))
    with errors(store, f"version {ref} of model {name!r}"):
        return c.get_model_version(name, ref)


def _key_dir(store: Store, *parts: str) -> str:
    h = hashlib.sha1(store.uri.encode()).hexdigest()[:12]
    return os.path.join(cache_root(), h, *[quote(p, safe="") or "_" for p in parts])


def _dir_size(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def _listed_size(store: Store, uri: str) -> int:
    """Bytes to download, as the store lists them (0 when it cannot say)."""
    from mlflow import artifacts

    def walk(u: str, depth: int = 0) -> int:
        total = 0
        for fi in artifacts.list_artifacts(artifact_uri=u, tracking_uri=store.uri):
            name = fi.path.rsplit("/", 1)[-1]
            total += walk(f"{u}/{name}", depth + 1) if fi.is_dir and depth < 8 else (fi.file_size or 0)
        return total

    try:
        total = walk(uri)
        if total == 0:  # the URI names one file: list its folder
            parent, name = uri.rsplit("/", 1)
            total = sum(
                fi.file_size or 0
                for fi in artifacts.list_artifacts(artifact_uri=parent, tracking_uri=store.uri)
                if fi.path.rsplit("/", 1)[-1] == name
            )
        return total
    except Exception:
        return 0


def _download(store: Store, uri: str, dst: str, progress=None) -> str:
    from mlflow import artifacts

    def fetch():
        with errors(store):
            return artifacts.download_artifacts(artifact_uri=uri, dst_path=dst, tracking_uri=store.uri)

    if progress is None:
        return fetch()
    from ..ops.errors import OpCancelled

    progress.total = _listed_size(store, uri)
    box: dict = {}

    def work():
        try:
            box["path"] = fetch()
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc
        if box.get("abandoned"):
            shutil.rmtree(os.path.dirname(dst), ignore_errors=True)

    t = threading.Thread(target=work, daemon=True, name="registry-download")
    t.start()
    while t.is_alive():
        t.join(0.1)
        progress.done = _dir_size(dst)
        if progress.cancelled:
            box["abandoned"] = True  # the download cannot be interrupted; its thread cleans up
            raise OpCancelled()
    if "error" in box:
        raise box["error"]
    return box["path"]


def pick_checkpoint(root: str, uri: str) -> str:
    """The checkpoint inside a downloaded version: the file itself, a checkpoint folder, the
    only file, or the only file named like a checkpoint."""
    from ..formats import folder_is_checkpoint

    if os.path.isfile(root) or folder_is_checkpoint(root):
        return root
    files = sorted(os.path.relpath(os.path.join(r, f), root) for r, _d, fs in os.walk(root) for f in fs)
    if not files:
        raise RegistryError(f"{uri}: the version holds no files")
    if len(files) == 1:
        return os.path.join(root, files[0])
    folders = sorted({os.path.dirname(f) for f in files if os.path.dirname(f)})
    ck_folders = [d for d in folders if folder_is_checkpoint(os.path.join(root, d))]
    ck_folders = [d for d in ck_folders if not any(d.startswith(o + os.sep) for o in ck_folders)]
    inside = tuple(d + os.sep for d in ck_folders)  # the shards of a shard index are not choices
    cands = [os.path.join(root, d) for d in ck_folders]
    cands += [
        os.path.join(root, f)
        for f in files
        if f.lower().endswith(CHECKPOINT_SUFFIXES) and not (inside and f.startswith(inside))
    ]
    if len(cands) == 1:
        return cands[0]
    shown = ", ".join(f.replace(os.sep, "/") for f in files[:6])
    if len(files) > 6:
        shown += f", … {len(files) - 6} more"
    raise RegistryError(f"{uri} holds {len(files)} files ({shown}): name one, {uri.rstrip('/')}/PATH")


def _check_is_checkpoint(path: str, uri: str) -> None:
    if os.path.isdir(path):
        return
    from ..formats.detect import sniff
    from ..formats.errors import CheckpointError

    try:
        sniff(path)
    except CheckpointError as exc:
        raise RegistryError(
            f"{uri}: the artifact {os.path.basename(path)} is not a checkpoint: {exc}"
        ) from None


def _write_json(path: str, data: dict) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1, default=str)
    os.replace(tmp, path)


def resolve_uri(arg: str, tracking: str | None = None, progress=None) -> str:
    """A local path for `arg`: itself unless it is a registry URI, else the cached download
    (made now if needed). `progress` (ops.writer.Progress) gets bytes and may cancel."""
    if not is_registry_uri(arg):
        return arg
    p = parse(arg)
    store = Store(tracking)
    if p["kind"] == "models":
        mv = model_version(store, p["name"], p["ref"])
        with errors(store, f"version {mv.version} of model {p['name']!r}"):
            source = store.client.get_model_version_download_uri(p["name"], mv.version)
        key = _key_dir(store, "models", p["name"], str(mv.version), p["sub"])
        with errors(store):
            aliases = store.client.get_registered_model(p["name"]).aliases or {}
        origin = {
            "model": p["name"],
            "version": str(mv.version),
            "aliases": sorted(a for a, v in aliases.items() if str(v) == str(mv.version)),
            "run_id": mv.run_id,
            "tags": dict(mv.tags or {}),
            "description": mv.description,
        }
    else:
        with errors(store, f"run {p['run_id']}"):
            run = store.client.get_run(p["run_id"])
        source = run.info.artifact_uri
        key = _key_dir(store, "runs", p["run_id"], p["path"])
        origin = {"run_id": p["run_id"], "run_name": run.info.run_name, "path": p["path"]}
    src = posixpath.join(source, p.get("sub") or p.get("path") or "").rstrip("/") or source
    origin.update({"uri": arg, "tracking_uri": store.uri, "source": src})
    files = os.path.join(key, "files")
    if not os.path.isfile(os.path.join(key, "origin.json")):
        os.makedirs(os.path.dirname(key), exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".download-", dir=os.path.dirname(key))
        try:
            got = _download(store, src, os.path.join(tmp, "files"), progress)
            if not os.path.exists(got) or (os.path.isdir(got) and not os.listdir(got)):
                raise RegistryError(f"{arg}: no artifacts found at {src}")
            origin["local"] = os.path.relpath(got, os.path.join(tmp, "files"))
            origin["downloaded"] = time.strftime("%Y-%m-%d %H:%M:%S")
            _write_json(os.path.join(tmp, "origin.json"), origin)
            try:
                os.rename(tmp, key)
            except OSError:  # someone else finished the same download first
                if not os.path.isfile(os.path.join(key, "origin.json")):
                    raise
        finally:  # failed, or another process finished first (a cancelled download's thread cleans up)
            if os.path.isdir(tmp) and not (progress is not None and progress.cancelled):
                shutil.rmtree(tmp, ignore_errors=True)
    else:  # reused: aliases and tags may have moved since; the bytes of a version do not
        with open(os.path.join(key, "origin.json")) as fh:
            old = json.load(fh)
        origin["local"], origin["downloaded"] = old.get("local", "."), old.get("downloaded")
        _write_json(os.path.join(key, "origin.json"), origin)
    path = pick_checkpoint(os.path.normpath(os.path.join(files, origin["local"])), arg)
    _check_is_checkpoint(path, arg)
    return path


def origin_of(path: str) -> dict | None:
    """Where a file opened from a registry came from (None for any other file)."""
    try:
        root = os.path.abspath(cache_root())
        here = os.path.abspath(path)
        if not here.startswith(root + os.sep):
            return None
        while here.startswith(root + os.sep):
            o = os.path.join(here, "origin.json")
            if os.path.isfile(o):
                with open(o) as fh:
                    return json.load(fh)
            here = os.path.dirname(here)
    except (OSError, ValueError):
        return None
    return None


def resolve_args(args, tracking: str | None = None):
    """Every registry URI among a parsed command line's values (a file argument of any
    command, present or future) replaced by its local download; outputs are left alone."""
    for k, v in vars(args).items():
        if k in SKIP_ARGS:
            continue
        if is_registry_uri(v):
            setattr(args, k, resolve_uri(v, tracking))
        elif isinstance(v, list) and any(is_registry_uri(x) for x in v):
            setattr(args, k, [resolve_uri(x, tracking) if is_registry_uri(x) else x for x in v])
    return args

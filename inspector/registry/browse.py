"""What a registry holds, as plain dicts: models, their versions (with the run's metrics
and the facts recorded at registration), and a version's artifact files."""

from __future__ import annotations

from .store import Store, errors


def _ms(ts) -> str | None:
    if not ts:
        return None
    import datetime

    return datetime.datetime.fromtimestamp(ts / 1000).strftime("%Y-%m-%d %H:%M")


def _versions(store: Store, name: str) -> list:
    with errors(store, f"model {name!r}"):
        store.client.get_registered_model(name)
        out = store.client.search_model_versions("name='{}'".format(name.replace("'", "\\'")))
    return sorted(out, key=lambda v: -int(v.version))


def list_models(store: Store) -> list[dict]:
    with errors(store):
        models = list(store.client.search_registered_models(max_results=1000))
    out = []
    for m in sorted(models, key=lambda m: m.name.lower()):
        latest = max((int(v.version) for v in (m.latest_versions or [])), default=None)
        out.append(
            {
                "name": m.name,
                "latest_version": str(latest) if latest is not None else None,
                "aliases": dict(m.aliases or {}),
                "tags": dict(m.tags or {}),
                "description": m.description or "",
                "updated": _ms(m.last_updated_timestamp),
            }
        )
    return out


def list_versions(store: Store, name: str) -> list[dict]:
    out = []
    versions = _versions(store, name)
    with errors(store):  # search results carry no aliases; the model has them
        aliases = store.client.get_registered_model(name).aliases or {}
    for v in versions:
        metrics, params, run_name = {}, {}, None
        if v.run_id:
            try:
                with errors(store):
                    run = store.client.get_run(v.run_id)
                metrics, params, run_name = dict(run.data.metrics), dict(run.data.params), run.info.run_name
            except Exception:  # a deleted run or one in another store: the version still lists
                pass
        out.append(
            {
                "name": name,
                "version": str(v.version),
                "uri": f"models:/{name}/{v.version}",
                "run_id": v.run_id,
                "run_name": run_name,
                "stage": v.current_stage,
                "aliases": sorted(a for a, n in aliases.items() if str(n) == str(v.version)),
                "tags": dict(v.tags or {}),
                "description": v.description or "",
                "status": v.status,
                "source": v.source,
                "created": _ms(v.creation_timestamp),
                "metrics": metrics,
                "facts": {k[5:]: val for k, val in params.items() if k.startswith("ckpt.")},
            }
        )
    return out


def list_files(store: Store, name: str, version: str) -> list[dict]:
    """Every artifact file of a version, with its path relative to the version and size."""
    from mlflow import artifacts

    with errors(store, f"version {version} of model {name!r}"):
        source = store.client.get_model_version_download_uri(name, version)
    out: list[dict] = []

    def walk(uri: str, rel: str, depth: int) -> None:
        for fi in artifacts.list_artifacts(artifact_uri=uri, tracking_uri=store.uri):
            base = fi.path.rsplit("/", 1)[-1]
            path = f"{rel}/{base}" if rel else base
            if fi.is_dir:
                if depth < 8:
                    walk(f"{uri}/{base}", path, depth + 1)
            else:
                out.append(
                    {"path": path, "size": fi.file_size or 0, "uri": f"models:/{name}/{version}/{path}"}
                )

    with errors(store):
        walk(source, "", 0)
        if not out:  # a source that names one file lists as nothing: list its folder
            parent, base = source.rstrip("/").rsplit("/", 1)
            listed = artifacts.list_artifacts(artifact_uri=parent, tracking_uri=store.uri)
            out += [
                {"path": base, "size": fi.file_size or 0, "uri": f"models:/{name}/{version}"}
                for fi in listed
                if fi.path.rsplit("/", 1)[-1] == base and not fi.is_dir
            ]
    return out

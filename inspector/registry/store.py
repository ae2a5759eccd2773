"""Where the registry lives and how we talk to it: the MLflow client, nothing hand-written.

Tracking URI: `--tracking-uri` (or the window's setting), else `MLFLOW_TRACKING_URI`, else
an embedded SQLite store in the user's data folder (`sqlite:///…/mlflow.db`, artifacts
beside it in `artifacts/`) that needs no server (docs/FACTS.md, MLflow). Any other
tracking URI MLflow understands (`http(s)://` servers, `databricks`, SageMaker's and
Azure ML's MLflow endpoints) goes through the same code.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from urllib.parse import unquote, urlparse

from . import INSTALL_HINT, RegistryError

EXPERIMENT = "checkpoint-inspector"
# An unreachable server should fail in seconds, not after MLflow's default 7 retries with
# exponential back-off; users who set these themselves keep their values.
_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}


def data_dir() -> str:
    """The application's data folder (CHECKPOINT_INSPECTOR_DATA overrides it)."""
    env = os.environ.get("CHECKPOINT_INSPECTOR_DATA")
    if env:
        return env
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~")
    elif sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Application Support")
    else:
        base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "checkpoint-inspector")


def default_tracking_uri() -> str:
    return "sqlite:///" + os.path.join(data_dir(), "registry", "mlflow.db").replace("\\", "/")


def tracking_uri(explicit: str | None = None) -> str:
    return explicit or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()


def sqlite_path(uri: str) -> str | None:
    if not uri.startswith("sqlite:"):
        return None
    # SQLAlchemy: sqlite:///rel.db is relative, sqlite:////abs/x.db (and sqlite:///C:/x.db) absolute
    path = unquote(urlparse(uri).path)
    return path[1:] if path.startswith("/") else path


def artifact_location(uri: str) -> str | None:
    """Artifacts of a SQLite store go beside it (MLflow would use ./mlruns of whatever folder
    the program runs in); a server decides for itself."""
    db = sqlite_path(uri)
    if db is None:
        return None
    return "file://" + os.path.join(os.path.dirname(os.path.abspath(db)), "artifacts").replace("\\", "/")


def mlflow():
    """Import MLflow (once, on first use), or say in one line how to install it."""
    try:
        import mlflow as _mlflow  # noqa: F401
        from mlflow.tracking import MlflowClient  # noqa: F401
    except ImportError:
        raise RegistryError(INSTALL_HINT) from None
    for name in ("mlflow", "alembic"):  # table creation and downloads log INFO lines to stderr
        logging.getLogger(name).setLevel(logging.WARNING)
    return _mlflow


def check_writable_store(uri: str) -> None:
    """A SQLite store whose folder cannot be created or written: say so before MLflow
    half-creates anything."""
    db = sqlite_path(uri)
    if db is None:
        return
    folder = os.path.dirname(os.path.abspath(db))
    up = folder
    while up and not os.path.exists(up):
        up = os.path.dirname(up)
    if up and not os.path.isdir(up):
        raise RegistryError(f"cannot write the registry store at {db}: {up} is not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise RegistryError(f"cannot write the registry store at {db}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK) or (os.path.exists(db) and not os.access(db, os.W_OK)):
        raise RegistryError(f"cannot write the registry store at {db}: permission denied")
    if os.path.exists(db) and not os.path.isfile(db):
        raise RegistryError(f"cannot use the registry store at {db}: it is not a file")


class Store:
    """An MLflow client bound to one tracking/registry URI."""

    def __init__(self, uri: str | None = None):
        self.uri = tracking_uri(uri)
        for k, v in _HTTP_DEFAULTS.items():
            os.environ.setdefault(k, v)
        mlflow()
        check_writable_store(self.uri)
        from mlflow.tracking import MlflowClient

        with errors(self):
            self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    @property
    def label(self) -> str:
        db = sqlite_path(self.uri)
        return f"the local registry {db}" if db else f"the registry at {self.uri}"

    def experiment_id(self) -> str:
        exp = self.client.get_experiment_by_name(EXPERIMENT)
        if exp is not None:
            return exp.experiment_id
        return self.client.create_experiment(EXPERIMENT, artifact_location=artifact_location(self.uri))


def one_line(exc: BaseException, store: Store | None = None) -> str:
    """MLflow's messages can be pages long (a whole HTTP retry story): keep what a user needs."""
    text = " ".join(str(exc).split())
    where = store.uri if store is not None else "the tracking server"
    if any(
        s in text
        for s in (
            "Connection refused",
            "Failed to establish a new connection",
            "Max retries exceeded",
            "Name or service not known",
            "Read timed out",
            "ConnectTimeout",
        )
    ):
        reason = "connection refused" if "refused" in text else "no answer"
        return f"cannot reach the tracking server at {where} ({reason})"
    if "unable to open database file" in text or "readonly database" in text:
        return f"cannot open the registry store {where}: {'read-only' if 'readonly' in text else 'unable to open'}"
    return text[:300]


@contextlib.contextmanager
def errors(store: Store | None = None, what: str | None = None):
    """Every MLflow failure becomes a one-line RegistryError."""
    try:
        yield
    except RegistryError:
        raise
    except Exception as exc:
        code = getattr(exc, "error_code", None)
        if what and code == "RESOURCE_DOES_NOT_EXIST":
            raise RegistryError(
                f"{what} does not exist in {store.label if store else 'the registry'}"
            ) from None
        if (
            type(exc).__name__
            in (
                "MlflowException",
                "RestException",
                "OperationalError",
                "ConnectionError",
                "OSError",
                "PermissionError",
                "MlflowTrackingException",
                "ValueError",
            )
            or code
        ):
            raise RegistryError(one_line(exc, store)) from None
        raise

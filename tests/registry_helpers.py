"""A real MLflow registry for the registry tests: a SQLite store in a temporary folder built
with the MLflow client itself (not our code), and a real `mlflow server` process."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

DANGEROUS_PICKLE = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_mlp(path, seed: int, epoch: int | None = None, loss: float | None = None) -> dict:
    """A checkpoint of a small MLP; returns its state_dict (torch tensors)."""
    import torch
    from helpers import make_mlp

    sd = make_mlp(seed).state_dict()
    obj = {"model_state_dict": sd, "epoch": epoch, "loss": loss} if epoch is not None else sd
    torch.save(obj, path)
    return sd


def build_store(root: Path) -> dict:
    """Two registered models, several versions, aliases, tags; returns what was created."""
    from mlflow.tracking import MlflowClient

    root.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{root}/mlflow.db"
    c = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = c.create_experiment("fixture", artifact_location=f"file://{root}/artifacts")
    made = {"uri": uri, "mlp": {}, "runs": {}}
    src = root / "src"
    src.mkdir()
    c.create_registered_model("mlp", tags={"team": "vision", "task": "toy"}, description="a toy MLP")
    for v, seed in ((1, 0), (2, 1), (3, 2)):
        f = src / f"mlp_v{v}.pt"
        save_mlp(f, seed, epoch=v * 10, loss=1.0 / v)
        run = c.create_run(exp, run_name=f"train v{v}")
        rid = run.info.run_id
        c.log_metric(rid, "loss", 1.0 / v)
        c.log_metric(rid, "accuracy", 0.5 + v / 10)
        c.log_artifact(rid, str(f), "ckpt")
        c.set_terminated(rid)
        mv = c.create_model_version(
            "mlp", source=f"{run.info.artifact_uri}/ckpt", run_id=rid, tags={"seed": str(seed)}
        )
        assert mv.version == v or str(mv.version) == str(v)
        made["mlp"][str(v)] = {"file": f, "sha": sha256(f), "run_id": rid, "seed": seed}
    c.set_registered_model_alias("mlp", "prod", 2)
    c.set_registered_model_alias("mlp", "staging", 3)
    # a second model: v1's artifact is not a checkpoint, v2 holds two checkpoints
    c.create_registered_model("other", tags={"kind": "odd"})
    notes = src / "notes.txt"
    notes.write_text("these are release notes, not a checkpoint\n" * 3)
    run = c.create_run(exp, run_name="notes")
    c.log_artifact(run.info.run_id, str(notes), "stuff")
    c.create_model_version("other", source=f"{run.info.artifact_uri}/stuff", run_id=run.info.run_id)
    run2 = c.create_run(exp, run_name="two files")
    for seed in (5, 6):
        save_mlp(src / f"part{seed}.pt", seed)
        c.log_artifact(run2.info.run_id, str(src / f"part{seed}.pt"), "two")
    c.create_model_version("other", source=f"{run2.info.artifact_uri}/two", run_id=run2.info.run_id)
    made["two_run"] = run2.info.run_id
    # a third: a version whose source names the file itself (as some tools register)
    c.create_registered_model("single")
    v1 = made["mlp"]["1"]
    c.create_model_version(
        "single", source=f"{c.get_run(v1['run_id']).info.artifact_uri}/ckpt/mlp_v1.pt", run_id=v1["run_id"]
    )
    return made


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(root: Path, timeout: float = 120):
    """`mlflow server` on a free 127.0.0.1 port, SQLite backend in `root`, stopped (its whole
    process group: uvicorn workers too) at the end."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", MLFLOW_DISABLE_TELEMETRY="true")
    env.pop("MLFLOW_TRACKING_URI", None)
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{root}/server.db",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited with {proc.returncode}: "
                    + (root / "server.log").read_text()[-2000:]
                )
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server not ready after {timeout:.0f} s")
            time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        with contextlib.suppress(ProcessLookupError):  # a worker that outlived the server
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()

"""Load samples under their REAL loaders in throwaway processes and report which fired.

    python fire.py MANIFEST.json OUTDIR RESULTS.json

Adapted from the red team's verify_fire.py. The parent imports torch, numpy and sympy
once, then forks one child per sample (a load costs milliseconds): the child runs in a
fresh temporary folder with RT_SENTINEL=<that folder>/SENTINEL, loads the sample for
real, and reports. "Fired" means a new file appeared in the folder (payloads write the
sentinel; TorchScript ones write a relative file). Only ever run on the harmless samples
these generators write.
"""

import io
import json
import os
import pickle
import shutil
import signal
import sys
import tempfile
import time


def preimport():
    import numpy  # noqa: F401
    import sympy  # noqa: F401
    import torch
    import torch.distributed.checkpoint
    import torch.export
    import torch.package

    torch.set_num_threads(1)


def do_load(rec, path, loader):
    import numpy as np
    import torch

    if loader == "folder":  # the file of the folder the format loads
        return do_load(rec, os.path.join(path, rec["member"]), "torch.load")
    if loader == "pickle.load":
        with open(path, "rb") as f:
            return pickle.load(f)
    if loader == "torch.load":
        return torch.load(path, weights_only=False)
    if loader == "torch.load_weights_only":
        return torch.load(path, weights_only=True)
    if loader == "torch.load_mmap":
        return torch.load(path, weights_only=False, mmap=True)
    if loader == "numpy.load":
        r = np.load(path, allow_pickle=True)
        return {k: r[k] for k in r.files} if hasattr(r, "files") else r
    if loader == "torch.jit.load":
        return torch.jit.load(path)
    if loader == "torch.export.load":
        return torch.export.load(path)
    if loader == "torch.package":
        from torch.package import PackageImporter

        return PackageImporter(path).load_pickle(rec.get("package", "pkg"), rec.get("resource", "data.pkl"))
    if loader == "dcp":
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint import FileSystemReader

        md = FileSystemReader(path).read_metadata()
        sd = {
            k: torch.zeros(v.size, dtype=v.properties.dtype) if hasattr(v, "size") else io.BytesIO()
            for k, v in md.state_dict_metadata.items()
        }
        dcp.load(sd, storage_reader=FileSystemReader(path))
        return sd
    if loader == "safetensors":
        from safetensors.torch import load_file

        return load_file(path)
    raise ValueError(loader)


def run_one(rec, path, loader, timeout=20):
    tmp = tempfile.mkdtemp(prefix="fire_")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(r)
            os.setsid()
            os.chdir(tmp)
            os.environ["RT_SENTINEL"] = os.path.join(tmp, "SENTINEL")
            fd = os.open(os.devnull, os.O_RDWR)
            os.dup2(fd, 0)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            try:
                obj = do_load(rec, path, loader)
                msg = "ok " + type(obj).__name__
                if rec.get("family") == "deferred_exec":  # what an interpreter does afterwards
                    import atexit
                    import gc

                    del obj
                    gc.collect()
                    time.sleep(0.3)
                    atexit._run_exitfuncs()
            except BaseException as e:
                msg = "error " + type(e).__name__ + ": " + str(e).replace("\n", " ")[:200]
            os.write(w, msg.encode()[:1000])
        finally:
            os._exit(0)
    os.close(w)
    t0, status = time.time(), None
    while time.time() - t0 < timeout:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p:
            status = st
            break
        time.sleep(0.01)
    if status is None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        os.waitpid(pid, 0)
        msg = "timeout"
    else:
        msg = os.read(r, 2000).decode(errors="replace") or f"child died status={status}"
    os.close(r)
    for _ in range(25 if rec.get("label") == "malicious" else 2):  # payloads may finish later
        if os.listdir(tmp):
            break
        time.sleep(0.02)
    created = sorted(os.listdir(tmp))
    shutil.rmtree(tmp, ignore_errors=True)
    return bool(created), msg, created


def main():
    manifest, outdir, results = sys.argv[1:4]
    recs = json.load(open(manifest))
    preimport()
    out = []
    for rec in recs:
        fired, msg, created = run_one(rec, os.path.join(outdir, rec["file"]), rec["loader"])
        if rec.get("exact"):
            fired = "SENTINEL" in created
        out.append(dict(rec, fired=fired, result=msg, created=created))
    with open(results, "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()

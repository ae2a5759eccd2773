"""How a zip or tar of torch files (a stable-baselines3 zip, a NeMo-style tar) is told
from its member names alone: the readers that meet such an archive ask this leaf module,
so that none of them imports the bundle reader (which reads them in turn)."""

from __future__ import annotations

TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".tar", ".pkl", ".pickle", ".safetensors")


def looks_like_bundle(names: list[str]) -> bool:
    return "_stable_baselines3_version" in names or any(n.lower().endswith(TORCH_SUFFIXES) for n in names)

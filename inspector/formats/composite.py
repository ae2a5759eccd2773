"""Several files read as one checkpoint: a Hugging Face Trainer checkpoint folder
(`model.safetensors`/`pytorch_model.bin`, `optimizer.pt`, `scheduler.pt`,
`rng_state.pth`, `trainer_state.json`, `training_args.bin`) opens as one training state;
so does an HF Accelerate `save_state` folder (`optimizer.bin`, `scheduler.bin`,
`random_states_0.pkl`).
Each part is opened with its own reader; a part that fails is reported, the rest shown.
"""

from __future__ import annotations

import os

from .container import MultiFileContainer
from .errors import CheckpointError
from .limits import Limits
from .opening import open_checkpoint
from .safe_io import check_regular, load_json, read_regular

TRAINER_PARTS = [
    (
        "model",
        (
            "model.safetensors.index.json",
            "pytorch_model.bin.index.json",
            "model.safetensors",
            "pytorch_model.bin",
            "adapter_model.safetensors",
            "adapter_model.bin",
        ),
    ),
    ("optimizer", ("optimizer.pt", "optimizer.bin")),
    ("scheduler", ("scheduler.pt", "scheduler.bin")),
    ("rng_state", ("rng_state.pth", "rng_state_0.pth", "random_states_0.pkl")),
    ("scaler", ("scaler.pt",)),
    ("training_args", ("training_args.bin",)),
]


def is_trainer_folder(names) -> bool:
    """A Trainer `checkpoint-N` folder, or an Accelerate `save_state` folder
    (`optimizer.bin`, `scheduler.bin`, `random_states_<rank>.pkl`)."""
    names = set(names)
    return (
        "trainer_state.json" in names
        or ("optimizer.pt" in names and ("scheduler.pt" in names or "rng_state.pth" in names))
        or (
            "optimizer.bin" in names
            and ("scheduler.bin" in names or any(n.startswith("random_states_") for n in names))
        )
    )


class CompositeContainer(MultiFileContainer):
    def __init__(self, path: str, limits: Limits):
        self.path = path
        self.limits = limits
        self.storages: dict = {}
        self.subs: dict[str, object] = {}
        self.errors: dict[str, str] = {}

    def add(self, label: str, file: str):
        """Open one part; its tensors keep pointing at their own file."""
        try:
            check_regular(file, os.path.basename(file), folder=self.path)
            sub = open_checkpoint(file, self.limits)
        except CheckpointError as exc:
            self.errors[label] = f"{os.path.basename(file)}: {exc}"
            return f"<not available: {exc}>"
        self.subs[label] = sub
        for key, ref in sub.storages.items():
            if ref.source is None:
                ref.source, ref.path = sub.container, sub.path
            self.storages[f"{label}/{key}"] = ref
        return sub.obj

    def load_trainer(self) -> dict:
        names = set(os.listdir(self.path))
        out: dict = {}
        for label, candidates in TRAINER_PARTS:
            for name in candidates:
                if name in names:
                    out[label] = self.add(label, os.path.join(self.path, name))
                    break
        if "trainer_state.json" in names:
            try:
                out["trainer_state"] = load_json(
                    read_regular(
                        os.path.join(self.path, "trainer_state.json"),
                        64 << 20,
                        "trainer_state.json",
                        folder=self.path,
                    ),
                    "trainer_state.json",
                )
            except CheckpointError as exc:
                self.errors["trainer_state"] = str(exc)
        return out

    def locate(self, ref) -> None:
        raise CheckpointError("a part's storage without its container")

    def close(self) -> None:
        for sub in self.subs.values():
            sub.close()

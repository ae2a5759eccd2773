"""The built-in formats, registered in the order folders are recognised (see
registry.py). Each entry names its reader's open function; the readers stay in their own
modules (torch_zip.py, torch_legacy.py, safetensors_reader.py, ...)."""

from __future__ import annotations

import os

from . import nested as _nested  # noqa: F401 (registers the _load_from_bytes reader with the unpickler)
from . import openers
from .composite import TRAINER_PARTS, is_trainer_folder
from .detect import FOREIGN
from .opening import open_checkpoint
from .registry import Format, register

# ---- files, recognised from their first bytes (detect.sniff) -----------------------------
register(Format("zip", "a torch.save zip archive", sniff="zip", opener=openers.open_zip))
register(Format("torchscript", "a TorchScript archive", variant_of="zip"))
register(Format("pt2", "a torch.export archive", variant_of="zip"))
register(Format("bundle", "an archive of torch files", variant_of="zip"))
register(Format("pickle", "a bare pickle", sniff="pickle", opener=openers.open_pickle))
register(Format("legacy", "a legacy (pre-1.6) torch.save file", variant_of="pickle"))
register(Format("legacy-tar", "a legacy tar checkpoint", sniff="legacy-tar", opener=openers.open_tar))
register(Format("safetensors", "a safetensors file", sniff="safetensors", opener=openers.open_safetensors))
register(Format("hf-index", "a shard index", sniff="json", opener=openers.open_index))
for _magic, _kind, _what in FOREIGN:
    register(Format(_kind, _what, sniff=_kind, foreign=True))


# ---- folders, recognised from the names they hold -----------------------------------------
def _is_dcp(names) -> bool:
    return ".metadata" in names and any(n.endswith(".distcp") for n in names)


def _dcp_members(path, names):
    return [n for n in names if n == ".metadata" or n.endswith(".distcp")]


def _trainer_members(path, names):
    have = set(names)
    return [n for _, candidates in TRAINER_PARTS for n in candidates if n in have]


def _indexes(names):
    return sorted(n for n in names if n.endswith(".index.json"))


MODEL_FILES = ("model.safetensors", "pytorch_model.bin")


def _model_file(names):
    return next((n for n in _indexes(names) + list(MODEL_FILES) + ["model.pt"] if n in names), None)


def model_file(path: str) -> str | None:
    """The file a model / shard-index folder opens."""
    name = _model_file(os.listdir(path))
    return os.path.join(path, name) if name else None


def _open_model_folder(path, limits):
    """A shard-index or model folder opens its index or model file."""
    return open_checkpoint(model_file(path), limits)


register(
    Format("dcp", "a distributed checkpoint", folder=_is_dcp, opener=openers.open_dcp, members=_dcp_members)
)
register(
    Format(
        "hf-trainer",
        "a Hugging Face Trainer checkpoint folder",
        folder=is_trainer_folder,
        opener=openers.open_trainer,
        members=_trainer_members,
    )
)
register(
    Format(
        "index-folder",
        "a folder with a shard index",
        folder=lambda names: bool(_indexes(names)),
        opener=_open_model_folder,
        members=lambda p, names: _indexes(names)[:1],
    )
)
register(
    Format(
        "model-folder",
        "a model folder",
        folder=lambda names: any(n in names for n in MODEL_FILES),
        opener=_open_model_folder,
        members=lambda p, names: [_model_file(names)],
    )
)
# A folder holding model.pt opens that file; with other checkpoints beside it the window
# lists them all as a run (epoch folder), so it is not one checkpoint to the window.
register(
    Format(
        "model-pt-folder",
        "a folder holding model.pt",
        folder=lambda names: "model.pt" in names,
        opener=_open_model_folder,
        members=lambda p, names: ["model.pt"],
        whole=False,
    )
)

"""The model registry (MLflow): browse, open and register checkpoints.

Nothing here imports MLflow at import time (`ckpt` start-up stays fast, and the rest of
the application works without the optional extra); `store.mlflow()` imports it when a
registry is first used and turns its absence into one line saying how to install it.
No Qt here: the window's dialogs sit on top of these modules.
"""

from __future__ import annotations

from ..formats.errors import CheckpointError

INSTALL_HINT = (
    "the model registry needs MLflow: pip install 'checkpoint-inspector[registry]' (or pip install mlflow)"
)
SCHEMES = ("models:/", "runs:/")


class RegistryError(CheckpointError):
    """A registry operation failed; the message is one line, safe to show."""


def is_registry_uri(arg) -> bool:
    return isinstance(arg, str) and arg.startswith(SCHEMES)

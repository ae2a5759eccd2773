"""JSON from a file, parsed and walked without trusting its shape.

Every JSON we read (torch.export programs and configs, the oldest TorchScript
`model.json`, shard indexes, Trainer `trainer_state.json`, archive `data` members) comes
from the file. `parse_json` turns bad text, deep nesting and oversized numbers into one
`CheckpointError`; the accessors below return a default of the expected type and add a
warning naming the entry when a value has another type or is missing, so one odd entry
never ends the open (no `None.get`, no `int("x")`).
"""

from __future__ import annotations

import json
import math

from .errors import CheckpointError

JSON_LIMIT = 256 << 20
MAX_WARNINGS = 50


def parse_json(data: bytes | str, what: str, warnings: list | None = None):
    try:
        return json.loads(data, parse_constant=_constant)
    except RecursionError:
        raise CheckpointError(f"{what} nests JSON too deeply to read") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{what} is not valid JSON ({' '.join(str(exc).split())[:120]})") from None


def _constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


class Walk:
    """Typed access to a JSON tree; unexpected values become warnings on `warnings`."""

    def __init__(self, warnings: list, what: str):
        self.warnings = warnings
        self.what = what

    def warn(self, where: str, message: str) -> None:
        mine = [w for w in self.warnings if w.startswith(self.what)]
        if len(mine) < MAX_WARNINGS:
            self.warnings.append(f"{self.what}: {where}: {message}")
        elif len(mine) == MAX_WARNINGS:
            self.warnings.append(f"{self.what}: further unexpected entries not listed")

    def _check(self, value, types, where: str, default, expected: str, required: bool):
        if isinstance(value, types) and not (isinstance(value, bool) and bool not in types):
            return value
        if value is None and not required:
            return default
        got = "missing" if value is None else f"a {type(value).__name__}"
        self.warn(where, f"expected {expected}, found {got}")
        return default

    def obj(self, value, where: str, required: bool = False) -> dict:
        return self._check(value, (dict,), where, {}, "an object", required)

    def list(self, value, where: str, required: bool = False) -> list:
        return self._check(value, (list,), where, [], "a list", required)

    def text(self, value, where: str, default: str = "", required: bool = False) -> str:
        return self._check(value, (str,), where, default, "text", required)

    def int(
        self, value, where: str, default: int | None = 0, required: bool = False, minimum: int | None = None
    ):
        value = _int_text(value)
        v = self._check(value, (int,), where, default, "an integer", required)
        if v is not None and v is not default and minimum is not None and v < minimum:
            self.warn(where, f"expected an integer of at least {minimum}, found {v}")
            return default
        return v

    def get(self, mapping, key: str, where: str):
        """mapping[key] when `mapping` is a dict, else None (with a warning)."""
        if isinstance(mapping, dict):
            return mapping.get(key)
        self.warn(where, f"expected an object, found a {type(mapping).__name__}")
        return None

    def ints(self, value, where: str) -> list | None:
        """A list of non-negative integers, or None (with a warning)."""
        if isinstance(value, list):
            value = [_int_text(v) for v in value]
        if isinstance(value, list) and all(type(v) is int and v >= 0 for v in value):
            return value
        self.warn(where, "expected a list of non-negative integers")
        return None


def _int_text(value):
    """Protobuf's JSON writes 64-bit integers as text ("3"): read those as integers."""
    if isinstance(value, str) and 0 < len(value) <= 20 and value.lstrip("-").isdigit():
        return int(value)
    return value

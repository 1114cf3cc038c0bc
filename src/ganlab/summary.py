"""summary.json: what a run did, how long it took, and with which software."""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "ganlab",
    "torch",
    "torchvision",
    "lightning",
    "hydra-core",
    "omegaconf",
    "wandb",
    "torchmetrics",
)


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that decide a run's numbers."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON via a temporary file and a rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


_SECRET_KEY = re.compile(r"(api[_-]?key|token|secret|password|passwd|credential)", re.IGNORECASE)
REDACTED = "<redacted>"


def redact(value: Any) -> Any:
    """Copy of a config (dicts, lists) with the values of secret-looking keys replaced.

    Configs may interpolate environment variables (``${oc.env:...}``); whatever a key named
    like a credential resolves to never reaches a logger, config.yaml or summary.json.
    """
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def redact_overrides(overrides: list[str]) -> list[str]:
    """Command-line overrides with the values of secret-looking keys replaced."""
    out = []
    for override in overrides:
        key, sep, _ = override.partition("=")
        out.append(f"{key}{sep}{REDACTED}" if sep and _SECRET_KEY.search(key) else override)
    return out


def command_line() -> str:
    """The command as typed, for the record (secret-looking overrides redacted)."""
    return " ".join([Path(sys.argv[0]).name, *redact_overrides(sys.argv[1:])])

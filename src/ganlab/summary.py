"""summary.json: what a run did, how long it took, and with which software."""

from __future__ import annotations

import json
import os
import platform
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


def command_line() -> str:
    """The command as typed, for the record."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])

"""summary.json: what a run did, how long it took, and with which software."""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from ganlab.durable import replace_durably, temporary_name
from ganlab.redaction import redact_overrides

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
    """Write JSON via this process's own temporary file, flushed, and a rename, so readers
    never see half a file and a crash never leaves an empty one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
        replace_durably(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def command_line() -> str:
    """The command as typed, for the record (secret-looking overrides redacted)."""
    return " ".join([Path(sys.argv[0]).name, *redact_overrides(sys.argv[1:])])

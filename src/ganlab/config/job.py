"""What Hydra knows about the running job: its overrides, its group choices, its sweep."""

from __future__ import annotations

from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from ganlab.run.redaction import redact_overrides


def overrides() -> list[str]:
    """The job's command-line overrides, secret-looking values redacted ([] outside Hydra)."""
    found = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    return redact_overrides(found)


def choice(group: str) -> str | None:
    """The option chosen for a config group (``experiment``), or None outside Hydra."""
    if not HydraConfig.initialized():
        return None
    return HydraConfig.get().runtime.choices.get(group)


def sweep_group() -> str | None:
    """A multirun job's sweep folder name, so a sweep's runs group together in W&B."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    return Path(HydraConfig.get().sweep.dir).name

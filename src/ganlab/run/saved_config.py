"""A saved run's ``config.yaml`` read as data: only listed classes may be built from it.

A run folder may come from anyone (a colleague, a download, an edited copy), and Hydra's
``instantiate`` calls whatever ``_target_`` names: ``os.makedirs`` as readily as a
generator. So the tools that rebuild a run from its folder read the config through
``load_saved_config``, which refuses, before anything is imported or called, any target
that is not one of ganlab's nets, losses, data modules, corruptions, callbacks, loggers or
strategy, Lightning's trainer and loggers, or torch's optimizers and schedulers. Training
from the user's own command line keeps Hydra's full freedom.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ganlab.errors import ConfigError

# Packages whose classes may be built (`_allowed_bases` narrows some to their base classes).
# The prefix is checked on the string before anything is imported, so a target outside these
# packages never gets to run import-time code.
PACKAGES = (
    "ganlab.nets.",
    "ganlab.losses.",
    "ganlab.objective.",
    "ganlab.augment.",
    "ganlab.data.",
    "ganlab.restoration.",
    "ganlab.callbacks.",
    "ganlab.run.loggers.",
    "ganlab.strategy.",
    "torch.optim.",
    "lightning.pytorch.loggers.",
)
# Classes that moved: a run saved before names the old place, which is read as the new one.
MOVED_TARGETS = {"ganlab.loggers.CSVLogger": "ganlab.run.loggers.CSVLogger"}
EXACT = ("lightning.pytorch.Trainer", "ganlab.module.GANModule", "ganlab.schedules.KimgCosine")
WHAT = (
    "ganlab's nets, losses, objectives, augments, data modules, corruptions, callbacks, "
    "loggers, module, strategy and kimg schedule, "
    "Lightning's Trainer and loggers, and torch's optimizers and schedulers"
)


def _allowed_bases(prefix: str) -> tuple[type, ...] | None:
    """Base classes a target under ``prefix`` must derive from (None: any class of ganlab's)."""
    if prefix == "torch.optim.":
        import torch.optim

        return (torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler)
    if prefix == "lightning.pytorch.loggers.":
        from lightning.pytorch.loggers import Logger

        return (Logger,)
    return None


def _is_allowed(target: str) -> bool:
    """A class defined in one of `PACKAGES` (of the right base where one is set), or in `EXACT`."""
    from hydra._internal.utils import _locate

    prefix = next((p for p in PACKAGES if target.startswith(p)), None)
    if prefix is None and target not in EXACT:
        return False
    try:
        obj = _locate(target)
    except Exception:  # an unknown name is refused like a foreign one
        return False
    if not inspect.isclass(obj):
        return False
    if prefix is None:
        return obj.__module__.split(".")[0] == target.split(".")[0]
    bases = _allowed_bases(prefix)
    return obj.__module__.startswith(prefix.rstrip(".")) and (
        bases is None or issubclass(obj, bases)
    )


def check_target(target: Any, key: str, source: Path) -> None:
    """Raise ``ConfigError`` unless ``target`` names a class a saved run may build."""
    if not _is_allowed(str(target)):
        raise ConfigError(
            f"{source}: {key} is {str(target)!r}, which a saved run may not build (only "
            f"{WHAT}); this config was not written by ganlab-train or was edited since, so "
            "nothing was built from it"
        )


def _check_node(node: Any, key: str, source: Path) -> None:
    """Every ``_target_`` under ``node`` must be allowed; no value may be an interpolation."""
    if isinstance(node, dict):
        for child, value in node.items():
            path = f"{key}.{child}" if key else str(child)
            if child == "_target_":
                check_target(value, path, source)
            else:
                _check_node(value, path, source)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _check_node(value, f"{key}[{index}]", source)
    elif isinstance(node, str) and "${" in node:
        # ganlab-train saves configs resolved: an interpolation was put there later, and
        # resolving one reads the environment or calls a resolver.
        raise ConfigError(
            f"{source}: {key} is an interpolation ({node}), but ganlab-train saves configs "
            "resolved; the config was edited since, so nothing was built from it"
        )


def _renamed(node: Any) -> Any:
    """``node`` with every moved ``_target_`` (``MOVED_TARGETS``) written as its new name."""
    if isinstance(node, dict):
        return {
            key: MOVED_TARGETS.get(value, value) if key == "_target_" else _renamed(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_renamed(value) for value in node]
    return node


def load_saved_config(path: Path) -> DictConfig:
    """A run's ``config.yaml``, checked so that building from it can only make listed classes."""
    try:
        cfg = OmegaConf.load(path)
    except Exception as exc:  # unreadable, not YAML, duplicate keys: all end the same way
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path} is not a readable config ({detail})") from None
    if not isinstance(cfg, DictConfig) or not cfg:
        raise ConfigError(f"{path} does not hold a mapping of settings; it is not a run config")
    settings = _renamed(OmegaConf.to_container(cfg, resolve=False))
    _check_node(settings, "", path)
    return OmegaConf.create(settings)

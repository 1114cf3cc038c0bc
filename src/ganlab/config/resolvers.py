"""The ``${ganlab_*:}`` resolvers the config tree uses, registered by whoever composes it.

Registering is an explicit call (``ganlab-train``, ``ganlab-train-evaluator``, the tools that
compose the tree), not a side effect of importing a module.
"""

from __future__ import annotations

import os
import re
import secrets

from omegaconf import OmegaConf

from ganlab.config.job import overrides, sweep_group

# One per process: run folders made in the same second by two launches differ by it.
_RUN_UID = secrets.token_hex(2)


def safe_folder_name(name: str) -> str:
    """``name`` with anything but letters, digits and ._+=,- replaced, for the run folder path.

    Hydra makes the folder before ganlab validates ``name``; this keeps even a rejected
    name (``../x``) from creating folders outside ``outputs/``.
    """
    return re.sub(r"[^A-Za-z0-9._+=,-]", "_", str(name)).lstrip(".") or "_"


def override_tags() -> list[str]:
    """The job's command-line overrides as W&B tags (W&B caps a tag at 64 characters)."""
    return [override[:64] for override in overrides()]


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a SLURM allocation)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_share(jobs: int) -> int:
    """Each of ``jobs`` processes side by side gets this many threads: an equal share."""
    return max(1, usable_cores() // max(1, int(jobs)))


def register_resolvers() -> None:
    """Make ``ganlab_uid``, ``ganlab_safe``, ``ganlab_sweep_group``, ``ganlab_override_tags``
    and ``ganlab_thread_share`` known to OmegaConf (idempotent)."""
    OmegaConf.register_new_resolver("ganlab_uid", lambda: _RUN_UID, replace=True)
    OmegaConf.register_new_resolver("ganlab_safe", safe_folder_name, replace=True)
    OmegaConf.register_new_resolver("ganlab_sweep_group", sweep_group, replace=True)
    OmegaConf.register_new_resolver("ganlab_override_tags", override_tags, replace=True)
    OmegaConf.register_new_resolver("ganlab_thread_share", thread_share, replace=True)

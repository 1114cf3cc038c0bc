"""Before a sweep is submitted to SLURM: the cluster has sbatch, the partition and the nodes.

Submitting asks the scheduler nothing first: a missing ``sbatch``, a misspelt partition or
more nodes than the partition has would surface as a traceback from submitit or as jobs that
pend forever. These checks ask ``sinfo`` and name the setting to change.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from ganlab.errors import ConfigError

LOCAL_CLUSTER = "scripts/slurm-local-cluster start"


def partitions() -> tuple[dict[str, tuple[int, bool]], str | None]:
    """Each partition's node count and whether it has GPUs, from ``sinfo``, and the default
    partition's name."""
    try:
        proc = subprocess.run(
            ["sinfo", "-h", "-o", "%P %D %G"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"launcher=slurm: sinfo failed ({exc}); is the cluster up?") from None
    if proc.returncode != 0:
        raise ConfigError(
            f"launcher=slurm: sinfo failed ({proc.stderr.strip()}); is the cluster up? "
            f"(a local one: {LOCAL_CLUSTER})"
        )
    found: dict[str, tuple[int, bool]] = {}
    default = None
    for line in proc.stdout.splitlines():
        name, count, gres = line.split()
        if name.endswith("*"):
            name = default = name[:-1]
        nodes, gpus = found.get(name, (0, False))
        found[name] = (nodes + int(count), gpus or "gpu" in gres)
    return found, default


def check_slurm(launcher: Any) -> None:
    """Refuse a SLURM sweep that cannot run, before anything is submitted."""
    if shutil.which("sbatch") is None:
        raise ConfigError(
            "launcher=slurm: sbatch is not on PATH; submit from a machine of the cluster "
            f"(its login node), or try the path on this machine with {LOCAL_CLUSTER}"
        )
    nodes, default = partitions()
    name = launcher.get("partition") or default
    if name is None:
        raise ConfigError(
            "hydra.launcher.partition: the cluster has no default partition; set one of "
            f"{', '.join(sorted(nodes))}"
        )
    if name not in nodes:
        raise ConfigError(
            f"hydra.launcher.partition={name}: no such partition; sinfo lists "
            f"{', '.join(sorted(nodes)) or 'none'}"
        )
    count, gpus = nodes[name]
    wanted = int(launcher.get("nodes") or 1)
    if wanted > count:
        raise ConfigError(
            f"trainer.num_nodes={wanted}: partition {name} has {count} node(s); ask for "
            f"at most {count} or pick a larger partition (hydra.launcher.partition)"
        )
    if launcher.get("gpus_per_node") and not gpus:
        raise ConfigError(
            f"hydra.launcher.gpus_per_node={launcher.gpus_per_node}: partition {name} has no "
            "GPUs; for CPU processes set trainer=ddp_cpu hydra.launcher.gpus_per_node=0, or "
            "pick a partition with GPUs"
        )

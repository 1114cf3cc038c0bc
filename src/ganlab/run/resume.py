"""Which checkpoint ``resume`` names: none, this folder's own, the newest idle run's, or a path."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from ganlab.errors import ConfigError
from ganlab.run.folder import is_locked


def find_checkpoint(cfg: DictConfig, run_dir: Path) -> Path | None:
    """The checkpoint that ``resume`` names.

    false: none; true: the newest ``last.ckpt`` of this run name whose run is not still
    training (its folder's lock is free); auto: this run folder's own ``last.ckpt`` if there
    is one (a requeued SLURM job), else none; or a path.
    """
    resume = cfg.resume
    if resume is False or resume is None:
        return None
    if resume == "auto":
        own = run_dir / "checkpoints" / "last.ckpt"
        return own if own.is_file() else None
    if resume is True:
        pattern = f"{cfg.name}/*/checkpoints/last.ckpt"
        found = [p for p in Path(cfg.paths.output_root).glob(pattern) if run_dir not in p.parents]
        idle = [p for p in found if not is_locked(p.parent.parent)]
        if not idle:
            training = f" ({len(found)} found, all in runs still training)" if found else ""
            raise ConfigError(
                f"resume=true: no checkpoint matches {cfg.paths.output_root}/{pattern}"
                f"{training}. Run without resume first, or give resume=PATH to a run folder "
                "or .ckpt file."
            )
        return max(idle, key=lambda p: p.stat().st_mtime)
    path = Path(str(resume))
    candidates = [path, path / "checkpoints" / "last.ckpt", path / "last.ckpt"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"resume={resume}: no checkpoint there (looked for {', '.join(map(str, candidates))})."
    )

"""Load a saved run's generator for the command-line tools (evaluate, sample).

The run's own ``config.yaml`` is read as data (``load_saved_config``: only ganlab's and
torch's listed classes can be built from it); the config copy inside a checkpoint is never
used, and checkpoints are read with ``weights_only=True``, so neither file can run code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn

from ganlab.build import build_networks, build_objective, instantiate_field
from ganlab.errors import ConfigError
from ganlab.run.checkpoints import read_checkpoint
from ganlab.run.saved_config import load_saved_config

WHICH = ("last", "best")
RUN_HINT = "give a run folder made by ganlab-train or a checkpoint inside its checkpoints/ folder"


def resolve_run(run_or_checkpoint: str | Path, which: str = "last") -> tuple[Path, Path]:
    """``(run folder, checkpoint file)`` for a run folder or a ``.ckpt`` path inside one."""
    path = Path(run_or_checkpoint).expanduser()
    if which not in WHICH:
        raise ConfigError(f"--which {which}: use one of {', '.join(WHICH)}")
    if not path.exists():
        raise ConfigError(f"{path} does not exist; {RUN_HINT}")
    if path.is_dir():
        run_dir, checkpoint = path, path / "checkpoints" / f"{which}.ckpt"
        if not checkpoint.is_file():
            present = sorted(p.name for p in (path / "checkpoints").glob("*.ckpt"))
            found = f"it holds {', '.join(present)}" if present else "it holds no checkpoint"
            raise ConfigError(f"no checkpoint at {checkpoint} ({found}); {RUN_HINT}")
    else:
        run_dir, checkpoint = path.resolve().parent.parent, path
    if not (run_dir / "config.yaml").is_file():
        raise ConfigError(
            f"no config.yaml in {run_dir}, so {checkpoint} cannot be rebuilt; {RUN_HINT}"
        )
    return run_dir, checkpoint


def read_state_dict(checkpoint: Path) -> dict[str, torch.Tensor]:
    """The LightningModule's weights, read as plain tensors only."""
    return read_checkpoint(checkpoint, RUN_HINT)["state_dict"]


def generator_weights(state: dict[str, torch.Tensor]) -> tuple[str, dict[str, torch.Tensor]]:
    """The EMA generator's weights when the run kept them (what samples come from), else G's."""
    for prefix in ("generator_ema.", "generator."):
        weights = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
        if weights:
            return prefix.rstrip("."), weights
    return "generator", {}


def load_generator(
    run_or_checkpoint: str | Path, which: str = "last"
) -> tuple[nn.Module, DictConfig, Any]:
    """``(generator in eval mode, the run's config, its datamodule)`` of a saved run.

    The datamodule is only constructed (no files read) to know ``shape`` and ``num_classes``.
    """
    run_dir, checkpoint = resolve_run(run_or_checkpoint, which)
    cfg = load_saved_config(run_dir / "config.yaml")
    if "data" not in cfg or "model" not in cfg:
        raise ConfigError(f"{run_dir / 'config.yaml'} lacks data or model; {RUN_HINT}")
    datamodule = instantiate_field(cfg.data, "data")
    objective = build_objective(cfg)
    if not objective.draws_from_noise:
        raise ConfigError(
            f"{run_dir}: model={cfg.model.name} maps an input image to an output and draws no "
            "samples from noise (task=restoration); apply it with ganlab-restore"
        )
    generator, _ = build_networks(cfg, objective, tuple(datamodule.shape), datamodule.num_classes)
    name, weights = generator_weights(read_state_dict(checkpoint))
    try:
        generator.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise ConfigError(
            f"{checkpoint}: its {name} weights do not fit the networks of "
            f"{run_dir / 'config.yaml'} ({first}); the checkpoint belongs to another model, "
            "so pass the run folder it was saved in"
        ) from None
    return generator.eval().requires_grad_(False), cfg, datamodule

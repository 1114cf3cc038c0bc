"""`ganlab-train-evaluator data=NAME`: train the domain classifier that metrics extract with.

A Hydra app over `conf/evaluator.yaml`, so any dataset config (`data=mnist`,
`data=image_folder data.root=...`) works unchanged. The result lands in
`outputs/evaluators/<dataset>_<resolution>px.pt` (an image folder's name adds a hash of its
root), where metric configs look for it, and records which images it was trained for.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganlab.config import CONF_DIR
from ganlab.config.resolvers import register_resolvers
from ganlab.data.identity import default_evaluator_path, evaluator_record
from ganlab.errors import ConfigError, GanlabError, MetricsError
from ganlab.metrics.domain import save_evaluator, train_domain_classifier
from ganlab.run.folder import discard_if_created
from ganlab.run.summary import versions, write_json


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device={name!r} is not a device; use auto, cpu or cuda[:N]") from None


def train_evaluator(cfg: DictConfig) -> dict[str, Any]:
    """Train, test and save the evaluator for `cfg.data`; returns what the .json records."""
    try:
        datamodule = instantiate(cfg.data)
    except InstantiationException as exc:
        raise ConfigError(f"data: {exc.__cause__ or exc}") from None
    if len(datamodule.shape) != 3:
        raise MetricsError(
            f"data: {datamodule.name} yields samples of shape {tuple(datamodule.shape)}, not "
            "images; a domain classifier needs a labelled image dataset (2D mixtures use "
            "mixture_metrics instead)"
        )
    device = _device(cfg.device)
    train_x, train_y = datamodule.real_images("train")
    test_x, test_y = datamodule.real_images("test")
    start = time.perf_counter()
    model, accuracy = train_domain_classifier(
        train_x,
        train_y,
        test_x,
        test_y,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        seed=cfg.seed,
        device=device,
    )
    wall = time.perf_counter() - start
    path = default_evaluator_path(cfg.out, datamodule)
    meta = {
        **evaluator_record(datamodule),
        "data": OmegaConf.to_container(cfg.data, resolve=True),
        "test_accuracy": accuracy,
        "train_size": len(train_x),
        "test_size": len(test_x),
        "training": {
            "epochs": cfg.epochs,
            "batch_size": cfg.batch_size,
            "lr": cfg.lr,
            "seed": cfg.seed,
            "device": str(device),
            "wall_time_s": wall,
        },
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
    }
    record = {"path": str(path), **save_evaluator(path, model, meta)}
    write_json(path.with_suffix(".json"), record)
    return record


def main() -> None:
    """``ganlab-train-evaluator``: run folders end in ``${ganlab_uid:}``, as training runs do."""
    register_resolvers()
    _main()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="evaluator")
def _main(cfg: DictConfig) -> None:
    """Train the evaluator; bad input exits 2 with one message, like ``ganlab-train``."""
    try:
        record = train_evaluator(cfg)
    except GanlabError as exc:
        discard_if_created(Path(HydraConfig.get().runtime.output_dir))
        print(f"ganlab-train-evaluator: error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(
        f"ganlab-train-evaluator: {record['dataset']} {record['resolution']}px test accuracy "
        f"{record['test_accuracy']:.2%} ({record['training']['epochs']} epochs, "
        f"{record['training']['wall_time_s']:.0f} s); saved {record['path']}"
    )


if __name__ == "__main__":
    main()

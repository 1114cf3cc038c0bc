"""Restoration metrics and input | output | target grids on fixed held-out images.

The held-out images (the first ``num_images`` of the test split) are corrupted once with
a fixed seed, so every evaluation of every run with the same corruption sees the same
inputs; the trivial baselines of the corruption (the input itself, bicubic upsampling,
mean fill) are scored on the same set, so each report shows how far above them G is.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from torch import Tensor

from ganlab.callbacks.checkpoint import save_checkpoint_atomically
from ganlab.callbacks.metrics import load_extractor
from ganlab.callbacks.samples import SampleGrid, image_grid
from ganlab.callbacks.schedule import GStepCallback
from ganlab.data.memory import to_unit_range
from ganlab.errors import ConfigError
from ganlab.metrics import FeatureExtractor, extract
from ganlab.metrics.evaluation import EvalSettings
from ganlab.metrics.registry import (
    IMAGES,
    Inputs,
    MetricSpec,
    choose_metrics,
    choose_monitor,
    compute_metrics,
    extractor_names,
    get_extractor,
    short_key,
)
from ganlab.restoration.corruptions import Corrupted, Corruption

NO_FEATURES = "none"
DEFAULT_METRICS = ("psnr", "ssim", "fid")


def held_out(
    datamodule: Any, corruption: Corruption, n: int, seed: int, split: str = "test"
) -> tuple[Tensor, Corrupted]:
    """The first ``n`` images of ``split`` in [-1, 1] and their corruption from ``seed``."""
    images, _ = datamodule.real_images(split, n)
    clean = to_unit_range(images)
    return clean, corruption(clean, torch.Generator().manual_seed(seed))


def restore_in_chunks(pl_module: Any, corrupted: Corrupted, chunk: int) -> Tensor:
    """The objective's ``restore`` over a whole set, ``chunk`` images at a time, on the CPU."""
    n = corrupted.image.shape[0]
    restore, generator = pl_module.objective.restore, pl_module.sampling_generator
    parts = [restore(generator, corrupted.rows(i, i + chunk)).cpu() for i in range(0, n, chunk)]
    return torch.cat(parts)


def choose_restoration_metrics(compute: Sequence[str], features: str) -> tuple[MetricSpec, ...]:
    """The registered metrics ``compute`` names that restorations can give.

    With ``features="none"`` those that need features (FID) are left out; one that needs
    what no restoration gives (2D points) is refused.
    """
    chosen = choose_metrics(compute, "metrics.compute")
    possible = set(IMAGES).union(*(get_extractor(n).provides for n in extractor_names("images")))
    for spec in chosen:
        missing = sorted(spec.needs - possible)
        if missing:
            raise ConfigError(
                f"metrics.compute: {spec.name} needs {', '.join(missing)}, which restorations "
                "do not give"
            )
    provides = set(IMAGES)
    if features != NO_FEATURES:
        provides |= get_extractor(features).provides
    return tuple(spec for spec in chosen if spec.needs <= provides)


class RestorationMetrics(GStepCallback):
    """Every ``every_g_steps`` G steps and at the end: the ``compute`` metrics of restorations.

    By default PSNR, SSIM and FID (of the extractor's features of restored vs clean images;
    with ``features="none"`` every metric that needs features is left out), under their
    registered keys, and for each baseline ``metrics/baseline/<name>/<metric>``. Rank 0
    measures and broadcasts the values; ``best.ckpt`` follows ``monitor`` (PSNR) in its
    registered direction.
    """

    schedule_key = "done_at"

    def __init__(
        self,
        features: str = "domain",
        evaluator: str | None = "auto",
        evaluator_dir: str = "outputs/evaluators",
        every_g_steps: int = 1000,
        num_images: int = 1000,
        real_split: str = "test",
        seed: int = 2024,
        batch_size: int = 250,
        checkpoint_dir: str | None = None,
        compute: Sequence[str] = DEFAULT_METRICS,
        monitor: str | None = "psnr",
    ) -> None:
        choices = (*extractor_names("images"), NO_FEATURES)
        if features not in choices:
            raise ConfigError(f"metrics.features: {features!r} is not one of {', '.join(choices)}")
        if every_g_steps < 1 or num_images < 2 or batch_size < 1:
            raise ConfigError(
                "metrics: every_g_steps and batch_size must be >= 1 and num_images >= 2"
            )
        super().__init__(every_g_steps)
        self.chosen = choose_restoration_metrics(compute, features)
        # Without a metric that reads features, no extractor is loaded (nor its file needed).
        self.uses_extractor = any(not m.needs <= set(IMAGES) for m in self.chosen)
        self.monitor = choose_monitor(monitor, self.chosen, "metrics.monitor")
        self.features = features
        self.evaluator = evaluator
        self.evaluator_dir = evaluator_dir
        self.num_images = num_images
        self.real_split = real_split
        self.seed = seed
        self.batch_size = batch_size
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.extractor: FeatureExtractor | None = None
        self.final: dict[str, float] = {}
        self.best: dict[str, float] = {}
        self.seconds = 0.0
        self._set: tuple[Tensor, Corrupted, Tensor | None] | None = None
        self._baselines: dict[str, float] = {}

    def check(self, datamodule: pl.LightningDataModule) -> None:
        """Load the extractor and check it suits the data, before training starts."""
        if len(datamodule.shape) != 3:
            raise ConfigError("metrics=restoration: the data must be images")
        if self.uses_extractor:
            with torch.random.fork_rng(devices=[]):
                self.extractor = load_extractor(
                    self.features, datamodule, self.evaluator, self.evaluator_dir
                )

    def setup(self, trainer: pl.Trainer, pl_module: Any, stage: str) -> None:
        if not hasattr(getattr(pl_module, "objective", None), "corruption"):
            raise ConfigError("metrics=restoration measures restorations: add task=restoration")
        if self.extractor is None and self.uses_extractor:
            self.check(trainer.datamodule)
        if self.extractor is not None:
            self.extractor.to(pl_module.device)

    def _held_out(self, datamodule: Any, corruption: Corruption) -> None:
        clean, corrupted = held_out(
            datamodule, corruption, self.num_images, self.seed, self.real_split
        )
        features = None
        if self.extractor is not None:
            features = extract(self.extractor, clean, batch_size=self.batch_size)[0]
        self._set = (clean, corrupted, features)
        for name, images in corruption.baselines(corrupted).items():
            for key, value in self._scores(images).items():
                self._baselines[f"metrics/baseline/{name}/{short_key(key)}"] = value

    def _scores(self, images: Tensor) -> dict[str, float]:
        """The chosen metrics of ``images`` against the clean held-out set."""
        clean, _, clean_features = self._set
        features = logits = None
        if self.extractor is not None:
            features, logits = extract(self.extractor, images.clamp(-1, 1), self.batch_size)
        inputs = Inputs(
            images=images,
            real_images=clean,
            features=features,
            logits=logits,
            real_features=clean_features,
        )
        return compute_metrics(self.chosen, inputs, EvalSettings(seed=self.seed))

    def measure(self, pl_module: Any, datamodule: Any) -> dict[str, float]:
        """The metrics of the module's current generator and the baselines (one process)."""
        if self._set is None:
            self._held_out(datamodule, pl_module.objective.corruption)
        _, corrupted, _ = self._set
        restored = restore_in_chunks(pl_module, corrupted, self.batch_size)
        return {**self._scores(restored), **self._baselines}

    def act(self, trainer: pl.Trainer, pl_module: Any) -> None:
        """Measure on rank 0 now, share the values with every rank, log and keep the best."""
        start = time.perf_counter()
        pl_module.sync_buffers()
        metrics = self.measure(pl_module, trainer.datamodule) if trainer.is_global_zero else None
        metrics = trainer.strategy.broadcast(metrics, src=0)
        metrics["metrics/kimg"] = pl_module.kimg
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=pl_module.g_step)
        self.final = metrics
        self._keep_best(trainer, pl_module, metrics)
        self.seconds += time.perf_counter() - start

    def _keep_best(self, trainer: pl.Trainer, pl_module: Any, metrics: dict[str, float]) -> None:
        """Save best.ckpt when the monitored metric beats its best so far, in its direction."""
        if self.monitor is None:
            return
        key = self.monitor.key
        if not self.monitor.better(metrics[key], self.best.get(key)):
            return
        self.best = {key: metrics[key], "g_step": pl_module.g_step, "kimg": pl_module.kimg}
        if self.checkpoint_dir is not None:
            save_checkpoint_atomically(trainer, self.checkpoint_dir / "best.ckpt")

    def summary(self) -> dict[str, Any]:
        """Final and best values and the time spent, for summary.json."""
        return {"final": self.final, "best": self.best, "seconds": self.seconds}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "best": self.best, "seconds": self.seconds}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.best = dict(state_dict["best"])
        self.seconds = float(state_dict["seconds"])


class RestorationGrid(SampleGrid):
    """Grids of (input, output, target) triplets from fixed held-out images, 4 per row.

    The input is shown as stored (holes, noise, or the low-resolution image enlarged by
    pixel repetition); the images and their corruption are the same at every step.
    """

    def __init__(
        self,
        dirpath: str,
        every_g_steps: int = 500,
        num_samples: int = 16,
        seed: int = 1234,
        split: str = "test",
    ) -> None:
        super().__init__(dirpath, every_g_steps, num_samples, seed)
        self.split = split
        self._fixed: tuple[Tensor, Corrupted] | None = None

    def triplets(self, pl_module: Any, datamodule: Any) -> Tensor:
        """``[3 K, C, H, W]``: input, output and target of each of the K fixed images."""
        if self._fixed is None:
            self._fixed = held_out(
                datamodule, pl_module.objective.corruption, self.num_samples, self.seed, self.split
            )
        clean, corrupted = self._fixed
        shown = pl_module.objective.corruption.baselines(corrupted)["input"]
        restored = pl_module.objective.restore(pl_module.sampling_generator, corrupted).cpu()
        return torch.stack([shown, restored, clean], dim=1).flatten(0, 1)

    def picture(self, trainer: pl.Trainer, pl_module: Any) -> np.ndarray:
        images = self.triplets(pl_module, trainer.datamodule)
        per_row = max(1, min(4, math.isqrt(self.num_samples)))
        return image_grid(images, nrow=3 * per_row)

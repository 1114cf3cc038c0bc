"""The registered sample-quality metrics (FID, IS, KID, precision/recall by default; 2D mode
metrics for mixtures) on a G-step schedule, DDP-correct."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch

from ganlab.callbacks.checkpoint import save_checkpoint_atomically
from ganlab.callbacks.schedule import GStepCallback
from ganlab.data.identity import (
    data_identity,
    default_evaluator_path,
    evaluator_record,
    images_fingerprint,
    train_evaluator_command,
)
from ganlab.data.memory import to_unit_range
from ganlab.errors import ConfigError
from ganlab.metrics import DomainFeatures, FeatureExtractor, cached_features, extract
from ganlab.metrics.evaluation import EvalSettings, generate_chunks
from ganlab.metrics.registry import (
    METRICS,
    ExtractorSpec,
    Inputs,
    MetricSpec,
    choose_extractor,
    choose_metrics,
    choose_monitor,
    compute_metrics,
    extractor_names,
)
from ganlab.module import GANModule


def load_extractor(
    features: str,
    datamodule: Any,
    evaluator: str | None = "auto",
    evaluator_dir: str = "outputs/evaluators",
    inception_weights: str | None = None,
) -> FeatureExtractor | None:
    """The registered feature extractor ``features`` names (None for 2D points, which need none).

    An extractor of the data's own (``domain``) is ``evaluator``, or with ``auto`` the data's
    own file in ``evaluator_dir``; either way it must have been trained on exactly this data.
    """
    spec = choose_extractor(features, "metrics.features")
    if spec.load is None:
        return None
    if spec.own_data:
        if spec.classifier_data is not None:
            datamodule = spec.classifier_data(datamodule)
        return load_domain_evaluator(datamodule, evaluator, evaluator_dir, spec.load)
    return spec.load(inception_weights)


def load_domain_evaluator(
    datamodule: Any,
    evaluator: str | None,
    evaluator_dir: str,
    load: Callable[[str], Any] = DomainFeatures,
) -> DomainFeatures:
    """The domain evaluator for ``datamodule``, refused when trained on other images."""
    auto = evaluator in (None, "auto")
    path = default_evaluator_path(evaluator_dir, datamodule) if auto else Path(str(evaluator))
    retrain = train_evaluator_command(datamodule)
    if not path.is_file():
        raise ConfigError(
            f"metrics.evaluator: no evaluator at {path}; train it with `{retrain}` (or "
            "`make evaluator DATA=<data>`), or pick metrics.features=inception"
        )
    extractor = load(str(path))
    record = evaluator_record(datamodule)
    extractor.check_data(record["data_identity"], record["test_images"], retrain)
    return extractor


def check_needs(chosen: Sequence[MetricSpec], provides: frozenset[str], features: str) -> None:
    """Refuse a metric that needs what ``features`` cannot give (FID of 2D points, say)."""
    for spec in chosen:
        missing = sorted(spec.needs - provides)
        if missing:
            fitting = [name for name, m in METRICS.items() if m.needs <= provides]
            raise ConfigError(
                f"metrics.compute: {spec.name} needs {', '.join(missing)}, which "
                f"metrics.features={features} does not give; with {features} choose from "
                f"{', '.join(fitting)}"
            )


class SampleMetrics(GStepCallback):
    """Every ``every_g_steps`` G steps and at the end, measures ``num_samples`` samples.

    ``compute`` names the registered metrics to measure (default: the extractor's own list,
    for ``domain`` and ``inception`` FID, IS, KID and precision/recall) and ``monitor`` the
    one ``best.ckpt`` follows, in that metric's direction (None: no best.ckpt).
    Samples come from the EMA generator when enabled, in eval mode, from RNGs of their own
    (the training RNG streams are never touched). Ranks draw every N-th chunk and the
    features are gathered, so N processes give the numbers of one. Real-data features are
    cached on disk, keyed by the data's identity and a hash of the real images used, the
    split, the extractor and its weights' hash, and the sample count.
    Values go to every logger (step = G step).
    """

    schedule_key = "done_at"

    def __init__(
        self,
        features: str = "domain",
        evaluator: str | None = "auto",
        evaluator_dir: str = "outputs/evaluators",
        inception_weights: str | None = None,
        every_g_steps: int = 1000,
        num_samples: int = 10_000,
        real_split: str = "test",
        chunk_size: int = 250,
        seed: int = 2024,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        pr_k: int = 3,
        cache_dir: str = "outputs/cache",
        checkpoint_dir: str | None = None,
        compute: Sequence[str] | None = None,
        monitor: str | None = "fid",
    ) -> None:
        super().__init__(every_g_steps)
        self.features = features
        self.extractor_spec: ExtractorSpec = choose_extractor(features, "metrics.features")
        self.chosen = choose_metrics(
            self.extractor_spec.defaults if compute is None else compute, "metrics.compute"
        )
        check_needs(self.chosen, self.extractor_spec.provides, features)
        self.monitor = choose_monitor(monitor, self.chosen, "metrics.monitor")
        self.evaluator = evaluator
        self.inception_weights = inception_weights
        self.real_split = real_split
        self.settings = EvalSettings(
            num_samples=num_samples,
            chunk_size=chunk_size,
            seed=seed,
            kid_subsets=kid_subsets,
            kid_subset_size=kid_subset_size,
            pr_k=pr_k,
        )
        self.cache_dir = Path(cache_dir)
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.evaluator_dir = evaluator_dir
        self.extractor: FeatureExtractor | None = None
        self.final: dict[str, float] = {}
        self.best: dict[str, float] = {}
        self.history: list[dict[str, float]] = []
        self.seconds = 0.0

    def check(self, datamodule: pl.LightningDataModule) -> None:
        """Load the extractor and check it suits the data, before any training starts."""
        points = len(datamodule.shape) == 1
        if points != (self.extractor_spec.data == "points"):
            raise ConfigError(
                f"metrics.features={self.features} does not fit data {datamodule.name}: use "
                f"{' or '.join(extractor_names('points'))} for 2D points and "
                f"{' or '.join(extractor_names('images'))} for images"
            )
        # Building a network draws its initial weights from the global RNG, which training
        # uses too (dropout, penalties): fork it, so measuring never changes the run.
        with torch.random.fork_rng(devices=[]):
            self.extractor = load_extractor(
                self.features,
                datamodule,
                self.evaluator,
                self.evaluator_dir,
                self.inception_weights,
            )

    def setup(self, trainer: pl.Trainer, pl_module: GANModule, stage: str) -> None:
        if self.extractor is None and self.extractor_spec.load is not None:
            self.check(trainer.datamodule)
        if self.extractor is not None:
            self.extractor.to(pl_module.device)

    def act(self, trainer: pl.Trainer, pl_module: GANModule) -> None:
        """Measure now, on every rank (features are gathered), log on rank 0."""
        start = time.perf_counter()
        pl_module.sync_buffers()
        world, rank = trainer.world_size, trainer.global_rank
        chunks = range(rank, self.settings.num_chunks, world)
        generator = pl_module.generator
        mine = generate_chunks(
            pl_module.sample,
            chunks,
            self.settings,
            generator.z_dim,
            pl_module.latent,
            generator.num_classes,
            self.extractor,
            self.keeps_images,
        )
        everything = self._gather(mine, world)
        metrics = None
        if trainer.is_global_zero:
            parts = [everything[c] for c in range(self.settings.num_chunks)]
            metrics = self.compute(trainer.datamodule, parts)
        metrics = trainer.strategy.broadcast(metrics, src=0)
        metrics["metrics/kimg"] = pl_module.kimg
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=pl_module.g_step)
        self.final = metrics
        self.history.append({"g_step": pl_module.g_step, "kimg": pl_module.kimg, **metrics})
        self._keep_best(trainer, pl_module, metrics)
        self.seconds += time.perf_counter() - start

    @property
    def keeps_images(self) -> bool:
        """Whether a chosen metric reads the samples' pixels (Parzen), not only features."""
        return any("images" in m.needs for m in self.chosen)

    @staticmethod
    def _gather(mine: dict[int, tuple[torch.Tensor, ...]], world: int) -> dict[int, tuple]:
        if world == 1:
            return mine
        gathered: list[dict[int, tuple]] = [{} for _ in range(world)]
        torch.distributed.all_gather_object(gathered, mine)
        return {chunk: value for part in gathered for chunk, value in part.items()}

    def compute(self, datamodule: Any, parts: list[tuple[torch.Tensor, ...]]) -> dict[str, float]:
        """The chosen metrics of gathered chunks (features and logits, or 2D points), in
        chunk order."""
        if self.extractor is None:
            inputs = Inputs(
                points=torch.cat([p[0] for p in parts]),
                centers=datamodule.centers,
                std=datamodule.std,
            )
        else:
            needs_real = any("real_features" in m.needs for m in self.chosen)
            images = real_images = None
            if self.keeps_images:
                images = to_unit_range(torch.cat([p[2] for p in parts]))
                real_images = to_unit_range(datamodule.real_images(self.real_split)[0])
            inputs = Inputs(
                features=torch.cat([p[0] for p in parts]),
                logits=torch.cat([p[1] for p in parts]),
                real_features=self._real_features(datamodule) if needs_real else None,
                images=images,
                real_images=real_images,
            )
        return compute_metrics(self.chosen, inputs, self.settings)

    def _real_features(self, datamodule: Any) -> torch.Tensor:
        images, _ = datamodule.real_images(self.real_split)
        n = min(self.settings.num_samples, len(images))
        key = {
            **data_identity(datamodule),
            "split": self.real_split,
            "shape": list(datamodule.shape),
            "num_samples": n,
            "images": images_fingerprint(images[:n]),
            "extractor": self.extractor.name,
            "fingerprint": self.extractor.fingerprint,
        }

        def compute() -> torch.Tensor:
            return extract(self.extractor, images[:n], batch_size=self.settings.chunk_size)[0]

        return cached_features(self.cache_dir, key, compute)

    def _keep_best(
        self, trainer: pl.Trainer, pl_module: GANModule, metrics: dict[str, float]
    ) -> None:
        """Save best.ckpt when the monitored metric beats its best so far, in its direction."""
        if self.monitor is None:
            return
        key = self.monitor.key
        value = metrics.get(key)
        if value is None or not self.monitor.better(value, self.best.get(key)):
            return
        self.best = {key: value, "g_step": pl_module.g_step, "kimg": pl_module.kimg}
        if self.checkpoint_dir is not None:
            save_checkpoint_atomically(trainer, self.checkpoint_dir / "best.ckpt")

    def summary(self) -> dict[str, Any]:
        """Final and best values, every evaluation (the curve against kimg) and the time spent."""
        return {
            "final": self.final,
            "best": self.best,
            "history": self.history,
            "seconds": self.seconds,
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "best": self.best,
            "history": self.history,
            "seconds": self.seconds,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.best = dict(state_dict["best"])
        # Checkpoints written before the history was kept resume with an empty one.
        self.history = [dict(entry) for entry in state_dict.get("history", [])]
        self.seconds = float(state_dict["seconds"])

"""pix2pix as an objective (Isola et al. 2017): corrupt, restore, judge (input, image) pairs.

Each batch of clean images is corrupted on the fly from the ``corruption`` random stream
(seeded and checkpointed by the shell, so a resumed run draws the same corruptions); G maps
the corrupted image to a restoration; D judges (image, corrupted input) pairs. The G step
after ``n_critic`` D steps uses the last D step's batch and corruption.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ganlab.augment import NoAugment
from ganlab.objective.base import Batch, Draws, Logs, NetFactory, NetworkSpec, Objective
from ganlab.restoration.corruptions import Corrupted, Corruption


class RestorationObjective(Objective):
    """D's main phase: ``loss.d_loss`` on D(clean, input) and D(G(input), input).
    G's main phase: ``loss.g_loss`` on D(G(input), input) plus ``l1_weight`` times the mean
    absolute error to the clean image (Isola et al. 2017, eq. 4, lambda = 100).
    """

    rng_streams: ClassVar[tuple[str, ...]] = ("corruption",)
    metrics_callback: ClassVar[str] = "RestorationMetrics"
    draws_from_noise: ClassVar[bool] = False

    def __init__(
        self, corruption: Corruption | None, l1_weight: float = 100.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if corruption is None:
            raise ValueError(
                "corruption: task=restoration needs one; add corruption=mask, "
                "corruption=noise or corruption=downsample"
            )
        if not isinstance(l1_weight, int | float) or isinstance(l1_weight, bool) or l1_weight < 0:
            raise ValueError(f"task.objective.l1_weight: expected a number >= 0, got {l1_weight!r}")
        if not isinstance(self.augment, NoAugment):
            raise ValueError(
                f"augment: {type(self.augment).__name__} would transform the image but not the "
                "corrupted input it is paired with, so D's pairs would no longer match; "
                "task=restoration takes augment=none"
            )
        self.corruption = corruption
        self.l1_weight = float(l1_weight)

    def networks(
        self, generator: NetFactory, discriminator: NetFactory, spec: NetworkSpec
    ) -> tuple[nn.Module, nn.Module]:
        """U-Net G reading the corrupted image (+ mask) and D conditioned on that input."""
        try:
            self.corruption.check_shape(spec.shape)
        except ValueError as exc:
            raise ValueError(f"corruption: {exc} (data.resolution)") from None
        in_channels = spec.shape[0] + self.corruption.extra_channels
        g = generator(shape=spec.shape, in_channels=in_channels)
        d = discriminator(shape=spec.shape, condition_channels=in_channels)
        return g, d

    def corrupt(self, clean: Tensor, draws: Draws) -> Corrupted:
        """Corrupt this rank's batch with its share of a draw for the whole global batch.

        Rank r holds the r-th B images of the global batch (``StepSampler``), so it takes
        the r-th B draws: ranks never share a corruption, and N ranks with batch B pair each
        image with the corruption one process with batch N * B would give it.
        """
        world, rank, n = draws.world_size, draws.rank, clean.shape[0]
        drawn = self.corruption.draw(n * world, tuple(clean.shape[1:]), draws.rngs["corruption"])
        if drawn is not None:
            drawn = drawn[rank * n : (rank + 1) * n].to(clean.device)
        return self.corruption.apply(clean, drawn)

    def prepare(self, real: Tensor, labels: Tensor, draws: Draws) -> Batch:
        corrupted = self.corrupt(real, draws)

        def generate() -> Tensor:
            return self.corruption.compose(self.run_g(corrupted.network_input), corrupted)

        return Batch(real, corrupted.network_input, generate)

    def g_main(self, batch: Batch) -> tuple[Tensor, Logs]:
        fake = batch.generate()
        critic = self.critic_for_g(batch, fake)
        adversarial = self.loss.g_loss(
            critic(fake, batch.condition), self.real_logits_for_g(batch, critic)
        )
        l1 = (fake - batch.real).abs().mean()
        total = adversarial + self.l1_weight * l1
        return total, {
            "loss/g": adversarial.detach(),
            "loss/l1": l1.detach(),
            "loss/g_total": total.detach(),
        }

    @torch.no_grad()
    def restore(self, generator: nn.Module, corrupted: Corrupted) -> Tensor:
        """Restored images from ``generator`` (the sampling one), in eval mode."""
        device = next(generator.parameters()).device
        was_training = generator.training
        generator.eval()
        try:
            output = generator(corrupted.network_input.to(device))
        finally:
            generator.train(was_training)
        return self.corruption.compose(output, corrupted).clamp(-1, 1)

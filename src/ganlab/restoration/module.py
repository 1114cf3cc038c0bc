"""RestorationModule: pix2pix training (conditional adversarial loss + lambda * L1).

A subclass of ``GANModule``, so counters, EMA, schedulers, gradient reduction under DDP,
logging, checkpointed RNG states and ``training_step`` itself are the same code. What
changes is the step's three hooks: each batch of clean images is corrupted on the fly from
the module's own seeded RNG (saved in checkpoints, so a resumed run draws the same
corruptions), the generator maps the corrupted image to a restoration, and the
discriminator judges (input, image) pairs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ganlab.module import GANModule
from ganlab.restoration.corruptions import Corrupted, Corruption


class RestorationModule(GANModule):
    """Trains ``generator(corrupted) -> clean`` against a conditional discriminator.

    D step: ``D(clean, input)`` is real and ``D(G(input), input)`` fake under ``loss``.
    G step: ``loss.g_loss`` on ``D(G(input), input)`` plus ``l1_weight`` times the mean
    absolute error to the clean image (Isola et al. 2017, eq. 4, lambda = 100). The G step
    after ``n_critic`` D steps uses the last D step's batch and corruption.
    """

    # GANModule's save_hyperparameters collects this constructor's arguments too.
    NOT_HYPERPARAMETERS = (*GANModule.NOT_HYPERPARAMETERS, "corruption")

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: Any,
        g_optimizer: Any,
        d_optimizer: Any,
        corruption: Corruption,
        l1_weight: float = 100.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(generator, discriminator, loss, g_optimizer, d_optimizer, **kwargs)
        if not isinstance(l1_weight, int | float) or l1_weight < 0:
            raise ValueError(f"l1_weight must be a number >= 0, got {l1_weight!r}")
        self.corruption = corruption
        self.l1_weight = float(l1_weight)
        self._corruption_rng: torch.Generator | None = None

    def on_fit_start(self) -> None:
        super().on_fit_start()
        if self._corruption_rng is None:
            self._corruption_rng = torch.Generator(device=self.device).manual_seed(self.seed)

    def corrupt_batch(self, clean: Tensor) -> Corrupted:
        """Corrupt this rank's batch with its share of a draw for the whole global batch.

        Rank r holds every N-th image of the global batch (``StepSampler``), so it takes
        every N-th draw from r: ranks never share a corruption, and N ranks with batch B
        pair each image with the corruption one process with batch N * B would give it.
        """
        world, rank, n = self.trainer.world_size, self.trainer.global_rank, clean.shape[0]
        drawn = self.corruption.draw(n * world, tuple(clean.shape[1:]), self._corruption_rng)
        if drawn is not None:
            drawn = drawn[rank::world].to(clean.device)
        return self.corruption.apply(clean, drawn)

    @torch.no_grad()
    def restore(self, corrupted: Corrupted) -> Tensor:
        """Restored images from the sampling generator (EMA if kept), in eval mode."""
        net = self.sampling_generator
        was_training = net.training
        net.eval()
        try:
            output = net(corrupted.network_input.to(self.device))
        finally:
            net.train(was_training)
        return self.corruption.compose(output, corrupted).clamp(-1, 1)

    def _condition(self, real: Tensor, labels: Tensor) -> Corrupted:
        return self.corrupt_batch(real)

    def _generate(self, corrupted: Corrupted) -> Tensor:
        return self.corruption.compose(self._forward["g"](corrupted.network_input), corrupted)

    def _discriminator_step(self, real: Tensor, condition: Corrupted, record_norm: bool) -> Tensor:
        with torch.no_grad():
            fake = self._generate(condition)
        return self.update_discriminator(real, fake, condition.network_input, record_norm)

    def _generator_step(
        self, real: Tensor, condition: Corrupted, real_logits: Tensor, record_norm: bool
    ) -> None:
        self.toggle_optimizer(self.optimizers()[0])
        fake = self._generate(condition)
        d_fake = self._forward["d"](fake, condition.network_input)
        adversarial = self.loss.g_loss(d_fake, real_logits)
        l1 = (fake - real).abs().mean()
        total = adversarial + self.l1_weight * l1
        self.apply_update("g", total, record_norm)
        self._last["loss/g"] = adversarial.detach()
        self._last["loss/l1"] = l1.detach()
        self._last["loss/g_total"] = total.detach()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["ganlab_rng"]["corruption"] = self._corruption_rng.get_state()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        self._corruption_rng = torch.Generator(device=self.device)
        self._corruption_rng.set_state(checkpoint["ganlab_rng"]["corruption"])

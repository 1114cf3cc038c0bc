"""RestorationModule: pix2pix training (conditional adversarial loss + lambda * L1).

A subclass of ``GANModule``, so counters, EMA, schedulers, gradient reduction under DDP,
logging and checkpointed RNG states are the same code. What changes is the step: each
batch of clean images is corrupted on the fly from the module's own seeded RNG (saved in
checkpoints, so a resumed run draws the same corruptions), the generator maps the
corrupted image to a restoration, and the discriminator judges (input, image) pairs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ganlab.module import GANModule
from ganlab.restoration.corruptions import Corrupted, Corruption

IGNORED = (
    "generator",
    "discriminator",
    "loss",
    "g_optimizer",
    "d_optimizer",
    "penalties",
    "scheduler",
    "corruption",
)


class RestorationModule(GANModule):
    """Trains ``generator(corrupted) -> clean`` against a conditional discriminator.

    D step: ``D(clean, input)`` is real and ``D(G(input), input)`` fake under ``loss``.
    G step: ``loss.g_loss`` on ``D(G(input), input)`` plus ``l1_weight`` times the mean
    absolute error to the clean image (Isola et al. 2017, eq. 4, lambda = 100). The G step
    after ``n_critic`` D steps uses the last D step's batch and corruption.
    """

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
        # GANModule's call collected this constructor's arguments too; keep plain values only,
        # so checkpoints load with weights_only=True.
        self.save_hyperparameters(ignore=list(IGNORED))
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

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        clean = self._real_batch(batch[0])
        corrupted = self.corrupt_batch(clean)
        condition = corrupted.network_input
        will_g_step = (self.d_step + 1) % self.n_critic == 0
        will_log = will_g_step and (self.g_step + 1) % self.log_every == 0
        real_logits = self._restoration_d_step(clean, corrupted, will_log)
        self.d_step += 1
        self.images_seen += clean.shape[0] * self.trainer.world_size
        if will_g_step:
            self._restoration_g_step(clean, corrupted, condition, real_logits, will_log)
            self.g_step += 1
            self._step_schedulers()
            if self.generator_ema is not None:
                self._update_ema()
            if will_log or self.training_done:
                self._log_metrics()
        if self.training_done:
            self.trainer.should_stop = True

    def _generate(self, corrupted: Corrupted) -> Tensor:
        return self.corruption.compose(self._forward["g"](corrupted.network_input), corrupted)

    def _restoration_d_step(self, clean: Tensor, corrupted: Corrupted, record_norm: bool) -> Tensor:
        with torch.no_grad():
            fake = self._generate(corrupted)
        return self.update_discriminator(clean, fake, corrupted.network_input, record_norm)

    def _restoration_g_step(
        self,
        clean: Tensor,
        corrupted: Corrupted,
        condition: Tensor,
        real_logits: Tensor,
        record_norm: bool,
    ) -> None:
        self.toggle_optimizer(self.optimizers()[0])
        fake = self._generate(corrupted)
        adversarial = self.loss.g_loss(self._forward["d"](fake, condition), real_logits)
        l1 = (fake - clean).abs().mean()
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

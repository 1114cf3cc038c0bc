"""GANModule: the Lightning shell around an objective's phases.

One ``training_step`` is one D step on one real batch: the D phases due at this step, then,
every ``n_critic`` D steps, the G phases due. What each phase computes is the objective's
(``ganlab.objective``, plain PyTorch); the shell keeps what is Lightning's: the counters,
the RNG streams, the EMA of G, checkpoint state, logging, and the optimizer steps with the
DDP gradient reduction. Progress is counted in ``d_step``, ``g_step`` and ``kimg`` (real
images shown, summed over ranks), never in Lightning's ``global_step``, which counts both
optimizers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import lightning.pytorch as pl
import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from ganlab.noise import step_noise
from ganlab.objective import Batch, Draws, Objective, Phase
from ganlab.schedules import KimgCosine

OptimizerFactory = Callable[[Iterable[nn.Parameter]], Optimizer]
SchedulerFactory = Callable[[Optimizer], LRScheduler]

LATENTS = ("normal", "uniform")


def grad_norm(module: nn.Module) -> float:
    """Global L2 norm of a module's gradients (0 when none exist yet)."""
    norms = [p.grad.detach().norm() for p in module.parameters() if p.grad is not None]
    return torch.stack(norms).norm().item() if norms else 0.0


class GANModule(pl.LightningModule):
    """Trains a generator against a discriminator with manual optimization.

    The networks, the objective and the optimizer factories are built outside (by
    ``ganlab.build`` from the Hydra config), so this class knows no dataset, no task and no
    config system and can be used with plain PyTorch objects.
    """

    # Constructor arguments that are objects, not values: kept out of the saved
    # hyperparameters so checkpoints load with weights_only=True.
    NOT_HYPERPARAMETERS: ClassVar[tuple[str, ...]] = (
        "generator",
        "discriminator",
        "objective",
        "g_optimizer",
        "d_optimizer",
        "scheduler",
    )

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        objective: Objective,
        g_optimizer: OptimizerFactory,
        d_optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        ema_decay: float = 0.0,
        ema_kimg: float | None = None,
        ema_rampup: float | None = None,
        grad_clip: float | None = None,
        alpha: float = 0.5,
        latent: str = "normal",
        log_every: int = 10,
        max_g_steps: int | None = None,
        max_kimg: float | None = None,
        seed: int = 0,
        channels_last: bool = False,
        compile: bool = False,
    ) -> None:
        super().__init__()
        if latent not in LATENTS:
            raise ValueError(f"gan.latent: expected one of {LATENTS}, got {latent!r}")
        self.automatic_optimization = False
        self.save_hyperparameters(ignore=list(self.NOT_HYPERPARAMETERS))
        self.generator = generator
        self.discriminator = discriminator
        if ema_decay > 0 and ema_kimg is not None:
            raise ValueError(
                "gan.ema_decay and gan.ema_kimg are both set: give the EMA either a constant "
                "decay or a half-life in kimg, and set the other to 0 / null"
            )
        if ema_rampup is not None and ema_kimg is None:
            raise ValueError("gan.ema_rampup needs gan.ema_kimg (the half-life it ramps up to)")
        keep_ema = ema_decay > 0 or ema_kimg is not None
        self.generator_ema = self._make_ema(generator) if keep_ema else None
        self.objective = objective
        # A submodule, so an augment's state (ADA's p) is in checkpoints and moves with .to().
        self.augment = objective.augment
        objective.bind(generator, discriminator)
        self._g_optimizer = g_optimizer
        self._d_optimizer = d_optimizer
        self._scheduler = scheduler
        self.ema_decay = ema_decay
        self.ema_kimg = ema_kimg
        self.ema_rampup = ema_rampup
        self._images_at_ema = 0
        self.grad_clip = grad_clip
        self.alpha = alpha
        self.latent = latent
        self.log_every = log_every
        self.max_g_steps = max_g_steps
        self.max_kimg = max_kimg
        self.seed = seed
        self.channels_last = channels_last
        self.compile = compile
        # Seeded random streams: G's latents and each the objective names (corruptions).
        self.rng_streams = ("latent", "noise", *objective.rng_streams)
        self._rngs: dict[str, torch.Generator] = {}
        self.d_step = 0
        self.g_step = 0
        self.images_seen = 0
        self.last_logged: dict[str, float] = {}
        self.run_warnings: list[str] = []
        self._last: dict[str, Tensor] = {}
        self._grad_norms: dict[str, float] = {}

    @staticmethod
    def _make_ema(generator: nn.Module) -> nn.Module:
        ema = copy.deepcopy(generator)
        ema.requires_grad_(False)
        return ema

    # ----------------------------------------------------------------- progress

    @property
    def kimg(self) -> float:
        """Thousands of real images shown to the discriminator, over all ranks."""
        return self.images_seen / 1000.0

    @property
    def training_done(self) -> bool:
        """Whether the configured training length (G steps or kimg) is reached."""
        if self.max_g_steps is not None and self.g_step >= self.max_g_steps:
            return True
        return self.max_kimg is not None and self.kimg >= self.max_kimg

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator used for samples and evaluation: the EMA copy when enabled."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    # ----------------------------------------------------------------- sampling

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` latent vectors on the module's device (from ``generator`` if given)."""
        z_dim = self.generator.z_dim
        device = self.device if generator is None else generator.device
        if self.latent == "uniform":
            z = torch.rand(n, z_dim, generator=generator, device=device) * 2 - 1
        else:
            z = torch.randn(n, z_dim, generator=generator, device=device)
        return z.to(self.device)

    def on_fit_start(self) -> None:
        for name in self.rng_streams:
            if name not in self._rngs:
                self._rngs[name] = torch.Generator(device=self.device).manual_seed(self.seed)
        if self.channels_last:
            for net in (self.generator, self.discriminator, self.generator_ema):
                if net is not None:
                    net.to(memory_format=torch.channels_last)
        if self.compile:
            # Compiled wrappers share the networks' parameters and stay out of the module
            # tree, so checkpoints do not change.
            compiled = (torch.compile(self.generator), torch.compile(self.discriminator))
            self.objective.bind(self.generator, self.discriminator, compiled)

    def _real_batch(self, x: Tensor) -> Tensor:
        """The real images in the networks' memory format."""
        if self.channels_last and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def batch_latent(self, batch_size: int) -> Tensor:
        """Latents for this rank's share of the global batch, from the module's own RNG.

        The stream is seeded by ``seed``, identical on every rank and saved in checkpoints:
        each rank draws the whole global batch and keeps its own slice, so ranks never share
        noise, N ranks with batch B see the latents of one process with batch N * B, and a
        resumed run continues the same stream.
        """
        world = self.trainer.world_size
        if world == 1:
            return self.sample_latent(batch_size, self._rngs["latent"])
        z = self.sample_latent(batch_size * world, self._rngs["latent"])
        rank = self.trainer.global_rank
        return z[rank * batch_size : (rank + 1) * batch_size]

    @torch.no_grad()
    def sample(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """Generate from given latents (and labels) in eval mode, restoring the mode after."""
        net = self.sampling_generator
        was_training = net.training
        net.eval()
        try:
            return net(z.to(self.device), None if y is None else y.to(self.device))
        finally:
            net.train(was_training)

    # ----------------------------------------------------------------- optimizers

    def configure_optimizers(self) -> Any:
        opt_g = self._g_optimizer(self.generator.parameters())
        opt_d = self._d_optimizer(self.discriminator.parameters())
        if self._scheduler is None:
            return [opt_g, opt_d]
        return [opt_g, opt_d], [self._scheduler(opt_g), self._scheduler(opt_d)]

    # ----------------------------------------------------------------- training

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """The D phases due at this D step, and every ``n_critic``-th step the G phases due;
        then the counters, schedules, EMA and logging, the same for every objective."""
        world, rank = self.trainer.world_size, self.trainer.global_rank
        with step_noise(self._rngs["noise"], world, rank):
            self._training_step(batch)

    def _training_step(self, batch: tuple[Tensor, Tensor]) -> None:
        real = self._real_batch(batch[0])
        step = self.objective.prepare(real, batch[1], self._draws())
        will_g_step = (self.d_step + 1) % self.objective.n_critic == 0
        will_log = will_g_step and (self.g_step + 1) % self.log_every == 0
        for phase in self.objective.due("D", self.d_step):
            self._run_phase(phase, step, will_log)
        self.d_step += 1
        self.images_seen += real.shape[0] * self.trainer.world_size
        if will_g_step:
            for phase in self.objective.due("G", self.g_step):
                self._run_phase(phase, step, will_log)
            self.g_step += 1
            self._step_schedulers()
            if self.generator_ema is not None:
                self._update_ema(self._ema_decay())
            if will_log or self.training_done:
                self._log_metrics()
        if self.training_done:
            self.trainer.should_stop = True

    def _draws(self) -> Draws:
        return Draws(
            latent=self.batch_latent,
            rngs=self._rngs,
            world_size=self.trainer.world_size,
            rank=self.trainer.global_rank,
        )

    def _run_phase(self, phase: Phase, step: Batch, record_norm: bool) -> None:
        """One optimizer step of the phase's network: the only place that toggles an
        optimizer, backpropagates, averages over ranks, clips and steps."""
        opt_g, opt_d = self.optimizers()
        opt, net = (opt_d, self.discriminator) if phase.network == "D" else (opt_g, self.generator)
        self.toggle_optimizer(opt)
        loss, logs = self.objective.phase_loss(phase, step, self.kimg)
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        self._reduce_gradients(net)
        if record_norm:
            self._grad_norms[f"grad_norm/{phase.name.lower()}"] = grad_norm(net)
        if self.grad_clip is not None:
            self.clip_gradients(
                opt, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm"
            )
        opt.step()
        self.objective.after_step(phase, self.discriminator)
        self.untoggle_optimizer(opt)
        self._last.update(logs)

    def _reduce_gradients(self, net: nn.Module) -> None:
        """Average one network's gradients over ranks in a single all-reduce (no-op alone)."""
        world = self.trainer.world_size
        if world == 1:
            return
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        flat = torch.cat([g.reshape(-1) for g in grads])
        torch.distributed.all_reduce(flat)
        flat.div_(world)
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()

    @torch.no_grad()
    def sync_buffers(self) -> None:
        """Give every rank rank 0's buffers (batch-norm statistics), e.g. before evaluation."""
        if self.trainer.world_size == 1:
            return
        for buffer in self.buffers():
            torch.distributed.broadcast(buffer, src=0)

    def _step_schedulers(self) -> None:
        """LR schedules advance once per G step for both networks (WGAN-GP's convention);
        one that follows progress (``KimgCosine``) is set to the images seen so far."""
        if self._scheduler is None:
            return
        for scheduler in self.lr_schedulers():
            if isinstance(scheduler, KimgCosine):
                scheduler.step_to(self.kimg)
            else:
                scheduler.step()

    def _ema_decay(self) -> float:
        """The EMA's decay for this G step: the constant ``ema_decay``, or StyleGAN2-ADA's
        half-life: 0.5 ** (images since the last update / half-life in images), the
        half-life ramped up to ``ema_rampup`` x the images seen so far early in training."""
        shown = self.images_seen - self._images_at_ema
        self._images_at_ema = self.images_seen
        if self.ema_kimg is None:
            return self.ema_decay
        half_life = self.ema_kimg * 1000
        if self.ema_rampup is not None:
            half_life = min(half_life, self.images_seen * self.ema_rampup)
        return 0.5 ** (shown / max(half_life, 1e-8))

    @torch.no_grad()
    def _update_ema(self, decay: float) -> None:
        ema_params = list(self.generator_ema.parameters())
        params = [p.detach() for p in self.generator.parameters()]
        torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        for ema_buffer, buffer in zip(
            self.generator_ema.buffers(), self.generator.buffers(), strict=True
        ):
            ema_buffer.copy_(buffer)

    def latest_values(self) -> dict[str, float]:
        """The losses and mean logits of the most recent D and G steps, as floats."""
        return {key: value.item() for key, value in self._last.items()}

    def report(self, message: str) -> None:
        """A warning for the console, the log and summary.json (``run_warnings``)."""
        self.run_warnings.append(message)
        self.print(f"warning: {message}")

    def _log_metrics(self) -> None:
        metrics = self.latest_values()
        metrics["loss/combined"] = (
            self.alpha * metrics["loss/g"] + (1 - self.alpha) * metrics["loss/d"]
        )
        metrics.update(self._grad_norms)
        opt_g, opt_d = self.optimizers()
        metrics["lr/g"] = opt_g.param_groups[0]["lr"]
        metrics["lr/d"] = opt_d.param_groups[0]["lr"]
        schedules = self.lr_schedulers() if self._scheduler is not None else []
        if any(isinstance(s, KimgCosine) and s.beta2_end is not None for s in schedules):
            metrics["beta2/g"] = opt_g.param_groups[0]["betas"][1]
            metrics["beta2/d"] = opt_d.param_groups[0]["betas"][1]
        metrics["progress/kimg"] = self.kimg
        metrics["progress/d_step"] = float(self.d_step)
        self.last_logged = metrics
        for logger in self.loggers:
            logger.log_metrics(metrics, step=self.g_step)

    # ----------------------------------------------------------------- checkpoint

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["ganlab_counters"] = {
            "d_step": self.d_step,
            "g_step": self.g_step,
            "images_seen": self.images_seen,
            "images_at_ema": self._images_at_ema,
        }
        checkpoint["ganlab_rng"] = {
            **{name: self._rngs[name].get_state() for name in self.rng_streams},
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        counters = checkpoint["ganlab_counters"]
        self.d_step = int(counters["d_step"])
        self.g_step = int(counters["g_step"])
        self.images_seen = int(counters["images_seen"])
        # Written since the EMA half-life came; before, the EMA's decay needed no count.
        self._images_at_ema = int(counters.get("images_at_ema", self.images_seen))
        rng = checkpoint["ganlab_rng"]
        for name in self.rng_streams:
            self._rngs[name] = torch.Generator(device=self.device)
            self._rngs[name].set_state(rng[name])
        # The global streams drive what else is random (augmentations, a user's own code);
        # restoring them makes a resumed run take the same draws as one never stopped.
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])

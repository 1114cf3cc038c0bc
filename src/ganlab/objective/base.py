"""What every task's objective shares: the phases, the loss terms, and the one door to D.

Plain PyTorch: the Lightning module (``ganlab.module.GANModule``) owns the networks, the
counters, the RNG streams and the optimizer steps, and asks the objective which phases are
due and what each one's loss is. Every evaluation of D, in every phase and every penalty,
goes through ``run_d``, where the augment pipe acts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from ganlab.augment import NoAugment
from ganlab.losses import AdversarialLoss
from ganlab.objective.phases import Phase, schedule

Logs = dict[str, Tensor]
NetFactory = Callable[..., nn.Module]
MAIN = "adversarial"


class Regularizer(NamedTuple):
    """A loss term of its own, run every ``every`` steps of its network with value x every,
    and times ``decay(kimg)`` when a decay is given (R3GAN's cosine schedule of gamma).

    A D regularizer is called ``term(run_d, real, fake, condition)`` (R1, R2, gradient
    penalty: ``ganlab.losses``); a G regularizer ``term(generate, run_d, real, condition)``,
    where ``generate()`` gives G's output for the batch inside the autograd graph.
    """

    term: Callable[..., Tensor]
    every: int = 1
    decay: Callable[[float], float] | None = None


@dataclass(frozen=True)
class NetworkSpec:
    """What an objective completes the model's network factories with: the data's shape,
    its class count and per-process batch size, and the model's conditioning and packing."""

    shape: tuple[int, ...]
    num_classes: int
    batch_size: int | None = None
    conditional: bool = False
    pack: int = 1


@dataclass(frozen=True)
class Draws:
    """The shell's random streams and place, handed to ``Objective.prepare`` at each D step."""

    latent: Callable[[int], Tensor]
    rngs: Mapping[str, torch.Generator]
    world_size: int = 1
    rank: int = 0


@dataclass
class Batch:
    """One D step's data, shared by its phases and by the G step that may follow it.

    ``condition`` is what D sees besides the images (labels, a corrupted input, or None);
    ``generate()`` gives G's output for this batch inside the autograd graph.
    """

    real: Tensor
    condition: Any
    generate: Callable[[], Tensor]
    _fake: Tensor | None = None

    def detached_fake(self) -> Tensor:
        """G's output without a graph, made once per D step and reused by D's phases."""
        if self._fake is None:
            with torch.no_grad():
                self._fake = self.generate()
        return self._fake


class Objective(ABC):
    """The phases and loss terms of one task; subclasses say how a batch becomes G's input
    and D's condition (``prepare``), and how networks are built for the data."""

    # Named random streams the task draws from, seeded and checkpointed by the shell.
    rng_streams: ClassVar[tuple[str, ...]] = ()
    # The metrics callback class that measures this task (checked before training).
    metrics_callback: ClassVar[str] = "SampleMetrics"
    # Whether G draws from noise (ganlab-sample, evaluate) or maps an input (ganlab-restore).
    draws_from_noise: ClassVar[bool] = True

    def __init__(
        self,
        loss: AdversarialLoss,
        augment: nn.Module | None = None,
        penalties: Mapping[str, Regularizer] | None = None,
        g_penalties: Mapping[str, Regularizer] | None = None,
        n_critic: int = 1,
        unrolled_steps: int = 0,
        unrolled_lr: float | None = None,
    ) -> None:
        if not isinstance(n_critic, int) or isinstance(n_critic, bool) or n_critic < 1:
            raise ValueError(f"phases.n_critic: expected an integer >= 1, got {n_critic!r}")
        if not isinstance(unrolled_steps, int) or isinstance(unrolled_steps, bool):
            raise ValueError(f"phases.unrolled_steps: expected an integer, got {unrolled_steps!r}")
        if unrolled_steps < 0:
            raise ValueError(f"phases.unrolled_steps: expected 0 or more, got {unrolled_steps}")
        if unrolled_steps and not (isinstance(unrolled_lr, int | float) and unrolled_lr > 0):
            raise ValueError(
                f"phases.unrolled_lr: unrolling D needs a positive look-ahead learning rate, "
                f"got {unrolled_lr!r}"
            )
        self.unrolled_steps = unrolled_steps
        self.unrolled_lr = unrolled_lr
        self.loss = loss
        self.augment = NoAugment() if augment is None else augment
        self.penalties = dict(penalties or {})
        self.g_penalties = dict(g_penalties or {})
        shared = (set(self.penalties) & set(self.g_penalties)) | (
            {MAIN} & (set(self.penalties) | set(self.g_penalties))
        )
        if shared:
            raise ValueError(f"loss: penalty names must differ: {', '.join(sorted(shared))}")
        self.n_critic = n_critic
        self.phases: tuple[Phase, ...] = (
            *schedule("D", MAIN, {k: r.every for k, r in self.penalties.items()}),
            *schedule("G", MAIN, {k: r.every for k, r in self.g_penalties.items()}),
        )
        self.generator: nn.Module | None = None
        self._g: Callable[..., Tensor] | None = None
        self._d: Callable[..., Tensor] | None = None
        self._d_eager: Callable[..., Tensor] | None = None

    # ------------------------------------------------------------------ networks

    def bind(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        compiled: tuple[Callable[..., Tensor], Callable[..., Tensor]] | None = None,
    ) -> None:
        """The networks the phases run, and their compiled forwards when given (penalties
        differentiate D's input gradients twice, so they always use the eager D)."""
        self.generator = generator
        self._g, self._d = (generator, discriminator) if compiled is None else compiled
        self._d_eager = discriminator

    def run_g(self, *inputs: Any) -> Tensor:
        """G's forward on ``inputs`` (what ``prepare`` decided G sees)."""
        return self._g(*inputs)

    def run_d(self, x: Tensor, condition: Any, eager: bool = False) -> Tensor:
        """The one door to D: ``x`` through the augment pipe, then D's logits."""
        d = self._d_eager if eager else self._d
        return d(self.augment(x), condition)

    def _run_d_eager(self, x: Tensor, condition: Any) -> Tensor:
        return self.run_d(x, condition, eager=True)

    @abstractmethod
    def networks(
        self, generator: NetFactory, discriminator: NetFactory, spec: NetworkSpec
    ) -> tuple[nn.Module, nn.Module]:
        """G and D for the data and model options of ``spec``, from partial factories."""

    # ------------------------------------------------------------------ the step

    @abstractmethod
    def prepare(self, real: Tensor, labels: Tensor, draws: Draws) -> Batch:
        """The batch of this D step: D's condition and how G is run on it."""

    def due(self, network: str, step: int) -> list[Phase]:
        """The phases of ``network`` ("D" or "G") that run at its step ``step``."""
        return [p for p in self.phases if p.network == network and p.due(step)]

    def phase_loss(self, phase: Phase, batch: Batch, kimg: float = 0.0) -> tuple[Tensor, Logs]:
        """The sum of the phase's terms (each times the phase's scale and its decay at
        ``kimg``) and what to log."""
        total: Tensor | None = None
        logs: Logs = {}
        for name in phase.terms:
            value, term_logs = self._term(phase.network, name, batch)
            logs.update(term_logs)
            decay = self._decay(phase.network, name)
            if decay is not None:
                factor = decay(kimg)
                logs[f"penalty/{name}_decay"] = torch.tensor(factor)
                value = value * factor
            if phase.scale != 1:
                value = value * phase.scale
            total = value if total is None else total + value
        if len(phase.terms) > 1:
            logs[f"loss/{phase.name.lower()}_total"] = total.detach()
        return total, logs

    def after_step(self, phase: Phase, discriminator: nn.Module) -> None:
        """Run after each optimizer step of ``phase`` (the loss's D constraint, e.g. clipping)."""
        if phase.network == "D":
            self.loss.after_d_step(discriminator)

    def _decay(self, network: str, name: str) -> Callable[[float], float] | None:
        if name == MAIN:
            return None
        return (self.penalties if network == "D" else self.g_penalties)[name].decay

    def _term(self, network: str, name: str, batch: Batch) -> tuple[Tensor, Logs]:
        if name == MAIN:
            return self.d_main(batch) if network == "D" else self.g_main(batch)
        if network == "D":
            term = self.penalties[name].term
            value = term(self._run_d_eager, batch.real, batch.detached_fake(), batch.condition)
        else:
            term = self.g_penalties[name].term
            value = term(batch.generate, self.run_d, batch.real, batch.condition)
        return value, {f"penalty/{name}": value.detach()}

    def d_main(self, batch: Batch) -> tuple[Tensor, Logs]:
        """D's adversarial term on the real batch against G's detached output."""
        fake = batch.detached_fake()  # first: G's dropout draws before D's, as ever
        real_logits = self.run_d(batch.real, batch.condition)
        fake_logits = self.run_d(fake, batch.condition)
        d_loss = self.loss.d_loss(real_logits, fake_logits)
        logs = {
            "loss/d": d_loss.detach(),
            "logits/real": real_logits.detach().mean(),
            "logits/fake": fake_logits.detach().mean(),
        }
        # An adaptive augment (ADA) measures D's overfitting on the reals it augmented.
        observe = getattr(self.augment, "observe", None)
        if observe is not None:
            observe(real_logits, batch.real.shape[0])
            logs.update(self.augment.logged())
        return d_loss, logs

    def g_main(self, batch: Batch) -> tuple[Tensor, Logs]:
        """G's adversarial term on a fresh output, against D or its unrolled look-ahead."""
        fake = batch.generate()
        critic = self.critic_for_g(batch, fake)
        fake_logits = critic(fake, batch.condition)
        g_loss = self.loss.g_loss(fake_logits, self.real_logits_for_g(batch, critic))
        return g_loss, {"loss/g": g_loss.detach()}

    def critic_for_g(self, batch: Batch, fake: Tensor) -> Callable[[Tensor, Any], Tensor]:
        """The D that G's phase is scored by: ``run_d``, or with ``unrolled_steps`` = k the
        D after k look-ahead SGD steps on its loss (unrolled GAN, Metz et al. 2017).

        The look-ahead differentiates through its own updates (``create_graph``), so G's
        gradient sees how D would answer its samples. It works on copies of D's parameters
        and buffers through ``torch.func.functional_call``: D itself is left as it was, and
        its parameters receive no gradient from G's phase. Every input goes through the
        augment pipe, as at the door.
        """
        if self.unrolled_steps == 0:
            return self.run_d
        d = self._d_eager
        buffers = {name: b.clone() for name, b in d.named_buffers()}
        params = {name: p.detach().requires_grad_(True) for name, p in d.named_parameters()}

        def look_ahead(weights: dict[str, Tensor]) -> Callable[[Tensor, Any], Tensor]:
            def critic(x: Tensor, condition: Any) -> Tensor:
                inputs = (self.augment(x), condition)
                return torch.func.functional_call(d, (weights, buffers), inputs)

            return critic

        for _ in range(self.unrolled_steps):
            critic = look_ahead(params)
            d_loss = self.loss.d_loss(
                critic(batch.real, batch.condition), critic(fake, batch.condition)
            )
            grads = torch.autograd.grad(d_loss, list(params.values()), create_graph=True)
            params = {
                name: p - self.unrolled_lr * g
                for (name, p), g in zip(params.items(), grads, strict=True)
            }
        return look_ahead(params)

    def real_logits_for_g(
        self, batch: Batch, critic: Callable[[Tensor, Any], Tensor] | None = None
    ) -> Tensor | None:
        """For a relativistic loss, the logits on the real batch of D as it is now (after
        its step; ``critic`` when G is scored by another, the unrolled D), through the door
        like every input of D; None for the other losses. No graph is kept: the real batch
        holds nothing of G."""
        if not self.loss.relativistic:
            return None
        with torch.no_grad():
            return (critic or self.run_d)(batch.real, batch.condition)

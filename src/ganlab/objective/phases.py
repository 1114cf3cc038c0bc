"""The training step as data: phases, each a network to update, its loss terms and an interval.

A D step runs D's main phase; a regularizer of D with interval ``k`` runs every ``k`` D
steps with its value multiplied by ``k`` (lazy regularization, Karras et al. 2020,
"Analyzing and Improving the Image Quality of StyleGAN", section 3.1), in a phase of its own
with its own optimizer step. Regularizers due as often as the main phase join it, so one
backward pass serves both, as when no interval is set. G's phases run every ``n_critic``
D steps; their intervals count G steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

NETWORKS = ("D", "G")


@dataclass(frozen=True)
class Phase:
    """One optimizer step of ``network`` on the sum of ``terms``, every ``every`` steps.

    ``every`` counts the network's own steps (D steps for D, G steps for G); each term's
    value is multiplied by ``scale`` (its interval, so a lazy penalty weighs as if it ran at
    every step).
    """

    name: str
    network: str
    terms: tuple[str, ...]
    every: int = 1

    def __post_init__(self) -> None:
        if self.network not in NETWORKS:
            raise ValueError(f"phase {self.name}: network {self.network!r} is not D or G")
        if not isinstance(self.every, int) or isinstance(self.every, bool) or self.every < 1:
            raise ValueError(
                f"phase {self.name}: every must be an integer >= 1, got {self.every!r}"
            )
        if not self.terms:
            raise ValueError(f"phase {self.name}: no loss terms")

    @property
    def scale(self) -> int:
        """What each term's value is multiplied by: the phase's interval."""
        return self.every

    def due(self, step: int) -> bool:
        """Whether the phase runs at the network's step ``step`` (counted from 0)."""
        return step % self.every == 0


def schedule(network: str, main: str, regularizers: Mapping[str, int]) -> tuple[Phase, ...]:
    """The phases of one network: ``main`` with the regularizers due every step, then one
    phase per longer interval (``<network>reg``, or ``<network>reg<k>`` when intervals differ).

    ``regularizers`` maps each term's name to its interval, in the order the terms are added.
    """
    for name, every in regularizers.items():
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"{name}.every: expected an integer >= 1, got {every!r}")
    fused = tuple(name for name, every in regularizers.items() if every == 1)
    phases = [Phase(network, network, (main, *fused))]
    intervals = sorted({every for every in regularizers.values() if every > 1})
    for every in intervals:
        terms = tuple(name for name, k in regularizers.items() if k == every)
        suffix = "" if len(intervals) == 1 else str(every)
        phases.append(Phase(f"{network}reg{suffix}", network, terms, every))
    return tuple(phases)

"""The training step as plain PyTorch: phases with intervals, loss terms, the door to D.

``phases`` holds the schedule as data, ``base`` what every task shares, ``gan`` generation
from noise; restoration's objective lives in ``ganlab.restoration.objective``.
"""

from ganlab.objective.base import Batch, Draws, NetworkSpec, Objective, Regularizer
from ganlab.objective.gan import GANObjective
from ganlab.objective.phases import Phase, schedule

__all__ = [
    "Batch",
    "Draws",
    "GANObjective",
    "NetworkSpec",
    "Objective",
    "Phase",
    "Regularizer",
    "schedule",
]

"""Lightning callbacks: samples, checkpoints, divergence guard, progress bar (G-step schedules)."""

from ganlab.callbacks.checkpoint import PeriodicCheckpoint
from ganlab.callbacks.divergence import DivergenceError, DivergenceGuard
from ganlab.callbacks.metrics import SampleMetrics
from ganlab.callbacks.progress import GANProgressBar
from ganlab.callbacks.restoration import RestorationGrid, RestorationMetrics
from ganlab.callbacks.samples import SampleGrid

__all__ = [
    "DivergenceError",
    "DivergenceGuard",
    "GANProgressBar",
    "PeriodicCheckpoint",
    "RestorationGrid",
    "RestorationMetrics",
    "SampleGrid",
    "SampleMetrics",
]

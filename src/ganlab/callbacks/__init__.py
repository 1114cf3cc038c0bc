"""Lightning callbacks: samples, checkpoints, divergence guard, progress bar (G-step schedules),
the cluster's time-limit signal."""

from ganlab.callbacks.checkpoint import PeriodicCheckpoint
from ganlab.callbacks.divergence import DivergenceError, DivergenceGuard
from ganlab.callbacks.metrics import SampleMetrics
from ganlab.callbacks.progress import GANProgressBar
from ganlab.callbacks.restoration import RestorationGrid, RestorationMetrics
from ganlab.callbacks.samples import SampleGrid
from ganlab.callbacks.time_limit import SaveOnTimeLimit

__all__ = [
    "DivergenceError",
    "DivergenceGuard",
    "GANProgressBar",
    "PeriodicCheckpoint",
    "RestorationGrid",
    "RestorationMetrics",
    "SampleGrid",
    "SampleMetrics",
    "SaveOnTimeLimit",
]

"""Lightning callbacks: sample grids, checkpoints on a G-step schedule, progress bar."""

from ganlab.callbacks.checkpoint import PeriodicCheckpoint
from ganlab.callbacks.progress import GANProgressBar
from ganlab.callbacks.samples import SampleGrid

__all__ = ["GANProgressBar", "PeriodicCheckpoint", "SampleGrid"]

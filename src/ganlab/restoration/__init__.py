"""Image restoration as conditional image-to-image GANs (pix2pix): corruptions, objective.

Both are plain PyTorch: ``corruptions`` damages images, ``objective`` holds the phases.
"""

from ganlab.restoration.corruptions import (
    Corrupted,
    Corruption,
    DownsampleCorruption,
    MaskCorruption,
    NoiseCorruption,
)
from ganlab.restoration.objective import RestorationObjective

__all__ = [
    "Corrupted",
    "Corruption",
    "DownsampleCorruption",
    "MaskCorruption",
    "NoiseCorruption",
    "RestorationObjective",
]

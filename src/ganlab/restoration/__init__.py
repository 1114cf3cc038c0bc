"""Image restoration as conditional image-to-image GANs (pix2pix): corruptions and the module.

``corruptions`` is plain PyTorch; ``module`` holds the Lightning training step.
"""

from ganlab.restoration.corruptions import (
    Corrupted,
    Corruption,
    DownsampleCorruption,
    MaskCorruption,
    NoiseCorruption,
)

__all__ = [
    "Corrupted",
    "Corruption",
    "DownsampleCorruption",
    "MaskCorruption",
    "NoiseCorruption",
]

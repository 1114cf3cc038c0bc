"""PacGAN packing (Lin et al. 2018, arXiv:1712.04086): D judges ``pack`` samples at once.

A discriminator that sees several samples of the same source together can tell a
generator that covers few modes from the data, which penalises mode collapse. Packing
only changes D's input, so every loss and penalty works on the packed logits unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ganlab.nets import checks


def packed_shape(shape: Sequence[int], pack: int) -> tuple[int, ...]:
    """The shape the inner D is built for: features (points) or channels (images) x ``pack``."""
    dims = checks.data_shape("packed_shape", shape)
    pack = checks.positive_int("packed_shape", "pack", pack)
    return (dims[0] * pack, *dims[1:])


class PackedDiscriminator(nn.Module):
    """Groups each ``pack`` consecutive samples into one input of ``inner`` (built for
    ``packed_shape(shape, pack)``): ``[B, C, ...] -> [B / pack, pack * C, ...]``, so it
    returns ``B / pack`` logits. Real and fake batches are packed separately, as in PacGAN.
    """

    def __init__(self, inner: nn.Module, pack: int) -> None:
        super().__init__()
        owner = type(self).__name__
        self.pack = checks.positive_int(owner, "pack", pack)
        if getattr(inner, "num_classes", 0):
            raise ValueError(
                f"{owner}: packing a conditional discriminator is not supported (the packed "
                "samples would need one label each); use model.pack=1 or an unconditional model"
            )
        self.inner = inner
        self.num_classes = 0

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        batch = x.shape[0]
        if batch % self.pack:
            raise ValueError(
                f"{type(self).__name__}: a batch of {batch} samples cannot be split into "
                f"packs of {self.pack}; use a batch size divisible by model.pack"
            )
        packed = x.reshape(batch // self.pack, self.pack * x.shape[1], *x.shape[2:])
        return self.inner(packed)

    def extra_repr(self) -> str:
        return f"pack={self.pack}"

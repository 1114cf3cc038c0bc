"""Generators and discriminators: plain PyTorch modules that know nothing of training.

Every net is built from the data ``shape`` and ``num_classes`` (0 = unconditional).
A generator maps ``(z [B, z_dim], y [B] | None)`` to ``x [B, *shape]``; a discriminator maps
``(x, y)`` to logits ``[B]``.
"""

from ganlab.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ganlab.nets.mlp import MLPDiscriminator, MLPGenerator
from ganlab.nets.patchgan import PatchGANDiscriminator
from ganlab.nets.r3gan import R3GANDiscriminator, R3GANGenerator
from ganlab.nets.resnet import ResNetDiscriminator, ResNetGenerator
from ganlab.nets.unet import UNetGenerator

__all__ = [
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "PatchGANDiscriminator",
    "R3GANDiscriminator",
    "R3GANGenerator",
    "ResNetDiscriminator",
    "ResNetGenerator",
    "UNetGenerator",
]

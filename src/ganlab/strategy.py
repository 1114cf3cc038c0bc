"""DDP for the alternating G/D loop without ``find_unused_parameters``.

Lightning's DDP wraps the whole LightningModule, so a D step leaves G's parameters
unused and the G step's forward through a frozen D trips DDP's checks. Here the module
is not wrapped: parameters and buffers are broadcast from rank 0 once at setup, and
``GANModule`` all-reduces each network's gradients itself, once per D step for D and
once per G step for G (as NVlabs' StyleGAN2-ADA synchronises its networks separately).
"""

from __future__ import annotations

import itertools

import lightning.pytorch as pl
import torch
from lightning.pytorch.strategies import DDPStrategy


class GANDDPStrategy(DDPStrategy):
    """``DDPStrategy`` that leaves the module unwrapped; gradient reduction is the module's."""

    def configure_ddp(self) -> None:
        assert isinstance(self.model, pl.LightningModule)
        with torch.no_grad():
            for tensor in itertools.chain(self.model.parameters(), self.model.buffers()):
                torch.distributed.broadcast(tensor, src=0)

"""Sample grids from fixed noise, saved as PNG and logged as images to every logger."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from PIL import Image
from torch import Tensor
from torchvision.utils import make_grid

from ganlab.callbacks.schedule import GStepCallback
from ganlab.module import GANModule


def image_grid(images: Tensor, nrow: int) -> np.ndarray:
    """Tile ``[B, C, H, W]`` images in ``[-1, 1]`` into one ``[H', W', 3]`` uint8 array."""
    grid = make_grid(
        images.detach().float().cpu().clamp(-1, 1), nrow=nrow, padding=2, pad_value=1.0
    )
    return ((grid + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()


def scatter_plot(fake: Tensor, real: Tensor) -> np.ndarray:
    """Render 2D points (generated over real) as an RGB uint8 array."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.scatter(real[:, 0], real[:, 1], s=2, c="tab:blue", alpha=0.3, label="real")
    ax.scatter(
        fake[:, 0].cpu(), fake[:, 1].cpu(), s=2, c="tab:orange", alpha=0.6, label="generated"
    )
    ax.set_aspect("equal")
    ax.legend(loc="upper right", markerscale=4)
    fig.tight_layout()
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return rgb


class SampleGrid(GStepCallback):
    """Every ``every_g_steps`` G steps and at the end, draws samples from fixed noise.

    The noise (and, for conditional models, the labels: one column per class) is drawn once
    from its own seeded RNG, so grids of one run are comparable across steps and the
    training RNG stream is never touched.
    """

    schedule_key = "saved_at"

    def __init__(
        self, dirpath: str, every_g_steps: int = 500, num_samples: int = 64, seed: int = 1234
    ) -> None:
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        super().__init__(every_g_steps)
        self.dirpath = Path(dirpath)
        self.num_samples = num_samples
        self.seed = seed
        self.last_path: Path | None = None

    def _fixed_inputs(self, pl_module: GANModule) -> tuple[Tensor, Tensor | None]:
        rng = torch.Generator().manual_seed(self.seed)
        z = pl_module.sample_latent(self.num_samples, generator=rng)
        k = pl_module.generator.num_classes
        y = torch.arange(self.num_samples) % k if k > 0 else None
        return z, y

    def picture(self, trainer: pl.Trainer, pl_module: GANModule) -> np.ndarray:
        """The ``[H, W, 3]`` uint8 picture of this step: a grid, or a scatter plot for 2D."""
        z, y = self._fixed_inputs(pl_module)
        fake = pl_module.sample(z, y)
        if fake.dim() == 2:
            real, _ = trainer.datamodule.real_images("train", 2000)
            return scatter_plot(fake, real)
        nrow = pl_module.generator.num_classes or int(self.num_samples**0.5)
        return image_grid(fake, nrow=nrow)

    def act(self, trainer: pl.Trainer, pl_module: GANModule) -> None:
        """Save this step's picture as PNG (rank 0) and log it to every image logger."""
        if not trainer.is_global_zero:
            return
        picture = self.picture(trainer, pl_module)
        self.dirpath.mkdir(parents=True, exist_ok=True)
        self.last_path = self.dirpath / f"g{pl_module.g_step:07d}.png"
        Image.fromarray(picture).save(self.last_path)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("samples", [picture], step=pl_module.g_step)
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("samples", picture, pl_module.g_step, dataformats="HWC")

"""Generation from noise: G(z, y) against D(x, y), unconditional or class-conditional."""

from __future__ import annotations

from torch import Tensor, nn

from ganlab.nets.packing import PackedDiscriminator, packed_shape
from ganlab.objective.base import Batch, Draws, NetFactory, NetworkSpec, Objective


class GANObjective(Objective):
    """D's main phase: ``loss.d_loss`` on D(x, y) and D(G(z, y), y), plus its penalties.
    G's main phase: ``loss.g_loss`` on D(G(z, y), y) with fresh latents, plus its own.

    Labels reach G and D only when the generator is conditional (``num_classes`` > 0).
    """

    def networks(
        self, generator: NetFactory, discriminator: NetFactory, spec: NetworkSpec
    ) -> tuple[nn.Module, nn.Module]:
        """G and D for ``spec.shape``; with ``spec.pack`` > 1 (PacGAN) D judges ``pack``
        samples joined along features or channels, so the batch size must divide."""
        conditional, pack = spec.conditional, spec.pack
        if conditional and spec.num_classes == 0:
            raise ValueError(
                "model.conditional is true but the dataset has no class labels: "
                "pick a labelled dataset or an unconditional model."
            )
        if pack != 1:
            _check_pack(pack, conditional, spec.batch_size)
        classes = spec.num_classes if conditional else 0
        g = generator(shape=spec.shape, num_classes=classes)
        d = discriminator(shape=packed_shape(spec.shape, pack), num_classes=classes)
        return g, d if pack == 1 else PackedDiscriminator(d, pack)

    def prepare(self, real: Tensor, labels: Tensor, draws: Draws) -> Batch:
        condition = labels if self.generator.num_classes > 0 else None
        n = real.shape[0]
        return Batch(real, condition, lambda: self.run_g(draws.latent(n), condition))


def _check_pack(pack: int, conditional: bool, batch_size: int | None) -> None:
    if conditional:
        raise ValueError(
            f"model.pack={pack}: packing needs an unconditional model (a pack of samples has "
            "no single label); set model.pack=1 or pick an unconditional model."
        )
    if batch_size is not None and batch_size % pack:
        raise ValueError(
            f"model.pack={pack}: data.batch_size={batch_size} is not divisible by it; D sees "
            f"batch_size / pack packed inputs, so pick a batch size that is a multiple of {pack}."
        )

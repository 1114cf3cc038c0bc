"""Objects from the composed config: networks, the GAN module, callbacks, loggers.

Shared by ``ganlab-train`` and the command-line tools that rebuild a run from its saved
config, so both build exactly the same objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganlab.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

    from ganlab.module import GANModule


def instantiate_field(node: DictConfig, field: str, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` whose failures name the config field at fault."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        raise ConfigError(f"{field}: {cause}") from None


def instantiate_group(group: DictConfig, field: str) -> list[Any]:
    """Every non-null entry of a dict-shaped group (callbacks, loggers)."""
    return [
        instantiate_field(node, f"{field}.{key}") for key, node in group.items() if node is not None
    ]


def build_networks(
    model_cfg: DictConfig,
    shape: tuple[int, ...],
    num_classes: int,
    batch_size: int | None = None,
) -> tuple[nn.Module, nn.Module]:
    """Generator and discriminator for this data shape, conditional when the model asks.

    With ``model.pack`` > 1 (PacGAN) D is built for ``pack`` samples joined along features or
    channels and wrapped to pack its input; ``batch_size`` (per process) must divide evenly.
    """
    from ganlab.nets.packing import PackedDiscriminator, packed_shape

    if model_cfg.get("task", "generation") != "generation":
        raise ConfigError(
            f"model={model_cfg.name} restores images (task=restoration) and draws no samples "
            "from noise; apply it with ganlab-restore"
        )
    if model_cfg.conditional and num_classes == 0:
        raise ConfigError(
            "model.conditional is true but the dataset has no class labels: "
            "pick a labelled dataset or an unconditional model."
        )
    pack = model_cfg.get("pack", 1)
    if pack != 1:
        _check_pack(pack, bool(model_cfg.conditional), batch_size)
    classes = num_classes if model_cfg.conditional else 0
    generator = instantiate_field(
        model_cfg.generator, "model.generator", shape=shape, num_classes=classes
    )
    discriminator = instantiate_field(
        model_cfg.discriminator,
        "model.discriminator",
        shape=packed_shape(shape, pack),
        num_classes=classes,
    )
    if pack != 1:
        discriminator = PackedDiscriminator(discriminator, pack)
    return generator, discriminator


def _check_pack(pack: int, conditional: bool, batch_size: int | None) -> None:
    if conditional:
        raise ConfigError(
            f"model.pack={pack}: packing needs an unconditional model (a pack of samples has "
            "no single label); set model.pack=1 or pick an unconditional model."
        )
    if batch_size is not None and batch_size % pack:
        raise ConfigError(
            f"model.pack={pack}: data.batch_size={batch_size} is not divisible by it; D sees "
            f"batch_size / pack packed inputs, so pick a batch size that is a multiple of {pack}."
        )


def training_arguments(cfg: DictConfig) -> dict[str, Any]:
    """The loss, penalties, optimizers and loop settings of ``cfg``: the keyword arguments
    every task's module (``GANModule`` and its subclasses) shares."""
    penalties = {
        name: instantiate_field(node, f"loss.penalties.{name}")
        for name, node in cfg.loss.penalties.items()
    }
    scheduler = cfg.optim.scheduler
    return {
        "loss": instantiate_field(cfg.loss.adversarial, "loss.adversarial"),
        "penalties": penalties,
        "g_optimizer": instantiate_field(cfg.optim.generator, "optim.generator"),
        "d_optimizer": instantiate_field(cfg.optim.discriminator, "optim.discriminator"),
        "scheduler": None if scheduler is None else instantiate_field(scheduler, "optim.scheduler"),
        "n_critic": cfg.optim.n_critic,
        "seed": cfg.seed,
        **OmegaConf.to_container(cfg.gan, resolve=True),
    }


def build_module(cfg: DictConfig, generator: nn.Module, discriminator: nn.Module) -> GANModule:
    """The GANModule with the loss, penalties, optimizers and loop settings of ``cfg``."""
    from ganlab.module import GANModule

    return GANModule(generator=generator, discriminator=discriminator, **training_arguments(cfg))

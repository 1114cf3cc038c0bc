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
    model_cfg: DictConfig, shape: tuple[int, ...], num_classes: int
) -> tuple[nn.Module, nn.Module]:
    """Generator and discriminator for this data shape, conditional when the model asks."""
    if model_cfg.conditional and num_classes == 0:
        raise ConfigError(
            "model.conditional is true but the dataset has no class labels: "
            "pick a labelled dataset or an unconditional model."
        )
    classes = num_classes if model_cfg.conditional else 0
    generator = instantiate_field(
        model_cfg.generator, "model.generator", shape=shape, num_classes=classes
    )
    discriminator = instantiate_field(
        model_cfg.discriminator, "model.discriminator", shape=shape, num_classes=classes
    )
    return generator, discriminator


def build_module(cfg: DictConfig, generator: nn.Module, discriminator: nn.Module) -> GANModule:
    """The GANModule with the loss, penalties, optimizers and loop settings of ``cfg``."""
    from ganlab.module import GANModule

    penalties = {
        name: instantiate_field(node, f"loss.penalties.{name}")
        for name, node in cfg.loss.penalties.items()
    }
    scheduler = cfg.optim.scheduler
    return GANModule(
        generator=generator,
        discriminator=discriminator,
        loss=instantiate_field(cfg.loss.adversarial, "loss.adversarial"),
        penalties=penalties,
        g_optimizer=instantiate_field(cfg.optim.generator, "optim.generator"),
        d_optimizer=instantiate_field(cfg.optim.discriminator, "optim.discriminator"),
        scheduler=None if scheduler is None else instantiate_field(scheduler, "optim.scheduler"),
        n_critic=cfg.optim.n_critic,
        seed=cfg.seed,
        **OmegaConf.to_container(cfg.gan, resolve=True),
    )

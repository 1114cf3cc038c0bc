"""The restoration objects of a composed config: corruption, U-Net / PatchGAN, module.

Shared by ``ganlab-train`` (``task=restoration``) and ``ganlab-restore``, so both build
exactly the same networks from a run's config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omegaconf import DictConfig

from ganlab.build import instantiate_field, training_arguments
from ganlab.errors import ConfigError
from ganlab.restoration.corruptions import Corruption

if TYPE_CHECKING:
    from torch import nn

    from ganlab.restoration.module import RestorationModule

TASKS = ("generation", "restoration")
CORRUPTIONS = "corruption=mask, corruption=noise or corruption=downsample"


def task_name(cfg: DictConfig) -> str:
    """The configured task; configs saved before tasks existed are generation runs."""
    task = cfg.get("task")
    name = "generation" if task is None else task.get("name", "generation")
    if name not in TASKS:
        raise ConfigError(f"task.name: {name!r} is not one of {', '.join(TASKS)}")
    return name


def check_task(cfg: DictConfig) -> None:
    """The model and corruption must fit the task, before anything is built."""
    task = task_name(cfg)
    model_task = cfg.model.get("task", "generation")
    if model_task != task:
        raise ConfigError(
            f"model={cfg.model.name} is a {model_task} model but task={task}; pick "
            + (
                "a generation model (dcgan, mlp, ...)"
                if task == "generation"
                else "model=pix2pix (or task=generation)"
            )
        )
    corruption = cfg.get("corruption")
    if task == "restoration" and corruption is None:
        raise ConfigError(f"corruption: task=restoration needs one; add {CORRUPTIONS}")
    metrics = cfg.get("metrics")
    target = "" if metrics is None else str(metrics.get("_target_", ""))
    if task == "restoration" and target.endswith("SampleMetrics"):
        raise ConfigError(
            "metrics: task=restoration is measured against clean images; use metrics=restoration"
        )
    if task == "generation" and target.endswith("RestorationMetrics"):
        raise ConfigError("metrics=restoration measures restorations: add task=restoration")
    if task == "generation" and corruption is not None:
        raise ConfigError(
            "corruption: a corruption is set but task=generation trains from noise; "
            "add task=restoration or remove the corruption"
        )


def build_corruption(cfg: DictConfig, shape: tuple[int, ...]) -> Corruption:
    """The configured corruption, checked against the data shape."""
    corruption = instantiate_field(cfg.corruption, "corruption")
    try:
        corruption.check_shape(tuple(shape))
    except ValueError as exc:
        raise ConfigError(f"corruption: {exc} (data.resolution)") from None
    return corruption


def build_restoration_networks(
    model_cfg: DictConfig, shape: tuple[int, ...], corruption: Corruption
) -> tuple[nn.Module, nn.Module]:
    """U-Net generator reading the corrupted image (+ mask) and the conditional D."""
    in_channels = shape[0] + corruption.extra_channels
    generator = instantiate_field(
        model_cfg.generator, "model.generator", shape=shape, in_channels=in_channels
    )
    discriminator = instantiate_field(
        model_cfg.discriminator,
        "model.discriminator",
        shape=shape,
        condition_channels=in_channels,
    )
    return generator, discriminator


def build_restoration_module(cfg: DictConfig, shape: tuple[int, ...]) -> RestorationModule:
    """The RestorationModule with the loss, penalties, optimizers and loop settings of ``cfg``."""
    from ganlab.restoration.module import RestorationModule

    check_task(cfg)
    corruption = build_corruption(cfg, shape)
    generator, discriminator = build_restoration_networks(cfg.model, shape, corruption)
    arguments = training_arguments(cfg)
    try:
        return RestorationModule(
            generator=generator,
            discriminator=discriminator,
            corruption=corruption,
            l1_weight=cfg.task.l1_weight,
            **arguments,
        )
    except ValueError as exc:
        raise ConfigError(f"task: {exc}") from None

"""Objects from the composed config: the task's objective, its networks, the module.

Shared by ``ganlab-train`` and the command-line tools that rebuild a run from its saved
config, so both build exactly the same objects. Nothing here knows a task by name: the task
config names the objective and the module (``_target_``), and the objective completes the
model's network factories with the data's shape and class count.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hydra.errors import InstantiationException
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from ganlab.config import CONF_DIR
from ganlab.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

    from ganlab.module import GANModule
    from ganlab.objective import Objective


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


def task_config(cfg: DictConfig) -> DictConfig:
    """The task node of ``cfg``; a run saved before tasks named their objective (or before
    tasks existed: a generation run) gets the shipped task config of its task's name."""
    task = cfg.get("task")
    name = "generation" if task is None else task.get("name", "generation")
    if task is not None and "objective" in task:
        return task
    shipped = sorted(p.stem for p in (CONF_DIR / "task").glob("*.yaml"))
    if name not in shipped:
        raise ConfigError(f"task.name: {name!r} is not one of {', '.join(shipped)}")
    node = OmegaConf.load(CONF_DIR / "task" / f"{name}.yaml").task
    if task is not None and "l1_weight" in task:
        node.objective.l1_weight = task.l1_weight
    upgraded = OmegaConf.merge(cfg, {"task": node})
    return upgraded.task


def _regularizers(group: DictConfig | None, field: str) -> dict[str, Any]:
    """``{name: Regularizer(term, every, decay)}`` of a penalty group; ``every`` is the
    scheduler's, ``decay`` ({to, kimg}: a cosine factor from 1 to ``to``) the objective's,
    the rest builds the term."""
    from ganlab.objective import Regularizer
    from ganlab.schedules import Cosine

    found = {}
    for name, node in (group or {}).items():
        # Resolved first: interpolations may point elsewhere in the config (r2 -> r1's gamma).
        settings = OmegaConf.to_container(node, resolve=True)
        term_settings = {k: v for k, v in settings.items() if k not in ("every", "decay")}
        term = instantiate_field(OmegaConf.create(term_settings), f"{field}.{name}")
        decay = settings.get("decay")
        if decay is not None:
            try:
                decay = Cosine(1.0, decay.get("to", 0.0), decay.get("kimg", 0.0))
            except ValueError as exc:
                raise ConfigError(
                    f"{field}.{name}.decay: {exc}; write decay: {{to: 0.1, kimg: 20000}} "
                    "(the value x a cosine from 1 to `to` over kimg) or decay: null"
                ) from None
        found[name] = Regularizer(term, settings.get("every", 1), decay)
    return found


# Top-level config groups an objective may take as a constructor argument of the same name.
TASK_INPUTS = ("corruption",)


def build_objective(cfg: DictConfig) -> Objective:
    """The task's objective with the loss, the penalties and their intervals, the augment
    pipe at D's door, the phase schedule and the task inputs (``TASK_INPUTS``) of ``cfg``."""
    task = task_config(cfg)
    try:
        objective_class = get_class(task.objective._target_)
    except Exception as exc:
        raise ConfigError(f"task.objective._target_: {exc}") from None
    takes = inspect.signature(objective_class).parameters
    inputs = {}
    for name in TASK_INPUTS:
        node = cfg.get(name)
        if name in takes:
            inputs[name] = None if node is None else instantiate_field(node, name)
        elif node is not None:
            raise ConfigError(
                f"{name}: a {name} is set but task={task.name} takes none; "
                "add task=restoration or remove it"
            )
    augment = cfg.get("augment")
    phases = cfg.get("phases") or {}
    factory = instantiate_field(task.objective, "task.objective", _partial_=True)
    try:
        return factory(
            loss=instantiate_field(cfg.loss.adversarial, "loss.adversarial"),
            augment=None if augment is None else instantiate_field(augment, "augment"),
            penalties=_regularizers(cfg.loss.get("penalties"), "loss.penalties"),
            g_penalties=_regularizers(cfg.loss.get("g_penalties"), "loss.g_penalties"),
            n_critic=phases.get("n_critic", 1),
            unrolled_steps=phases.get("unrolled_steps", 0),
            unrolled_lr=phases.get("unrolled_lr"),
            **inputs,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _named(factory: Callable[..., nn.Module], field: str) -> Callable[..., nn.Module]:
    """``factory`` whose construction errors name the config field that configured it."""

    def build(**kwargs: Any) -> nn.Module:
        try:
            return factory(**kwargs)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{field}: {exc}") from None

    return build


def build_networks(
    cfg: DictConfig,
    objective: Objective,
    shape: tuple[int, ...],
    num_classes: int,
    batch_size: int | None = None,
) -> tuple[nn.Module, nn.Module]:
    """G and D of ``cfg.model`` for this data, completed by the objective."""
    from ganlab.objective import NetworkSpec

    model = cfg.model
    task = task_config(cfg)
    model_task = model.get("task", "generation")
    if model_task != task.name:
        raise ConfigError(
            f"model={model.name} is a {model_task} model but task={task.name}; pick a "
            f"{task.name} model (or task={model_task})"
        )
    generator = instantiate_field(model.generator, "model.generator", _partial_=True)
    discriminator = instantiate_field(model.discriminator, "model.discriminator", _partial_=True)
    try:
        spec = NetworkSpec(
            tuple(shape),
            num_classes,
            batch_size,
            conditional=bool(model.get("conditional", False)),
            pack=model.get("pack", 1),
        )
        networks = objective.networks(
            _named(generator, "model.generator"), _named(discriminator, "model.discriminator"), spec
        )
        check_shape = getattr(objective.augment, "check_shape", None)
        if check_shape is not None:
            check_shape(spec.shape)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return networks


def check_metrics(cfg: DictConfig, objective: Objective) -> None:
    """The metrics callback must be the one that measures this task's objective."""
    metrics = cfg.get("metrics")
    if metrics is None:
        return
    if "_target_" not in metrics:
        raise ConfigError(
            "metrics: settings are given but no metrics were chosen; add metrics=domain, "
            "metrics=inception or metrics=mixture (or remove the metrics.* settings)"
        )
    chosen = str(metrics._target_).rsplit(".", 1)[-1]
    if chosen != objective.metrics_callback:
        raise ConfigError(
            f"metrics: {chosen} does not measure task={task_config(cfg).name}, whose "
            f"objective is measured by {objective.metrics_callback}; pick the metrics of the "
            "task (metrics=restoration for task=restoration, metrics=domain, inception or "
            "mixture for generation)"
        )


def _check_scheduler(cfg: DictConfig, generator: nn.Module) -> None:
    """Build ``optim.scheduler`` once on a throwaway optimizer of G, so that a scheduler that
    cannot drive the optimizer is named before training rather than inside ``fit``."""
    optimizer = instantiate_field(cfg.optim.generator, "optim.generator")(generator.parameters())
    factory = instantiate_field(cfg.optim.scheduler, "optim.scheduler")
    try:
        factory(optimizer)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"optim.scheduler: {exc}") from None


def build_module(cfg: DictConfig, datamodule: Any) -> GANModule:
    """The task's module (``task._target_``) with its objective, networks and optimizers."""
    objective = build_objective(cfg)
    check_metrics(cfg, objective)
    generator, discriminator = build_networks(
        cfg, objective, tuple(datamodule.shape), datamodule.num_classes, datamodule.batch_size
    )
    task = task_config(cfg)
    try:
        module_class = get_class(task._target_)
    except Exception as exc:
        raise ConfigError(f"task._target_: {exc}") from None
    scheduler = cfg.optim.scheduler
    if scheduler is not None:
        _check_scheduler(cfg, generator)
    try:
        return module_class(
            generator=generator,
            discriminator=discriminator,
            objective=objective,
            g_optimizer=instantiate_field(cfg.optim.generator, "optim.generator"),
            d_optimizer=instantiate_field(cfg.optim.discriminator, "optim.discriminator"),
            scheduler=None
            if scheduler is None
            else instantiate_field(scheduler, "optim.scheduler"),
            seed=cfg.seed,
            **OmegaConf.to_container(cfg.gan, resolve=True),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def build_trainer(cfg: DictConfig, datamodule: Any) -> tuple[Any, list[Any], Any]:
    """The Lightning trainer with the run's loggers and callbacks, the metrics callback first
    (checked against the data); returns ``(trainer, loggers, metrics or None)``."""
    import lightning.pytorch as pl

    loggers = instantiate_group(cfg.logger, "logger")
    callbacks = instantiate_group(cfg.callbacks, "callbacks")
    metrics_cfg = cfg.get("metrics")
    metrics = None if metrics_cfg is None else instantiate_field(metrics_cfg, "metrics")
    if metrics is not None:
        metrics.check(datamodule)
        callbacks.insert(0, metrics)
    has_bar = any(isinstance(c, pl.callbacks.ProgressBar) for c in callbacks)
    trainer = instantiate_field(
        cfg.trainer, "trainer", logger=loggers, callbacks=callbacks, enable_progress_bar=has_bar
    )
    return trainer, loggers, metrics

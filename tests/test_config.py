"""Every config choice composes; bad values fail validation with the field's name."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from ganlab.config import CONF_DIR
from ganlab.config.checks import validate
from ganlab.errors import ConfigError

from .conftest import ComposeFn

GROUPS = ["model", "data", "loss", "optim", "trainer", "logger", "callbacks", "paths", "experiment"]


def _choices(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


CHOICES = [(group, name) for group in GROUPS for name in _choices(group)]


def test_every_group_has_choices() -> None:
    for group in GROUPS:
        assert _choices(group), f"conf/{group}/ has no config files"


@pytest.mark.parametrize(("group", "name"), CHOICES, ids=[f"{g}={n}" for g, n in CHOICES])
def test_every_choice_composes_and_validates(compose_cfg: ComposeFn, group: str, name: str) -> None:
    overrides = [f"{group}={name}"]
    if (group, name) == ("data", "image_folder"):
        overrides.append("data.root=/some/images")
    cfg = compose_cfg(*overrides)
    container = OmegaConf.to_container(cfg, resolve=True)
    assert container["name"]
    validate(cfg)


def test_defaults_are_dcgan_on_fashion_mnist(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg()
    assert cfg.model.name == "dcgan"
    assert cfg.data._target_.endswith("FashionMNISTDataModule")
    assert cfg.logger.wandb.offline is True
    assert "csv" in cfg.logger


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("optim.generator.lr=-0.1", "optim.generator.lr"),
        ("optim.discriminator.lr=0", "optim.discriminator.lr"),
        ("phases.n_critic=0", "phases.n_critic"),
        ("optim.generator.betas=[0.5,1.5]", "optim.generator.betas"),
        ("data.batch_size=0", "data.batch_size"),
        ("gan.ema_decay=1.0", "gan.ema_decay"),
        ("gan.alpha=2", "gan.alpha"),
        ("gan.max_g_steps=-5", "gan.max_g_steps"),
        ("model.generator.z_dim=abc", "model.generator.z_dim"),
        ("callbacks.checkpoint.every_g_steps=0", "callbacks.checkpoint.every_g_steps"),
    ],
)
def test_bad_values_name_their_field(compose_cfg: ComposeFn, override: str, field: str) -> None:
    cfg = compose_cfg(override)
    with pytest.raises(ConfigError, match=f"^{re.escape(field)}: expected"):
        validate(cfg)


def test_unbounded_run_is_rejected(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg("gan.max_g_steps=null", "gan.max_kimg=null")
    with pytest.raises(ConfigError, match=r"gan\.max_g_steps and gan\.max_kimg"):
        validate(cfg)


def test_unresolvable_interpolation_is_named(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg("optim.generator.lr=${nowhere.lr}")
    with pytest.raises(ConfigError, match=r"^optim\.generator\.lr: cannot be resolved"):
        validate(cfg)


def test_importing_the_entry_points_changes_no_global_state() -> None:
    """Resolvers and Lightning's console filters are set by running, not by importing."""
    probe = (
        "import logging, warnings\n"
        "from omegaconf import OmegaConf\n"
        "import ganlab.train, ganlab.cli.train_evaluator\n"
        "assert not [n for n in ('ganlab_uid', 'ganlab_safe') if OmegaConf.has_resolver(n)]\n"
        "assert not logging.getLogger('lightning.pytorch.utilities.rank_zero').filters\n"
        "assert not [f for f in warnings.filters if 'LeafSpec' in str(f[1])]\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)

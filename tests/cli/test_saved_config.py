"""A run folder is data: its config.yaml can only build listed classes, in-process and from
every command that takes a run folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ganlab.errors import ConfigError
from ganlab.run.saved_config import load_saved_config
from tests.conftest import ROOT, TINY, compose_config

EXPERIMENTS = sorted(p.stem for p in (ROOT / "experiments").glob("*.yaml"))
GENERATION = {
    "data": {"_target_": "ganlab.data.DigitsDataModule", "resolution": 32},
    "model": {
        "name": "mlp",
        "conditional": False,
        "generator": {"_target_": "ganlab.nets.MLPGenerator", "z_dim": 8},
        "discriminator": {"_target_": "ganlab.nets.MLPDiscriminator"},
    },
    "optim": {"generator": {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 2e-4}},
}


def with_target(key: str, target: str) -> dict:
    """GENERATION with `_target_: target` at the dotted `key` (lists as `name[0]`)."""
    cfg = OmegaConf.create(GENERATION)
    OmegaConf.update(cfg, key, {"_target_": target, "name": "x"}, force_add=True)
    return OmegaConf.to_container(cfg)


# (where the target is, the target): none of these may be imported or called.
REFUSED = [
    ("data", "os.makedirs"),
    ("data", "builtins.exec"),
    ("model.generator", "subprocess.call"),
    ("model.generator.norm", "os.system"),  # nested: a partial's argument
    ("optim.generator", "torch.load"),  # torch, but not an optimizer
    ("data", "ganlab.run.summary.write_json"),  # ganlab, but not a listed package
    ("data", "ganlab.data.memory.Path"),  # pathlib's class, reached through a ganlab module
    ("model.generator", "ganlab.nets.dcgan.nn.Module"),  # torch's class through a ganlab module
    ("data", "ganlab.data.read_idx"),  # a function of a listed package, not a class
    ("data", "ganlab.data.NoSuchModule"),
    ("logger.wandb", "lightning.pytorch.loggers.logger.rank_zero_experiment"),
    ("trainer", "lightning.pytorch.seed_everything"),
]


@pytest.mark.parametrize(("key", "target"), REFUSED, ids=[f"{k}={t}" for k, t in REFUSED])
def test_a_foreign_target_is_refused_naming_key_and_target(
    tmp_path: Path, key: str, target: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(OmegaConf.to_yaml(with_target(key, target)))
    with pytest.raises(ConfigError) as caught:
        load_saved_config(path)
    message = str(caught.value)
    assert f"{key}._target_" in message and repr(target) in message and str(path) in message


def test_a_run_saved_before_a_class_moved_reads_its_new_place(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    old = with_target("logger.csv", "ganlab.loggers.CSVLogger")
    path.write_text(OmegaConf.to_yaml(old))
    assert load_saved_config(path).logger.csv._target_ == "ganlab.run.loggers.CSVLogger"


def test_a_target_inside_a_list_is_found(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    cfg = {**GENERATION, "callbacks": [{"_target_": "os.system", "command": "true"}]}
    path.write_text(OmegaConf.to_yaml(cfg))
    with pytest.raises(ConfigError, match=r"callbacks\[0\]\._target_ is 'os.system'"):
        load_saved_config(path)


@pytest.mark.parametrize(
    "value", ["${oc.env:HOME}", "${data.resolution}", "prefix ${oc.env:USER} suffix"]
)
def test_an_interpolation_is_refused(tmp_path: Path, value: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(OmegaConf.to_yaml({**GENERATION, "name": value}))
    with pytest.raises(ConfigError, match="name is an interpolation"):
        load_saved_config(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "does not hold a mapping"),
        ("- a\n- b\n", "does not hold a mapping"),
        ("a: [1\n", "not a readable config"),
        ("a: 1\na: 2\n", "not a readable config"),
    ],
    ids=["empty", "list", "bad_yaml", "duplicate_key"],
)
def test_an_unreadable_config_is_refused(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_saved_config(path)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_saved_experiment_config_is_allowed(tmp_path: Path, experiment: str) -> None:
    """What ganlab-train saves for each experiment (the resolved config) loads unchanged."""
    cfg = compose_config([*TINY, f"experiment={experiment}"], tmp_path)
    path = tmp_path / "config.yaml"
    OmegaConf.save(OmegaConf.to_container(cfg, resolve=True), path)
    assert OmegaConf.to_container(load_saved_config(path)) == OmegaConf.to_container(
        cfg, resolve=True
    )


def planted_run(tmp_path: Path, target_dir: Path, task: str) -> Path:
    """A run folder whose config builds `os.makedirs(target_dir)`, with an empty checkpoint."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_bytes(b"")
    cfg = {
        **GENERATION,
        "task": {"name": task},
        "data": {"_target_": "os.makedirs", "name": str(target_dir)},
    }
    (run / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
    return run


@pytest.mark.parametrize(
    ("tool", "args", "task"),
    [
        ("sample", ["n=1"], "generation"),
        ("evaluate", [], "generation"),
        ("restore", ["IN", "OUT"], "restoration"),
    ],
)
def test_no_command_runs_code_from_a_run_folder(
    tmp_path: Path, tool: str, args: list[str], task: str
) -> None:
    planted = tmp_path / "planted"
    run = planted_run(tmp_path, planted, task)
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(ROOT / "conf" / "train.yaml", images / "not_an_image.txt")
    argv = [
        str(tmp_path / "restored") if a == "OUT" else str(images) if a == "IN" else a for a in args
    ]
    done = subprocess.run(
        [sys.executable, "-m", f"ganlab.cli.{tool}", str(run), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "data._target_ is 'os.makedirs'" in done.stderr and "Traceback" not in done.stderr
    assert not planted.exists()
    assert not (tmp_path / "restored").exists()

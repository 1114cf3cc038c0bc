"""Every ``ganlab-train`` command shown in the README composes, validates and trains.

Commands that need GPUs or a cluster (``trainer=ddp``, ``launcher=slurm``) are composed and
validated here; sweeps (``-m``, ``hparams_search``) run for real in test_sweeps.py.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from ganlab.config.checks import validate
from ganlab.train import train

from .conftest import ComposeFn, install_evaluator

README = Path(__file__).resolve().parents[1] / "README.md"
# Appended to each command so it runs in seconds: few steps, a slice of the data, no W&B.
QUICK = [
    "gan.max_g_steps=2",
    "data.limit=64",
    "data.batch_size=16",
    "logger=csv",
    "callbacks=quiet",
]
QUICK_2D = ["gan.max_g_steps=2", "data.batch_size=16", "logger=csv", "callbacks=quiet"]
# The default experiment measures domain metrics: a small sample with a quick evaluator.
QUICK_METRICS = ["metrics.num_samples=100", "metrics.chunk_size=50"]


def readme_commands() -> list[list[str]]:
    commands = []
    text = README.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if line.startswith(".venv/bin/ganlab-train") and "resume=" not in line:
            commands.append(shlex.split(line)[1:])
    return commands


def needs_cluster(args: list[str]) -> bool:
    return any(a in ("trainer=ddp", "launcher=slurm") for a in args)


def elsewhere(args: list[str]) -> bool:
    """Sweeps run in test_sweeps.py, CPU DDP in test_ddp.py (both as subprocesses)."""
    return any(a == "-m" or a.startswith("hparams_search") or a == "trainer=ddp_cpu" for a in args)


def first_job(args: list[str]) -> list[str]:
    """A sweep's first job: ``-m`` dropped, ``key=a,b`` as ``key=a``."""
    jobs = []
    for arg in args:
        key, _, value = arg.partition("=")
        if "," in value and not value.startswith("["):
            arg = f"{key}={value.split(',')[0]}"
        jobs.append(arg)
    return [a for a in jobs if a != "-m"]


COMMANDS = readme_commands()
RUNNABLE = [c for c in COMMANDS if not needs_cluster(c) and not elsewhere(c)]
CLUSTER = [first_job(c) for c in COMMANDS if needs_cluster(c)]


def test_readme_shows_commands() -> None:
    assert len(RUNNABLE) >= 5 and CLUSTER


@pytest.mark.parametrize("overrides", CLUSTER, ids=[" ".join(c) for c in CLUSTER])
def test_readme_cluster_command_composes(compose_cfg: ComposeFn, overrides: list[str]) -> None:
    validate(compose_cfg(*overrides))


@pytest.mark.parametrize("overrides", RUNNABLE, ids=[" ".join(c) for c in RUNNABLE])
def test_readme_command_runs(
    compose_cfg: ComposeFn, tmp_path: Path, overrides: list[str], fashion_evaluator: Path
) -> None:
    if any(o.startswith("data=image_folder") for o in overrides):
        make_image_folder(tmp_path / "images")
        overrides = [
            f"data.root={tmp_path / 'images'}" if o.startswith("data.root=") else o
            for o in overrides
        ]
    points = any(o in ("data=ring8", "data=grid25") for o in overrides)
    extra = QUICK_2D if points else QUICK
    if any(o.startswith("experiment=") for o in overrides):
        install_evaluator(fashion_evaluator, tmp_path)
        extra = [*extra, *QUICK_METRICS]
    cfg = compose_cfg(*overrides, *extra)
    assert train(cfg)["g_steps"] == 2


def make_image_folder(folder: Path) -> None:
    from PIL import Image

    folder.mkdir(parents=True)
    for i in range(20):
        Image.new("RGB", (80, 72), color=(10 * i, 100, 200 - 5 * i)).save(folder / f"{i:02d}.png")

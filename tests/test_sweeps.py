"""Multirun sweeps, Optuna, and the launcher configs (joblib, SLURM via submitit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from ganlab.config import CONF_DIR
from ganlab.config.resolvers import thread_share, usable_cores

from .test_cli import run_train

TINY = [
    "data=digits",
    "model=mlp",
    "model.generator.hidden=[32]",
    "model.discriminator.hidden=[32]",
    "gan.max_g_steps=3",
    "callbacks=quiet",
]


def _sweep_dir(out: Path) -> Path:
    (sweep,) = (out / "multirun").iterdir()
    return sweep


def test_multirun_writes_one_complete_folder_per_job(tmp_path: Path) -> None:
    proc = run_train("-m", *TINY, "logger=csv", "loss=ns,hinge", out=tmp_path, in_process=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep = _sweep_dir(tmp_path)
    for job, loss in (("0", "ns"), ("1", "hinge")):
        run = sweep / job
        summary = json.loads((run / "summary.json").read_text())
        assert summary["g_steps"] == 3 and f"loss={loss}" in summary["overrides"]
        assert (run / "checkpoints" / "last.ckpt").is_file()
        assert (run / "metrics.csv").is_file() and (run / "config.yaml").is_file()


def test_invalid_value_in_a_later_job_fails_before_any_job_starts(tmp_path: Path) -> None:
    lr = "optim.generator.lr=1e-4,-1"
    proc = run_train("-m", *TINY, "logger=csv", lr, out=tmp_path, in_process=True)
    assert proc.returncode == 2
    assert (
        "sweep job #1" in proc.stderr
        and "optim.generator.lr: expected a positive number" in proc.stderr
    )
    assert not (tmp_path / "multirun").exists() or not any(
        _sweep_dir(tmp_path).glob("*/summary.json")
    )


@pytest.mark.slow  # an Optuna study of real runs: make test-slow
def test_optuna_search_minimises_the_returned_metric_and_groups_wandb_runs(tmp_path: Path) -> None:
    proc = run_train(
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=2",
        "optimized_metric=loss/g",
        *TINY,
        "logger=wandb",
        out=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep = _sweep_dir(tmp_path)
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    trials = [json.loads((sweep / job / "summary.json").read_text()) for job in ("0", "1")]
    assert results["best_value"] == min(t["final"]["loss/g"] for t in trials)
    for job in ("0", "1"):
        (records,) = (sweep / job / "wandb").glob("offline-run-*/run-*.wandb")
        data = records.read_bytes()
        assert sweep.name.encode() in data  # the W&B group is the sweep folder
        assert b"optim.generator.lr=" in data  # overrides are tags


def _compose_with_hydra(*overrides: str):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


def test_slurm_launcher_asks_for_one_task_per_gpu_on_each_node() -> None:
    cfg = _compose_with_hydra(
        "launcher=slurm", "trainer=ddp", "trainer.num_nodes=2", "trainer.devices=8"
    )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (2, 8, 8)
    assert cfg.trainer.strategy._target_ == "ganlab.strategy.GANDDPStrategy"
    assert cfg.trainer.strategy.process_group_backend == "nccl"
    assert launcher.max_num_timeout > 0


def test_joblib_launcher_runs_jobs_in_parallel_processes() -> None:
    cfg = _compose_with_hydra("launcher=joblib")
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher")
    assert cfg.hydra.launcher.n_jobs == 2
    assert _compose_with_hydra().torch_threads is None  # alone: torch's default


def test_a_parallel_sweep_gives_each_job_its_share_of_the_cores(tmp_path: Path) -> None:
    """Two joblib processes, each with cores // 2 threads (at least 1), recorded per run."""
    proc = run_train("-m", "launcher=joblib", *TINY, "logger=csv", "seed=0,1", out=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    share = thread_share(2)
    assert share == max(1, usable_cores() // 2)
    sweep = _sweep_dir(tmp_path)
    for job in ("0", "1"):
        summary = json.loads((sweep / job / "summary.json").read_text())
        assert summary["torch_threads"] == share
    own = run_train("-m", "launcher=joblib", *TINY, "logger=csv", "torch_threads=3", out=tmp_path)
    assert own.returncode == 0, own.stderr[-3000:]
    (latest,) = [p for p in (tmp_path / "multirun").iterdir() if p != sweep]
    assert json.loads((latest / "0" / "summary.json").read_text())["torch_threads"] == 3

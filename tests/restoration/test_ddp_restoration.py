"""Restoration under real DDP (two gloo processes): each rank corrupts its own slice of one
draw for the global batch, so two ranks with batch B train exactly like one with 2B."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ..test_cli import run_dirs, run_train
from ..tolerances import adam_reach, assert_same_training

# No batch norm and no dropout: the only randomness is the data order and the corruptions.
DETERMINISTIC = [
    "data=digits",
    "task=restoration",
    "corruption=mask",
    "corruption.shape=free_form",
    "model.generator.depth=3",
    "model.generator.width=8",
    "model.generator.norm=none",
    "model.generator.dropout=0",
    "model.discriminator.width=8",
    "model.discriminator.n_layers=2",
    "model.discriminator.norm=none",
    "gan.max_g_steps=3",
    "logger=csv",
    "callbacks=quiet",
    "metrics=restoration",
    "metrics.features=none",
    "metrics.num_images=64",
    "metrics.every_g_steps=3",
]


@pytest.mark.slow
def test_two_ranks_equal_one_process_with_the_global_batch(tmp_path: Path) -> None:
    single = run_train(*DETERMINISTIC, "data.batch_size=16", "name=single", out=tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    ddp = run_train(
        *DETERMINISTIC, "trainer=ddp_cpu", "data.batch_size=8", "name=ddp", out=tmp_path
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    (single_run,) = run_dirs(tmp_path, "single")
    (ddp_run,) = run_dirs(tmp_path, "ddp")
    states = [
        torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
        for run in (single_run, ddp_run)
    ]
    assert_same_training(states[1], states[0], adam_reach(single_run))
    metrics = [
        json.loads((run / "summary.json").read_text())["metrics"]["final"]
        for run in (single_run, ddp_run)
    ]
    assert metrics[1]["metrics/psnr"] == pytest.approx(metrics[0]["metrics/psnr"], rel=1e-5)

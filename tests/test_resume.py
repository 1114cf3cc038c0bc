"""Exact resume: a run killed with SIGKILL and resumed logs the same losses, step for step,
as the same run left alone (dropout, gradient penalty, EMA, data order and ADA's adaptive
augmentation strength included)."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from .test_cli import ROOT, TRAIN, run_dirs, run_train

ARGS = [
    "data=digits",
    "data.batch_size=32",
    "model=mlp",
    "model.generator.hidden=[64,64]",
    "model.discriminator.hidden=[64,64]",
    "loss=wgan_gp",
    "gan.ema_decay=0.9",
    "gan.max_g_steps=160",
    "gan.log_every=1",
    "logger=csv",
    "callbacks=quiet",
    "callbacks.checkpoint.every_g_steps=20",
    "trainer.deterministic=true",
    "augment=ada",
    "augment.speed_kimg=2",  # p moves fast enough to change within the run
]
COLUMNS = ("loss/d", "loss/g", "penalty/gp", "grad_norm/d", "grad_norm/g", "augment/p")


def losses(run: Path) -> dict[int, tuple[float, ...]]:
    with open(run / "metrics.csv", newline="") as f:
        return {int(r["step"]): tuple(float(r[c]) for c in COLUMNS) for r in csv.DictReader(f)}


def start_until_first_checkpoint(out: Path, name: str) -> subprocess.Popen[str]:
    """Start ``ganlab-train`` in the background and return once its first last.ckpt exists."""
    proc = subprocess.Popen(
        [str(TRAIN), f"paths.output_root={out}", *ARGS, f"name={name}"],
        cwd=ROOT,
        env={**os.environ, "WANDB_SILENT": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240
    while not list(out.glob(f"{name}/*/checkpoints/last.ckpt")):
        assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    return proc


def test_sigkill_then_resume_matches_the_uninterrupted_run(tmp_path: Path) -> None:
    whole = run_train(*ARGS, "name=whole", out=tmp_path)
    assert whole.returncode == 0, whole.stderr[-3000:]
    (whole_run,) = run_dirs(tmp_path, "whole")

    proc = start_until_first_checkpoint(tmp_path, "killed")
    time.sleep(random.uniform(0.0, 0.3))
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    (killed_run,) = run_dirs(tmp_path, "killed")
    assert not (killed_run / "summary.json").exists()

    resumed = run_train(*ARGS, "name=killed", "resume=true", out=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    resumed_run = next(p for p in run_dirs(tmp_path, "killed") if p != killed_run)
    summary = json.loads((resumed_run / "summary.json").read_text())
    assert summary["g_steps"] == 160

    reference = losses(whole_run)
    assert len({values[-1] for values in reference.values()}) > 10  # ADA's p kept moving
    after = losses(resumed_run)
    start = min(after)
    assert start > 1 and start % 20 == 1, "resumed from a checkpoint on the 20-step schedule"
    assert after == {step: reference[step] for step in range(start, 161)}
    before = losses(killed_run)
    assert before == {step: reference[step] for step in before}


def test_sigterm_saves_a_checkpoint_and_exits_cleanly(tmp_path: Path) -> None:
    proc = start_until_first_checkpoint(tmp_path, "term")
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-3000:]
    assert "stopped by SIGTERM" in stderr and "Traceback" not in stderr
    (run,) = run_dirs(tmp_path, "term")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stopped_by"] == "SIGTERM" and 20 <= summary["g_steps"] < 160
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["ganlab_counters"]["g_step"] == summary["g_steps"]


def saved_step(run: Path) -> int:
    """The G step of the run's last.ckpt (0 when there is none yet)."""
    last = run / "checkpoints" / "last.ckpt"
    if not last.is_file():
        return 0
    return torch.load(last, weights_only=True)["ganlab_counters"]["g_step"]


@pytest.mark.slow
def test_twenty_kills_and_resumes_lose_nothing_and_keep_the_folder_bounded(
    tmp_path: Path,
) -> None:
    """A preemptible job's life: SIGKILL at a random moment, requeue with resume=auto, 20 times."""
    steps, keep, every = 600, 3, 10
    args = [
        *ARGS,
        f"gan.max_g_steps={steps}",
        f"callbacks.checkpoint.every_g_steps={every}",
        f"callbacks.checkpoint.keep={keep}",
        "phases.n_critic=1",  # the gradient penalty stays; each G step costs one D step
    ]
    whole = run_train(*args, "name=whole", out=tmp_path)
    assert whole.returncode == 0, whole.stderr[-3000:]
    (whole_run,) = run_dirs(tmp_path, "whole")

    run = tmp_path / "soak"
    command = [str(TRAIN), f"paths.output_root={tmp_path}", *args, "resume=auto"]
    command.append(f"hydra.run.dir={run}")
    env = {**os.environ, "WANDB_SILENT": "true"}
    rng = random.Random(0)
    history = [0]
    for cycle in range(20):
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 240
        while saved_step(run) <= history[-1]:  # let each life make progress, then kill it
            assert proc.poll() is None, f"cycle {cycle}: the run ended before it was killed"
            assert time.monotonic() < deadline, f"cycle {cycle}: no new checkpoint"
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
        history.append(saved_step(run))
        numbered = list((run / "checkpoints").glob("g*.ckpt"))
        assert len(numbered) <= keep + 1, f"cycle {cycle}: {sorted(p.name for p in numbered)}"
        assert len(list((run / "checkpoints").glob(".*.tmp"))) <= 1
    assert history == sorted(history) and history[-1] < steps

    final = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["g_steps"] == steps
    files = sorted(p.name for p in (run / "checkpoints").iterdir())
    kept = range(steps - (keep - 1) * every, steps + 1, every)
    assert files == [f"g{s:08d}.ckpt" for s in kept] + ["last.ckpt"]
    logged = losses(run)  # metrics.csv gathers every life's rows; redone steps log again
    assert set(logged) == set(range(1, steps + 1))
    assert logged[steps] == losses(whole_run)[steps]

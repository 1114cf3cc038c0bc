"""Real DDP: two gloo processes on the CPU through ``ganlab-train trainer=ddp_cpu``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from .conftest import install_evaluator
from .test_cli import run_dirs, run_train
from .tolerances import adam_reach, assert_same_training

# An MLP without dropout or batch norm and a loss without random penalties: the only
# randomness is the data order and the latents, which ganlab keeps identical on 1 or N ranks.
DETERMINISTIC = [
    "data=digits",
    "model=mlp",
    "model.generator.hidden=[64,64]",
    "model.discriminator.hidden=[32,32]",
    "model.discriminator.dropout=0",
    "model.discriminator.input_dropout=0",
    "loss=ns",
    "gan.max_g_steps=5",
    "logger=csv",
    "callbacks=quiet",
    "callbacks.samples.every_g_steps=2",
    "metrics=domain",
    "metrics.num_samples=300",
    "metrics.chunk_size=50",
    "metrics.every_g_steps=5",
]


def _state(run: Path) -> dict[str, torch.Tensor]:
    ckpt = run / "checkpoints" / "last.ckpt"
    return torch.load(ckpt, weights_only=True, map_location="cpu")["state_dict"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, digits_evaluator: Path) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("ddp")
    install_evaluator(digits_evaluator, out)
    single = run_train(*DETERMINISTIC, "data.batch_size=16", "name=single", out=out)
    assert single.returncode == 0, single.stderr[-3000:]
    ddp = run_train(*DETERMINISTIC, "trainer=ddp_cpu", "data.batch_size=8", "name=ddp", out=out)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    (single_run,) = run_dirs(out, "single")
    (ddp_run,) = run_dirs(out, "ddp")  # both ranks share one run folder
    return single_run, ddp_run


def test_two_ranks_with_batch_b_equal_one_process_with_2b(runs: tuple[Path, Path]) -> None:
    assert_same_training(_state(runs[1]), _state(runs[0]), adam_reach(runs[0]))
    first = torch.load(runs[0] / "checkpoints" / "last.ckpt", weights_only=True)
    moved = any(
        s["exp_avg"].abs().sum() > 0 for s in first["optimizer_states"][0]["state"].values()
    )
    assert moved, "the generator never stepped: the comparison would be vacuous"


def test_metrics_under_ddp_equal_the_single_process_ones(runs: tuple[Path, Path]) -> None:
    """Each rank draws its own chunks of samples; gathered, they are the single run's set."""
    single, ddp = (json.loads((r / "summary.json").read_text())["metrics"]["final"] for r in runs)
    assert single.keys() == ddp.keys() and "metrics/fid" in single
    for key, value in single.items():
        # float32 features of the same samples, gathered in another order before float64 sums.
        assert ddp[key] == pytest.approx(value, rel=1e-4), key


def test_ddp_summary_counts_the_global_batch(runs: tuple[Path, Path]) -> None:
    summary = json.loads((runs[1] / "summary.json").read_text())
    assert summary["world_size"] == 2
    assert summary["batch_size"] == {"per_rank": 8, "global": 16}
    assert summary["kimg"] == pytest.approx(5 * 16 / 1000)


def test_only_rank_zero_writes(runs: tuple[Path, Path]) -> None:
    ddp = runs[1]
    assert sorted(p.name for p in (ddp / "samples").iterdir()) == [
        "g0000002.png",
        "g0000004.png",
        "g0000005.png",
    ]
    assert sorted(p.name for p in (ddp / "checkpoints").iterdir()) == [
        "best.ckpt",
        "g00000005.ckpt",
        "last.ckpt",
    ]
    rows = (ddp / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 2  # header, the final losses, the metrics (once each: no duplicates)


def test_resume_under_ddp(runs: tuple[Path, Path]) -> None:
    out = runs[1].parents[1]
    proc = run_train(
        *DETERMINISTIC,
        "trainer=ddp_cpu",
        "data.batch_size=8",
        "name=ddp",
        "resume=true",
        "gan.max_g_steps=7",
        out=out,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    resumed = next(p for p in run_dirs(out, "ddp") if p != runs[1])
    summary = json.loads((resumed / "summary.json").read_text())
    assert (summary["g_steps"], summary["d_steps"]) == (7, 7)
    assert summary["kimg"] == pytest.approx(7 * 16 / 1000)


# Randomness per sample: the MLP's dropout (its default 0.5, and 0.2 on the inputs) and the
# gradient penalty's interpolation weights, drawn for the global batch (ganlab.noise).
RANDOM = [
    "data=digits",
    "model=mlp",
    "model.generator.hidden=[64,64]",
    "model.discriminator.hidden=[32,32]",
    "loss=wgan_gp",
    "optim=adam_wgan_gp",
    "phases.n_critic=2",
    "gan.max_g_steps=5",
    "seed=3",
    "logger=csv",
    "callbacks=quiet",
]


def test_dropout_and_penalty_draws_agree_on_one_or_two_ranks(tmp_path: Path) -> None:
    single = run_train(*RANDOM, "data.batch_size=16", "name=single", out=tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    ddp = run_train(*RANDOM, "trainer=ddp_cpu", "data.batch_size=8", "name=ddp", out=tmp_path)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    (one,) = run_dirs(tmp_path, "single")
    (two,) = run_dirs(tmp_path, "ddp")
    assert_same_training(_state(two), _state(one), adam_reach(one))

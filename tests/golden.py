"""Golden training curves: the first 20 logged values of fixed-seed runs, one per loss, per
model family, restoration, 2-process DDP and a resumed run.

``python -m tests.golden --write`` records them in ``tests/golden/``; ``python -m
tests.golden`` compares a fresh run with them and prints the largest difference per setting
(0.0 means bit-exact). ``tests/test_golden.py`` runs the comparison with a tolerance that
holds on other CPUs' kernels too.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
TRAIN = Path(sys.executable).parent / "ganlab-train"
STEPS = 20

BASE = [
    "data=digits",
    "data.batch_size=16",
    "logger=csv",
    "callbacks=quiet",
    "callbacks.samples.every_g_steps=1000",
    f"gan.max_g_steps={STEPS}",
    "gan.log_every=1",
    "seed=3",
]
MLP = ["model=mlp", "model.generator.hidden=[64,64]", "model.discriminator.hidden=[32,32]"]
CONV8 = ["model.generator.width=8", "model.discriminator.width=8"]
RESNET16 = ["model.generator.width=16", "model.discriminator.width=16"]
RING = ["data=ring8", "data.batch_size=100", "model=mlp_2d", "loss=ns"]

SETTINGS: dict[str, list[str]] = {
    "loss_ns": [*MLP, "loss=ns"],
    "loss_minimax_uniform": [*MLP, "loss=minimax", "gan.latent=uniform", "optim=sgd"],
    "loss_hinge": [*MLP, "loss=hinge"],
    "loss_lsgan": [*MLP, "loss=lsgan"],
    "loss_wgan": [*MLP, "loss=wgan", "optim=rmsprop"],
    "loss_wgan_gp": [*MLP, "loss=wgan_gp", "optim=adam_wgan_gp"],
    "loss_ns_r1": [*MLP, "loss=ns_r1"],
    "model_cgan_mlp": [
        "model=cgan_mlp",
        "model.generator.hidden=[64,64]",
        "model.discriminator.hidden=[32,32]",
    ],
    "model_dcgan_ema_ttur_clip": [
        "model=dcgan",
        *CONV8,
        "gan.ema_decay=0.9",
        "optim=ttur",
        "gan.grad_clip=1.0",
    ],
    "model_cdcgan": ["model=cdcgan", *CONV8, "loss=hinge"],
    "model_sngan_resnet": ["model=sngan_resnet", *RESNET16, "loss=hinge"],
    "model_sngan_resnet_cond": ["model=sngan_resnet_cond", *RESNET16, "loss=hinge"],
    "model_mlp_2d": RING,
    "model_pacgan2_2d": [*RING, "model.pack=2"],
    "restoration_inpaint": [
        "task=restoration",
        "corruption=mask",
        "model.generator.width=8",
        "model.generator.depth=3",
        "model.discriminator.width=8",
        "model.discriminator.n_layers=2",
    ],
}
# Settings run as separate processes: two gloo ranks, and a run stopped and resumed.
DDP = [
    *MLP,
    "model.discriminator.dropout=0",
    "model.discriminator.input_dropout=0",
    "loss=ns",
    "trainer=ddp_cpu",
    "data.batch_size=8",
]
RESUMED = [*MLP, "loss=ns_r1"]
ALL = [*SETTINGS, "ddp_2proc", "resumed"]


def read_rows(run: Path) -> list[dict[str, float]]:
    """The logged rows of a run's metrics.csv, by G step, only the values that were logged."""
    with (run / "metrics.csv").open() as f:
        rows = [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]
    return [row for row in rows if "loss/d" in row]


def _train_process(overrides: list[str], out: Path, name: str) -> Path:
    # One thread: a reduction's order, and so its rounding, then depends on the CPU alone.
    env = {**os.environ, "WANDB_SILENT": "true", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [str(TRAIN), *BASE, *overrides, f"paths.output_root={out}", f"name={name}"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    runs = sorted(p for p in (out / name).iterdir() if p.is_dir())
    return runs[-1]


def run_setting(name: str, out: Path) -> list[dict[str, float]]:
    """Train setting ``name`` under ``out`` and return its logged rows."""
    if name == "ddp_2proc":
        return read_rows(_train_process(DDP, out, name))
    if name == "resumed":
        first = _train_process([*RESUMED, f"gan.max_g_steps={STEPS // 2}"], out, name)
        second = _train_process([*RESUMED, f"resume={first}"], out, name)
        return read_rows(first) + read_rows(second)
    return read_rows(_train_process(SETTINGS[name], out, name))


def difference(rows: list[dict[str, float]], golden: list[dict[str, float]]) -> float:
    """The largest difference of any golden value, relative to the largest magnitude of that
    value's curve (so a loss near zero is not compared by its rounding alone)."""
    if len(rows) != len(golden):
        return float("inf")
    worst = 0.0
    for key in golden[0]:
        scale = max(abs(row[key]) for row in golden) or 1.0
        for row, gold in zip(rows, golden, strict=True):
            if key not in row:
                return float("inf")
            worst = max(worst, abs(row[key] - gold[key]) / scale)
    return worst


def load(name: str) -> list[dict[str, float]]:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="record the golden files")
    parser.add_argument("names", nargs="*", default=ALL)
    args = parser.parse_args()
    GOLDEN.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.names:
            rows = run_setting(name, Path(tmp))
            if args.write:
                (GOLDEN / f"{name}.json").write_text(json.dumps(rows, indent=1) + "\n")
                print(f"{name}: {len(rows)} rows written")
            else:
                print(f"{name}: largest relative difference {difference(rows, load(name)):.3g}")


if __name__ == "__main__":
    main()

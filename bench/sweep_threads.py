"""A local parallel sweep against the same jobs one after another, and against oversubscription.

    .venv/bin/python bench/sweep_threads.py [--steps 400 --repeats 2 --out FILE] [OVERRIDES...]

Three ways to run the same two jobs (the DCGAN of ``make train`` on Fashion-MNIST, seeds 0
and 1, without metrics, ``--steps`` G steps each), each a real ``ganlab-train -m`` process:

  sequential:     the basic launcher, one job after the other, each with torch's default
                  threads (one per core);
  joblib:         ``launcher=joblib`` (2 jobs side by side), each with its share of the cores
                  (cores // 2), as ganlab sets it;
  oversubscribed: ``launcher=joblib torch_threads=<cores>``, each job with one thread per core,
                  what torch does by default.

The three alternate, repeat by repeat, so the noise of a shared machine hits them alike. The
goal: joblib finishes in at most the sequential time. Wall times include each process's
start-up (importing torch and Lightning, composing, the first step).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAIN = Path(sys.executable).with_name("ganlab-train")
# The DCGAN of `make train` (32 base channels, batch 64, Fashion-MNIST), without its metrics.
JOB = [
    "model=dcgan",
    "model.generator.width=32",
    "model.discriminator.width=32",
    "logger=csv",
    "callbacks=quiet",
    "seed=0,1",
]


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def ways(n: int) -> dict[str, list[str]]:
    """The command-line overrides of each way to run the two jobs."""
    return {
        "sequential": [],
        "joblib": ["launcher=joblib"],
        "oversubscribed": ["launcher=joblib", f"torch_threads={n}"],
    }


def run_sweep(extra: list[str], steps: int, overrides: list[str]) -> float:
    """Seconds for ``ganlab-train -m`` of both jobs, in a fresh output folder."""
    with tempfile.TemporaryDirectory() as out:
        command = [str(TRAIN), "-m", *JOB, f"gan.max_g_steps={steps}", *overrides, *extra]
        command.append(f"paths.output_root={out}")
        pinned = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # torch's default must be its own
        env = {k: v for k, v in os.environ.items() if k not in pinned}
        start = time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr[-3000:]}")
        return wall


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=400, help="G steps per job")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results_sweep.md")
    parser.add_argument("overrides", nargs="*", help="more overrides for both jobs")
    args = parser.parse_args(argv)
    n = cores()
    walls: dict[str, list[float]] = {name: [] for name in ways(n)}
    for repeat in range(args.repeats):
        for name, extra in ways(n).items():
            walls[name].append(run_sweep(extra, args.steps, args.overrides))
            print(f"repeat {repeat}: {name:<15} {walls[name][-1]:7.1f} s", flush=True)
    sequential = statistics.median(walls["sequential"])
    lines = [
        "# A local parallel sweep: joblib with a share of the cores per job",
        "",
        f"Measured {datetime.now(timezone.utc).isoformat(timespec='seconds')} on "
        f"{platform.processor() or platform.machine()}, {n} cores, "
        f"`python bench/sweep_threads.py --steps {args.steps} --repeats {args.repeats}"
        f"{''.join(' ' + o for o in args.overrides)}`.",
        f"Two jobs of `{' '.join([*JOB[:-1], *args.overrides])}` at {args.steps} G steps each "
        "(seeds 0 and 1).",
        "",
        "| way | threads per job | wall, median (s) | each repeat (s) | / sequential |",
        "|---|---|---|---|---|",
    ]
    threads = {"sequential": n, "joblib": max(1, n // 2), "oversubscribed": n}
    for name, values in walls.items():
        median = statistics.median(values)
        each = ", ".join(f"{v:.1f}" for v in values)
        lines.append(
            f"| {name} | {threads[name]} | {median:.1f} | {each} | {median / sequential:.2f} |"
        )
    goal = statistics.median(walls["joblib"]) <= sequential
    lines += ["", f"Goal (joblib at most the sequential time): {'met' if goal else 'NOT met'}."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""``ganlab-reproduce NAME``: train an experiment over its seeds and report it next to the paper.

Each seed is one ``ganlab-train experiment=NAME seed=S`` subprocess, run one after another,
with its own run folder under ``outputs/`` as usual. The experiment's ``paper`` and
``expected`` blocks (and the training config itself) are checked before the first run.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from ganlab.config import CONF_DIR
from ganlab.config.checks import validate
from ganlab.config.sweep import compose_job
from ganlab.errors import GanlabError
from ganlab.reproduce import (
    RUN_KEYS,
    Experiment,
    baseline_means,
    build_report,
    experiments_table,
    format_check,
    format_ours,
    format_outcome,
    format_paper,
    hardware,
    metric_label,
    read_summary,
    update_table,
    validate_experiment,
    write_report,
)

PROG = "ganlab-reproduce"
EXPERIMENTS_DIR = (CONF_DIR / "experiment").resolve()


def compose(name: str, seed: int, overrides: list[str]) -> DictConfig:
    """The run's config as ``ganlab-train experiment=NAME seed=S ...`` will compose it."""
    if not (EXPERIMENTS_DIR / f"{name}.yaml").is_file():
        known = ", ".join(sorted(p.stem for p in EXPERIMENTS_DIR.glob("*.yaml")))
        raise GanlabError(f"no experiment {name!r} in {EXPERIMENTS_DIR}; known: {known}")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose_job("train", [f"experiment={name}", f"seed={seed}", *overrides])
    except Exception as exc:  # Hydra's composition errors: a bad override or config file
        raise GanlabError(f"experiment={name} {' '.join(overrides)}: {exc}") from None
    finally:
        GlobalHydra.instance().clear()


def prepare(name: str, seeds: list[int] | None, overrides: list[str]) -> Experiment:
    """Validate the experiment's blocks and every seed's training config, before any run."""
    experiment = validate_experiment(name, compose(name, 0, overrides))
    seeds = experiment.seeds if seeds is None else seeds
    for seed in seeds:
        validate(compose(name, seed, overrides))
    return replace(experiment, seeds=seeds)


def run_dirs(output_root: Path, run_name: str) -> set[Path]:
    return {p.parent for p in (output_root / run_name).glob("*/summary.json")}


def train_seed(name: str, seed: int, overrides: list[str]) -> tuple[dict, float]:
    """One ``ganlab-train`` subprocess; its summary.json and the wall time it took."""
    cfg = compose(name, seed, overrides)
    output_root, run_name = Path(cfg.paths.output_root), cfg.name
    before = run_dirs(output_root, run_name)
    command = [sys.executable, "-m", "ganlab.train", f"experiment={name}", f"seed={seed}"]
    command += overrides
    print(f"{PROG}: seed {seed}: {shlex.join(['ganlab-train', *command[3:]])}", flush=True)
    start = time.perf_counter()
    code = run_forwarding_sigterm(command)
    wall = time.perf_counter() - start
    if code != 0:
        raise GanlabError(f"seed {seed}: ganlab-train exited with {code}; its output is above")
    new = run_dirs(output_root, run_name) - before
    if len(new) != 1:
        raise GanlabError(
            f"seed {seed}: expected one new run folder with summary.json under "
            f"{output_root / run_name}, found {len(new)}"
        )
    path = new.pop() / "summary.json"
    summary = read_summary(path, RUN_KEYS, f"rerun seed {seed}")
    return summary, wall


def run_forwarding_sigterm(command: list[str]) -> int:
    """Run ``command``; a SIGTERM to this process is passed on, so the run saves and stops.

    Without this, stopping ``ganlab-reproduce`` (a scheduler's SIGTERM) would leave the
    training run going on its own.
    """
    proc = subprocess.Popen(command)

    def forward(signum: int, frame: object) -> None:
        proc.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        code = proc.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if code == 143:
        raise GanlabError(
            "stopped by SIGTERM; the run saved last.ckpt (resume it with ganlab-train)"
        )
    return code


def finished_runs(name: str, folders: list[Path]) -> tuple[list[dict], list[float]]:
    """Summaries and wall times of finished runs of experiment ``name``, in the given order."""
    summaries = []
    for folder in folders:
        path = folder / "summary.json"
        if not path.is_file():
            raise GanlabError(f"--runs {folder}: no summary.json there (is it a finished run?)")
        hint = f"rerun that seed, or leave {folder} out of --runs"
        summary = read_summary(path, RUN_KEYS, hint)
        if summary["experiment"] != name:
            raise GanlabError(
                f"--runs {folder}: a run of experiment {summary['experiment']!r}, not {name!r}"
            )
        summaries.append(summary)
    return summaries, [float(s["wall_time_s"]) for s in summaries]


def print_results(report: dict) -> None:
    for r in report["results"]:
        print(
            f"  {r['label']:<14} paper {format_paper(r):<16} ours {format_ours(r['ours']):<26} "
            f"{format_check(r):<28} {format_outcome(r['passed'])}"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Train an experiment over its seeds and compare with the paper's numbers.",
    )
    parser.add_argument("name", nargs="?", help="experiment file experiments/NAME.yaml")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run")
    parser.add_argument("--seeds", nargs="+", help="instead of reproduce.seeds, e.g. --seeds 0 1")
    parser.add_argument("--dry-run", action="store_true", help="validate and print the plan")
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=EXPERIMENTS_DIR / "results",
        help="where NAME.md/.json/.png go (default experiments/results)",
    )
    parser.add_argument(
        "--table", action="store_true", help="rewrite the table in experiments/README.md"
    )
    parser.add_argument(
        "--runs",
        type=Path,
        nargs="+",
        help="report these finished runs (one folder per seed, made on this machine) instead "
        "of training",
    )
    # Intermixed: overrides may follow options, as in the command each report records.
    args = parser.parse_intermixed_args(argv)
    if args.seeds is not None:
        # ``--seeds 0 1 key=value`` takes the integers; what follows them is overrides.
        count = next((i for i, s in enumerate(args.seeds) if not _is_int(s)), len(args.seeds))
        if count == 0:
            parser.error(f"--seeds: expected integers, got {args.seeds[0]!r}")
        args.overrides += args.seeds[count:]
        args.seeds = [int(s) for s in args.seeds[:count]]
    return args


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def is_default_results(path: Path) -> bool:
    """Whether reports go to experiments/results, whose table experiments/README.md shows."""
    return path.resolve() == (EXPERIMENTS_DIR / "results").resolve()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    default_results = is_default_results(args.results_dir)
    try:
        if args.name is None and not args.table:
            raise GanlabError("give an experiment NAME (or --table)")
        if args.name is not None:
            reproduce(args)
        if args.table or (args.name is not None and default_results and not args.dry_run):
            table = experiments_table(EXPERIMENTS_DIR, args.results_dir)
            if not update_table(EXPERIMENTS_DIR / "README.md", table) and args.table:
                print(table, end="")
    except GanlabError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        sys.exit(2)


def reproduce(args: argparse.Namespace) -> None:
    """Validate, train every seed (or read ``--runs``), aggregate, check, write the report."""
    experiment = prepare(args.name, args.seeds, args.overrides)
    baselines = baseline_means(experiment, args.results_dir)
    if args.dry_run:
        print(f"{PROG}: {args.name} is valid; it would run:")
        for seed in experiment.seeds:
            run = ["ganlab-train", f"experiment={args.name}", f"seed={seed}", *args.overrides]
            print("  " + shlex.join(run))
        for entry in experiment.expected:
            check = entry.check or "not checked"
            metric = metric_label(entry.metric)
            print(f"  expects {entry.label}: {metric} (paper {entry.paper}, {check})")
        return
    if args.runs:
        summaries, walls = finished_runs(args.name, args.runs)
        skip = ("experiment=", "seed=")
        overrides = [o for o in summaries[0]["overrides"] if not o.startswith(skip)]
        seeds = [int(s["seed"]) for s in summaries]
    else:
        overrides, seeds, summaries, walls = args.overrides, experiment.seeds, [], []
        for seed in seeds:
            summary, wall = train_seed(args.name, seed, overrides)
            summaries.append(summary)
            walls.append(wall)
    where = [] if is_default_results(args.results_dir) else ["--results-dir", str(args.results_dir)]
    command = shlex.join([PROG, args.name, "--seeds", *map(str, seeds), *where, *overrides])
    experiment = replace(experiment, seeds=seeds)
    hw = hardware(summaries)
    report = build_report(experiment, summaries, walls, command, overrides, hw, baselines)
    markdown = write_report(report, summaries, args.results_dir)
    verdict = {True: "every check passes", False: "a check FAILS", None: "nothing checked"}
    print(f"{PROG}: {args.name}: {verdict[report['passed']]}")
    print_results(report)
    print(f"{PROG}: report in {markdown}")


if __name__ == "__main__":
    main()

"""``ganlab-train`` as a user runs it: a subprocess on Fashion-MNIST, resume, bad input.

The first run is the console script in a subprocess; the bad-input cases call the same
``main()`` in this process (``in_process=True``), which checks the same exit codes and
messages without paying Python's and Lightning's start-up for each case.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import logging
import os
import secrets
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TRAIN = Path(sys.executable).parent / "ganlab-train"
QUICK = [
    "data.limit=256",
    "data.batch_size=32",
    "gan.max_g_steps=4",
    "callbacks.samples.every_g_steps=2",
    "callbacks.checkpoint.every_g_steps=2",
    "model.generator.width=16",
    "model.discriminator.width=16",
]


def run_train(*args: str, out: Path, in_process: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WANDB_SILENT": "true"}
    flags = [a for a in args if a.startswith("-")]
    overrides = [a for a in args if not a.startswith("-")]
    if in_process:
        return train_in_process([*flags, f"paths.output_root={out}", *overrides])
    return subprocess.run(
        [str(TRAIN), *flags, f"paths.output_root={out}", *overrides],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def train_in_process(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``ganlab-train ARGV``'s ``main()`` in this process: its exit code, stdout and stderr.

    What a process would start fresh is fresh here too: the run's folder suffix, the note of
    the folders this launch made, ``sys.argv``.
    """
    from ganlab.config import resolvers
    from ganlab.run.folder import CREATED_ENV
    from ganlab.train import main

    saved = sys.argv, resolvers._RUN_UID, os.environ.pop(CREATED_ENV, None)
    sys.argv, resolvers._RUN_UID = [str(TRAIN), *argv], secrets.token_hex(2)
    stdout, stderr, code = io.StringIO(), io.StringIO(), 0
    try:
        with redirect_stdout(stdout), redirect_stderr(stderr):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            except Exception:  # as the interpreter would end the process
                traceback.print_exc()
                code = 1
    finally:
        # A process's exit would close the log file Hydra opened in the run folder and end
        # W&B's service process, which keeps the run folder open.
        if "wandb" in sys.modules:
            sys.modules["wandb"].teardown()
        root = logging.getLogger()
        for handler in [h for h in root.handlers if isinstance(h, logging.FileHandler)]:
            handler.close()
            root.removeHandler(handler)
        sys.argv, resolvers._RUN_UID = saved[0], saved[1]
        os.environ.pop(CREATED_ENV, None)
        if saved[2] is not None:
            os.environ[CREATED_ENV] = saved[2]
    return subprocess.CompletedProcess(sys.argv, code, stdout.getvalue(), stderr.getvalue())


def tool_in_process(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``ganlab-<tool> ARGS``: the tool's ``main(argv)`` in this process, its exit code and
    output (argparse's own exits included)."""
    module = importlib.import_module(f"ganlab.cli.{tool}")
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        try:
            code = module.main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return subprocess.CompletedProcess([tool, *args], code, stdout.getvalue(), stderr.getvalue())


def run_dirs(out: Path, name: str) -> list[Path]:
    return sorted(p for p in (out / name).glob("*") if p.is_dir())


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("outputs")
    proc = run_train(*QUICK, "name=cli", out=out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = run_dirs(out, "cli")
    return run


def test_train_writes_samples_checkpoint_summary_and_wandb(first_run: Path) -> None:
    assert [p.name for p in sorted((first_run / "samples").glob("*.png"))] == [
        "g0000002.png",
        "g0000004.png",
    ]
    assert (first_run / "checkpoints" / "last.ckpt").stat().st_size > 0
    assert (first_run / ".hydra" / "config.yaml").is_file()
    summary = json.loads((first_run / "summary.json").read_text())
    assert summary["g_steps"] == 4 and summary["name"] == "cli"
    assert "data.limit=256" in summary["overrides"]
    (wandb_run,) = (first_run / "wandb").glob("offline-run-*")
    (records,) = wandb_run.glob("run-*.wandb")
    data = records.read_bytes()
    assert b"max_g_steps" in data  # the resolved config is the run's W&B config
    assert b"loss/d" in data
    assert list((wandb_run / "files" / "media" / "images").glob("samples_*.png"))
    assert (first_run / "metrics.csv").read_text().count("\n") >= 2


def test_resume_true_continues_from_the_newest_run(first_run: Path) -> None:
    out = first_run.parents[1]
    before = snapshot(first_run)
    proc = run_train(
        *QUICK,
        "name=cli",
        "resume=true",
        "gan.max_g_steps=6",
        "logger=csv",
        out=out,
        in_process=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    second = next(p for p in run_dirs(out, "cli") if p != first_run)
    summary = json.loads((second / "summary.json").read_text())
    assert (summary["g_steps"], summary["d_steps"]) == (6, 6)
    assert summary["resumed_from"] == str(first_run / "checkpoints" / "last.ckpt")
    assert snapshot(first_run) == before


def _corrupt_checkpoint(run: Path, tmp: Path) -> list[str]:
    bad = tmp / "corrupt.ckpt"
    bad.write_bytes((run / "checkpoints" / "last.ckpt").read_bytes()[:2000])
    return [f"resume={bad}"]


def _output_under_a_file(run: Path, tmp: Path) -> list[str]:
    (tmp / "a_file").write_text("")
    return [f"paths.output_root={tmp / 'a_file' / 'outputs'}"]


# (case, overrides or a function making them, text of the one error line). The table of bad
# data files runs in-process in test_bad_input.py; these cases need the real command line.
BAD_INPUT = [
    ("negative lr", ["optim.generator.lr=-0.1"], "optim.generator.lr: expected a positive number"),
    ("resolution", ["data.resolution=30"], "model.generator: "),
    ("missing folder", ["data=image_folder", "data.root=/no/such/dir"], "/no/such/dir"),
    ("corrupt checkpoint", _corrupt_checkpoint, "corrupt.ckpt is not a readable checkpoint"),
    ("other model", ["data=digits", "resume=RUN"], "was saved by another model"),
    ("no checkpoint", ["resume=/no/such.ckpt"], "resume=/no/such.ckpt: no checkpoint there"),
    ("output under a file", _output_under_a_file, "a_file is a file, not a folder"),
]


@pytest.mark.parametrize(
    ("setup", "expected"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT]
)
def test_bad_input_exits_with_one_message_and_touches_nothing(
    first_run: Path, tmp_path: Path, setup: list[str] | Callable[..., list[str]], expected: str
) -> None:
    out = first_run.parents[1]
    before = snapshot(out)
    extra = setup(first_run, tmp_path) if callable(setup) else setup
    extra = [arg.replace("RUN", str(first_run)) for arg in extra]
    proc = run_train(*QUICK, "name=cli", *extra, out=out, in_process=True)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "error" in line.lower()]) == 1
    assert snapshot(out) == before


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("gan.max_gsteps=3", "Could not override 'gan.max_gsteps'"),
        ("experiment=no_such_paper", "Could not find 'experiment/no_such_paper'"),
    ],
)
def test_unknown_keys_and_experiments_are_refused_by_name(
    tmp_path: Path, override: str, expected: str
) -> None:
    proc = run_train("data=digits", override, out=tmp_path / "outputs", in_process=True)
    assert proc.returncode == 1
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "outputs").exists()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount tiny tmpfs file systems (root only; skipped elsewhere) and unmount them after."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        cmd = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], check=True)


@pytest.mark.parametrize(
    ("options", "expected"),
    [("size=4m,ro", "(Read-only file system)"), ("size=1m", "only 1.0 MiB free on its disk")],
)
def test_unwritable_or_full_output_folder_is_refused_before_the_run(
    small_disk: Callable[[str], Path], options: str, expected: str
) -> None:
    disk = small_disk(options)
    proc = run_train(*QUICK, out=disk / "outputs", in_process=True)
    assert proc.returncode == 2
    assert expected in proc.stderr and "paths.output_root=" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(disk.iterdir())


def test_disk_full_during_the_run_names_the_file_and_keeps_earlier_runs(
    first_run: Path, small_disk: Callable[[str], Path]
) -> None:
    before = snapshot(first_run)
    disk = small_disk("size=1m")
    proc = run_train(
        *QUICK,
        "gan.max_g_steps=8",
        f"resume={first_run}",
        "paths.min_free_mb=0",
        out=disk,
        in_process=True,
    )
    assert proc.returncode == 1
    assert "(No space left on device)" in proc.stderr and "Traceback" not in proc.stderr
    assert "no checkpoint was saved yet" in proc.stderr
    assert not list(disk.rglob("*.tmp"))  # the half-written checkpoint is removed
    assert snapshot(first_run) == before


def test_unknown_choice_lists_the_available_ones(tmp_path: Path) -> None:
    proc = run_train("model=no_such_model", out=tmp_path)
    assert proc.returncode != 0
    assert "no_such_model" in proc.stderr
    assert "dcgan" in proc.stderr  # Hydra names the available choices


@pytest.mark.parametrize("name", ["../escape", "a/b", ""])
def test_unsafe_run_names_are_rejected_without_writing_outside_outputs(
    tmp_path: Path, name: str
) -> None:
    out = tmp_path / "outputs"
    proc = run_train("data=digits", f"name={name}", out=out)
    assert proc.returncode == 2
    assert "name:" in proc.stderr and "safe folder name" in proc.stderr
    assert list(tmp_path.iterdir()) == []  # outputs/ was new: nothing of the launch is left

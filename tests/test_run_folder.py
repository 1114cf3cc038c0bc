"""ganlab removes only the run folders it made, and one process at a time trains in one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ganlab.errors import ConfigError
from ganlab.run.folder import (
    CREATED_ENV,
    created_here,
    discard_if_created,
    is_locked,
    note_if_new,
    run_folder_lock,
)

from .conftest import ROOT, TINY
from .test_cli import run_dirs, run_train


def user_folder(path: Path) -> dict[str, str]:
    """A folder that looks like a fresh run (.hydra/ and *.log only) but is a user's."""
    (path / ".hydra").mkdir(parents=True)
    files = {
        ".hydra/config.yaml": "theirs: 1\n",
        "notes.log": "a week of notes\n",
        "archive.log/results.bin": "results\n",
    }
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return files


def contents(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): p.read_text() for p in path.rglob("*") if p.is_file()}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CREATED_ENV, raising=False)


def test_only_a_folder_this_launch_made_is_discarded(tmp_path: Path, clean_env: None) -> None:
    existing = tmp_path / "existing"
    files = user_folder(existing)
    new = tmp_path / "outputs" / "name" / "run"
    note_if_new(existing)
    note_if_new(new)
    assert not created_here(existing) and created_here(new) and created_here(new / "sub")
    (new / ".hydra").mkdir(parents=True)
    (new / "train.log").write_text("")
    discard_if_created(existing)
    assert contents(existing) == files
    discard_if_created(new)
    assert not (tmp_path / "outputs").exists()  # and the empty parents it made


def test_a_new_folder_with_output_of_its_own_is_kept(tmp_path: Path, clean_env: None) -> None:
    new = tmp_path / "run"
    note_if_new(new)
    new.mkdir()
    (new / "config.yaml").write_text("a: 1\n")
    discard_if_created(new)
    assert (new / "config.yaml").is_file()


def test_an_existing_folder_is_not_taken_as_a_run_dir(tmp_path: Path) -> None:
    """Hydra would rewrite .hydra/ in it, and ganlab's clean-up must not take it for its own."""
    existing = tmp_path / "existing"
    files = user_folder(existing)
    done = run_train(*TINY, f"hydra.run.dir={existing}", "optim.generator.lr=-1", out=tmp_path)
    assert done.returncode == 2 and "was not made by ganlab-train" in done.stderr
    assert contents(existing) == files


def test_a_config_error_keeps_an_existing_folder_without_hydra_files(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "notes.log").write_text("mine\n")
    done = run_train(*TINY, f"hydra.run.dir={existing}", "optim.generator.lr=-1", out=tmp_path)
    assert done.returncode == 2 and "optim.generator.lr" in done.stderr
    assert (existing / "notes.log").read_text() == "mine\n"


def test_a_config_error_removes_the_folder_it_made(tmp_path: Path) -> None:
    done = run_train(*TINY, "optim.generator.lr=-1", "name=fresh", out=tmp_path)
    assert done.returncode == 2
    assert not (tmp_path / "fresh").exists()


def test_the_evaluator_command_leaves_an_existing_folder_alone(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    files = user_folder(existing)
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "ganlab-train-evaluator"),
            "data=digits",
            "epochs=0",
            f"paths.output_root={tmp_path}",
            f"hydra.run.dir={existing}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert contents(existing) == files


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    with run_folder_lock(tmp_path):
        assert is_locked(tmp_path)
        with (
            pytest.raises(ConfigError, match=f"process {os.getpid()} on "),
            run_folder_lock(tmp_path),
        ):
            pass
    assert not is_locked(tmp_path)


HOLD = (
    "import sys, time; from pathlib import Path; from ganlab.run.folder import run_folder_lock\n"
    "with run_folder_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(120)\n"
)


@pytest.fixture
def held(tmp_path: Path):
    """A run folder whose lock another live process holds, with a checkpoint in it."""
    run = tmp_path / "locked" / "2026-01-01_00-00-00_aaaa"
    (run / "checkpoints").mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    yield run, holder.pid
    holder.kill()
    holder.wait()


def test_training_in_a_held_folder_is_refused(tmp_path: Path, held: tuple[Path, int]) -> None:
    run, pid = held
    done = run_train(*TINY, f"hydra.run.dir={run}", "resume=auto", out=tmp_path, in_process=True)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"is in use: process {pid} on" in done.stderr and "Traceback" not in done.stderr
    assert not (run / "checkpoints" / "last.ckpt").exists()


def test_resume_true_passes_over_a_run_still_training(
    tmp_path: Path, held: tuple[Path, int]
) -> None:
    first = run_train(*TINY, "name=locked", out=tmp_path, in_process=True)
    assert first.returncode == 0, first.stderr[-2000:]
    finished = next(p for p in run_dirs(tmp_path, "locked") if p != held[0])
    # The held run's checkpoint is the newest: resume=true must still take the finished one.
    (held[0] / "checkpoints" / "last.ckpt").write_bytes(
        (finished / "checkpoints" / "last.ckpt").read_bytes()
    )
    time.sleep(0.01)
    os.utime(held[0] / "checkpoints" / "last.ckpt")
    resume = ["name=locked", "resume=true", "gan.max_g_steps=3"]
    done = run_train(*TINY, *resume, out=tmp_path, in_process=True)
    assert done.returncode == 0, done.stderr[-2000:]
    (resumed,) = set(run_dirs(tmp_path, "locked")) - {held[0], finished}
    summary = (resumed / "summary.json").read_text()
    assert str(finished / "checkpoints" / "last.ckpt") in summary

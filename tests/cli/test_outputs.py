"""Commands that write files never overwrite their inputs or a user's files: an existing
file or a non-empty folder needs --overwrite, an input folder is refused always, and the
check comes before any work. In-process here; tests/cli/test_saved_config.py runs the same
commands as subprocesses."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganlab.cli import evaluate, restore, sample
from ganlab.cli.outputs import check_output_file, check_output_folder
from ganlab.errors import ConfigError
from ganlab.train import train
from tests.conftest import TINY, compose_config
from tests.restoration.test_train_restoration import SMALL
from tests.test_cli import train_in_process


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_rules_in_process(tmp_path: Path) -> None:
    existing, folder, full = tmp_path / "a.npz", tmp_path / "new", tmp_path / "full"
    existing.write_bytes(b"user data")
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    check_output_file(tmp_path / "b.npz", overwrite=False)
    check_output_folder(folder, overwrite=False)
    check_output_file(existing, overwrite=True)
    check_output_folder(full, overwrite=True)
    cases = [
        (lambda: check_output_file(existing, overwrite=False), "exists; pass --overwrite"),
        (lambda: check_output_file(full, overwrite=True), "is a folder"),
        (lambda: check_output_file(existing, True, inputs=[existing]), "is also an input"),
        (lambda: check_output_folder(full, overwrite=False), "is not empty; pass --overwrite"),
        (lambda: check_output_folder(existing, overwrite=True), "is a file"),
        (lambda: check_output_folder(full, True, inputs=[full]), "also an input folder"),
    ]
    for call, message in cases:
        with pytest.raises(ConfigError, match=message):
            call()


@pytest.fixture(scope="module")
def generation_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("outputs")
    done = train_in_process(
        [
            *TINY,
            "model=mlp",
            "model.generator.hidden=[16]",
            "model.discriminator.hidden=[16]",
            f"paths.output_root={out}",
            "name=run",
        ]
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (run,) = (out / "run").iterdir()
    return run


@pytest.mark.parametrize(
    ("target", "flags", "message"),
    [
        ("file.npz", [], "exists; pass --overwrite"),
        ("full", [], "is not empty; pass --overwrite"),
        ("RUN", ["--overwrite"], "also an input folder"),
    ],
)
def test_sample_refuses_before_drawing(
    generation_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    target: str,
    flags: list[str],
    message: str,
) -> None:
    (tmp_path / "file.npz").write_bytes(b"a colleague's samples")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "000000.png").write_bytes(b"not ours")
    out = generation_run if target == "RUN" else tmp_path / target
    before, run_before = snapshot(tmp_path), snapshot(generation_run)
    assert sample.main([str(generation_run), "n=4", f"out={out}", *flags]) == 2
    assert message in capsys.readouterr().err
    assert snapshot(tmp_path) == before and snapshot(generation_run) == run_before


def test_sample_overwrites_only_when_asked(generation_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.npz"
    assert sample.main([str(generation_run), "n=4", f"out={out}"]) == 0
    first = out.read_bytes()
    assert sample.main([str(generation_run), "n=4", f"out={out}"]) == 2
    assert out.read_bytes() == first
    assert sample.main([str(generation_run), "n=4", f"out={out}", "seed=1", "--overwrite"]) == 0
    assert out.read_bytes() != first


def test_evaluate_keeps_an_existing_file(
    generation_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "evaluation.json"
    out.write_text("a user's notes")
    assert evaluate.main([str(generation_run), "--features", "mixture", "--out", str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert out.read_text() == "a user's notes"


@pytest.fixture(scope="module")
def denoise_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("restoration")
    cfg = compose_config([*TINY, *SMALL, "corruption=noise", "gan.max_g_steps=1"], out)
    train(cfg)
    return Path(cfg.paths.run_dir)


def noisy_folder(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in names:
        Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8)).save(folder / name)
    return folder


@pytest.mark.parametrize(
    ("names", "out", "flags", "message"),
    [
        (["a.png", "b.png"], "IN", ["--overwrite"], "also an input folder"),
        (["a.png", "b.png"], "full", [], "is not empty; pass --overwrite"),
        (["a.png", "a.jpg"], "new", [], "would both be written as a.png"),
    ],
    ids=["into_its_inputs", "non_empty", "two_inputs_one_name"],
)
def test_restore_refuses_before_writing(
    denoise_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    names: list[str],
    out: str,
    flags: list,
    message: str,
) -> None:
    inputs = noisy_folder(tmp_path / "in", names)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "a.png").write_bytes(b"a user's image")
    target = inputs if out == "IN" else tmp_path / out
    before = snapshot(tmp_path)
    assert restore.main([str(denoise_run), str(inputs), str(target), *flags]) == 2
    assert message in capsys.readouterr().err
    assert snapshot(tmp_path) == before and not (tmp_path / "new").exists()


def test_restore_writes_into_a_non_empty_folder_when_asked(
    denoise_run: Path, tmp_path: Path
) -> None:
    inputs = noisy_folder(tmp_path / "in", ["a.png"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("kept")
    assert restore.main([str(denoise_run), str(inputs), str(out), "--overwrite"]) == 0
    assert (out / "notes.txt").read_text() == "kept" and (out / "a.png").is_file()

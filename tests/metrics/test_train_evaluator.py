"""`ganlab-train-evaluator`: a quick real run as a user starts it, and a refused dataset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from ganlab.cli.train_evaluator import train_evaluator
from ganlab.config import CONF_DIR
from ganlab.errors import MetricsError
from ganlab.metrics import DomainFeatures

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ganlab.cli.train_evaluator", f"paths.output_root={out}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_trains_saves_and_reports(tmp_path: Path) -> None:
    # scikit-learn's digits: 1500 training images at 32 px, one epoch in seconds.
    proc = run_cli("data=digits", "epochs=1", "batch_size=32", "device=cpu", out=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    path = tmp_path / "evaluators" / "digits_32px.pt"
    record = json.loads(path.with_suffix(".json").read_text())
    assert f"test accuracy {record['test_accuracy']:.2%}" in proc.stdout
    assert record["test_accuracy"] > 0.5
    training = record["training"]
    assert training.pop("wall_time_s") > 0
    assert training == {"epochs": 1, "batch_size": 32, "lr": 2e-3, "seed": 0, "device": "cpu"}
    extractor = DomainFeatures(path)
    assert extractor.fingerprint == record["sha256"]
    assert (extractor.dataset, extractor.resolution, extractor.num_classes) == ("digits", 32, 10)
    (run_dir,) = (tmp_path / "evaluators" / "runs").iterdir()
    assert (run_dir / ".hydra" / "config.yaml").is_file()


def test_a_dataset_of_points_is_refused(tmp_path: Path) -> None:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            "evaluator",
            overrides=["data=ring8", f"paths.root_dir={ROOT}", f"paths.output_root={tmp_path}"],
        )
    with pytest.raises(
        MetricsError, match=r"data: ring8 yields samples of shape \(2,\), not images"
    ):
        train_evaluator(cfg)
    assert not (tmp_path / "evaluators").exists()

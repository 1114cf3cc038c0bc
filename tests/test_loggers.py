"""The CSV logger keeps a run folder's metrics.csv when a requeued job logs into it again."""

from __future__ import annotations

import csv
from pathlib import Path

from ganlab.run.loggers import CSVLogger


def _log(folder: Path, rows: list[tuple[int, dict[str, float]]]) -> None:
    logger = CSVLogger(save_dir=str(folder), name="", version="")
    for step, values in rows:
        logger.log_metrics(values, step=step)
    logger.save()


def test_a_second_life_appends_and_widens_the_header(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("a: 1\n")  # a run folder is never empty
    _log(tmp_path, [(1, {"loss/d": 1.0}), (2, {"loss/d": 2.0, "metrics/fid": 9.0})])
    _log(tmp_path, [(2, {"loss/d": 2.5}), (3, {"loss/d": 3.0, "loss/g": 0.5})])
    with open(tmp_path / "metrics.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["step"], r["loss/d"], r["metrics/fid"], r["loss/g"]) for r in rows] == [
        ("1", "1.0", "", ""),
        ("2", "2.0", "9.0", ""),
        ("2", "2.5", "", ""),
        ("3", "3.0", "", "0.5"),
    ]

"""A CSV logger that appends to the run's ``metrics.csv`` instead of deleting it.

Lightning's ``CSVLogger`` deletes ``metrics.csv`` when its folder is not empty. A requeued
job (``resume=auto``) logs into its own run folder again, so that would erase every row the
job logged before it was preempted. This one keeps the rows and appends, widening the header
when new columns appear. ``quiet_lightning`` keeps Lightning's console output to the run.
"""

from __future__ import annotations

import csv
import logging
import warnings

from lightning.pytorch.loggers import CSVLogger as LightningCSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment


class AppendingExperimentWriter(ExperimentWriter):
    """Lightning's writer, minus the deletion: an existing file's header seeds the columns."""

    def _check_log_dir_exists(self) -> None:
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as file:
                self.metrics_keys = sorted(next(csv.reader(file), []))


class CSVLogger(LightningCSVLogger):
    """``lightning.pytorch.loggers.CSVLogger`` whose ``metrics.csv`` survives a restart."""

    @property
    @rank_zero_experiment
    def experiment(self) -> AppendingExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = AppendingExperimentWriter(log_dir=self.log_dir)
        return self._experiment


class _DropAdvert(logging.Filter):
    """Lightning logs an advertisement for a cloud service at every start; drop it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage()


_ADVERT_FILTER = _DropAdvert()


def quiet_lightning() -> None:
    """Keep Lightning's console to what says something about the run (idempotent)."""
    warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\)")
    # On a machine with SLURM installed, a run started without srun (a local run, a test, the
    # login node) is not a mistake: launcher=slurm starts its jobs with srun itself.
    warnings.filterwarnings("ignore", message="The `srun` command is available on your system")
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_ADVERT_FILTER)

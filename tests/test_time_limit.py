"""SaveOnTimeLimit without a cluster: the signal at a known step, the save, the hand-on."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import torch

from ganlab.callbacks import SaveOnTimeLimit
from ganlab.train import train

from .conftest import TINY, ComposeFn

AT = 37


class SignalAt(pl.Callback):
    """Sends this process SIGUSR2 after G step ``AT``, as SLURM would before the limit."""

    def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
        if pl_module.g_step == AT:
            os.kill(os.getpid(), signal.SIGUSR2)


def test_the_signal_saves_the_step_then_reaches_the_previous_handler(
    compose_cfg: ComposeFn,
) -> None:
    called: list[int] = []
    previous = signal.signal(signal.SIGUSR2, lambda signum, frame: called.append(signum))
    try:
        cfg = compose_cfg(
            *TINY,
            "model=mlp",
            "gan.max_g_steps=200",
            "callbacks.checkpoint.every_g_steps=100000",
            "+callbacks.signal._target_=tests.test_time_limit.SignalAt",
            "+callbacks.time_limit._target_=ganlab.callbacks.SaveOnTimeLimit",
        )
        summary = train(cfg)
        handler_after = signal.getsignal(signal.SIGUSR2)
    finally:
        signal.signal(signal.SIGUSR2, previous)
    assert called == [signal.SIGUSR2]  # handed on once (submitit would requeue here)
    assert handler_after is not None and handler_after.__name__ == "<lambda>"  # given back
    last = Path(summary["run_dir"]) / "checkpoints" / "last.ckpt"
    saved = torch.load(last, weights_only=True, map_location="cpu")["ganlab_counters"]
    assert saved["g_step"] == AT  # the step the signal came at, not a periodic one
    assert summary["g_steps"] == AT and "SIGUSR2 (the time limit is near)" in " ".join(
        summary["warnings"]
    )


def test_a_name_that_is_not_a_signal_is_refused() -> None:
    with pytest.raises(ValueError, match=r"signal_name: 'USR9' is not a signal"):
        SaveOnTimeLimit("USR9")

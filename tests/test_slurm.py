"""ganlab's SLURM path against a real one-node cluster (scripts/slurm-local-cluster).

The cluster is started once (idempotent; a file lock keeps parallel test processes from
starting it twice). Where SLURM is neither installed nor installable (no root, no apt-get)
these tests skip with that reason; on a machine that can run it, a cluster that does not come
up is a failure.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from .test_cli import TRAIN, run_dirs, run_train
from .test_ddp import DETERMINISTIC, _state
from .tolerances import adam_reach, assert_same_training

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "slurm-local-cluster"
# CPU jobs on the local cluster: one process each, no GPUs.
CPU_JOBS = [
    "launcher=slurm",
    "trainer.devices=1",
    "hydra.launcher.gpus_per_node=0",
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=1",
    "hydra.launcher.timeout_min=10",
]
TINY = [
    "data=digits",
    "model=mlp",
    "model.generator.hidden=[32]",
    "model.discriminator.hidden=[32]",
    "callbacks=quiet",
    "logger=csv",
]


@pytest.fixture(scope="session")
def slurm_cluster() -> str:
    """The local cluster's partition, started if need be."""
    root = os.geteuid() == 0
    if shutil.which("sbatch") is None and not (root and shutil.which("apt-get")):
        pytest.skip("SLURM is not installed, and installing it needs root and apt-get")
    if not root and subprocess.run(["sinfo"], capture_output=True).returncode != 0:
        pytest.skip("no SLURM cluster is running, and starting one needs root")
    with open("/tmp/ganlab-slurm-test.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"the local cluster did not start:\n{proc.stderr}"
    return "ganlab"


def test_a_two_job_sweep_runs_on_slurm(slurm_cluster: str, tmp_path: Path) -> None:
    proc = run_train("-m", *CPU_JOBS, *TINY, "gan.max_g_steps=3", "seed=0,1", out=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (sweep,) = (tmp_path / "multirun").iterdir()
    for job, seed in (("0", 0), ("1", 1)):
        run = sweep / job
        summary = json.loads((run / "summary.json").read_text())
        assert summary["g_steps"] == 3 and summary["seed"] == seed
        assert (run / "checkpoints" / "last.ckpt").is_file() and (run / "metrics.csv").is_file()
    logs = list((sweep / ".submitit").glob("*/*_log.out"))
    assert len(logs) == 2  # two SLURM jobs, each with its submitit log


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["hydra.launcher.partition=nope"], "hydra.launcher.partition=nope: no such partition"),
        (["trainer.num_nodes=3"], "trainer.num_nodes=3: partition ganlab has 1 node(s)"),
        (
            ["hydra.launcher.gpus_per_node=2"],
            "hydra.launcher.gpus_per_node=2: partition ganlab has no GPUs",
        ),
    ],
)
def test_a_sweep_the_cluster_cannot_run_is_refused_before_submitting(
    slurm_cluster: str, tmp_path: Path, overrides: list[str], message: str
) -> None:
    proc = run_train("-m", *CPU_JOBS, *TINY, *overrides, out=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "multirun").exists()


def test_no_sbatch_on_path_is_named(tmp_path: Path) -> None:
    """Where sbatch is missing (this test hides it), launcher=slurm says so before anything."""
    env_path = os.environ["PATH"]
    os.environ["PATH"] = str(tmp_path)
    try:
        proc = run_train("-m", *CPU_JOBS, *TINY, out=tmp_path / "out", in_process=True)
    finally:
        os.environ["PATH"] = env_path
    assert proc.returncode == 2
    assert "launcher=slurm: sbatch is not on PATH" in proc.stderr
    assert not (tmp_path / "out").exists()


def wait_for(what: str, found: Callable[[], object], timeout: float = 180) -> object:
    """Poll ``found()`` until it is truthy; fail naming ``what`` after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = found()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def job_folders(sweeps: Path) -> list[Path]:
    """submitit's folder of each job (named by the job id) under the sweeps in ``sweeps``."""
    return [p for p in sweeps.glob("*/.submitit/*") if p.is_dir() and not p.is_symlink()]


def scontrol(*args: str) -> str:
    return subprocess.run(
        ["scontrol", *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def interrupt_and_resume(
    tmp_path: Path, interrupt: Callable[[str, Path], None], extra: tuple[str, ...] = ()
) -> Path:
    """Run one SLURM job and the same run alone side by side; ``interrupt(job, run_dir)``
    mid-run must get the job requeued; release it and check it restarted once, resumed from
    its own last.ckpt and ended with the losses of the run left alone. Returns its folder."""
    run = [*TINY, "gan.max_g_steps=3000", "torch_threads=1", "seed=0", *extra]
    env = {**os.environ, "WANDB_SILENT": "true"}
    sweep = subprocess.Popen(
        [str(TRAIN), "-m", *CPU_JOBS, *run, f"paths.output_root={tmp_path / 'slurm'}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    alone = subprocess.Popen(
        [str(TRAIN), *run, f"paths.output_root={tmp_path / 'alone'}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        folders = tmp_path / "slurm" / "multirun"
        submitit = wait_for("the job's folder", lambda: job_folders(folders))
        job = submitit[0].name
        run_dir = submitit[0].parents[1] / "0"
        interrupt(job, run_dir)
        wait_for("the requeue", lambda: "JobState=PENDING" in scontrol("show", "job", job))
        # SLURM holds a requeued job for two minutes (its BeginTime); release it now.
        scontrol("update", f"JobId={job}", "StartTime=now")
        _, err = sweep.communicate(timeout=300)
        assert sweep.returncode == 0, err[-3000:]
        assert alone.wait(timeout=300) == 0
    finally:
        for proc in (sweep, alone):
            if proc.poll() is None:
                proc.kill()
    assert "Restarts=1" in scontrol("show", "job", job)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["g_steps"] == 3000
    assert summary["resumed_from"] == str(run_dir / "checkpoints" / "last.ckpt")
    (reference,) = tmp_path.glob("alone/*/*/summary.json")
    final = json.loads(reference.read_text())["final"]
    losses = {k: v for k, v in summary["final"].items() if k.startswith("loss/")}
    assert losses == {k: v for k, v in final.items() if k.startswith("loss/")}
    return run_dir


@pytest.mark.cluster
def test_a_preempted_job_is_requeued_and_resumes_exactly(
    slurm_cluster: str, tmp_path: Path
) -> None:
    """``scontrol requeue`` mid-run: SIGTERM, last.ckpt at the step in progress, the job
    runs again and resume=auto continues from its own checkpoint."""

    def preempt(job: str, run_dir: Path) -> None:
        wait_for("a checkpoint", lambda: (run_dir / "checkpoints" / "last.ckpt").is_file())
        scontrol("requeue", job)

    interrupt_and_resume(tmp_path, preempt)


@pytest.mark.cluster
def test_the_time_limit_signal_saves_then_requeues(slurm_cluster: str, tmp_path: Path) -> None:
    """submitit's time-limit signal (SIGUSR2): ganlab saves last.ckpt at the step it is in
    (no periodic checkpoint is due in this run), then submitit requeues the job."""
    saved = {}

    def time_limit(job: str, run_dir: Path) -> None:
        wait_for("training", lambda: "RUNNING" in scontrol("show", "job", job))
        time.sleep(12)  # start-up, then some training
        subprocess.run(["scancel", "--signal=USR2", job], check=True, timeout=60)
        last = run_dir / "checkpoints" / "last.ckpt"
        wait_for("the checkpoint", last.is_file)
        wait_for("the requeue", lambda: "JobState=PENDING" in scontrol("show", "job", job))
        state = torch.load(last, weights_only=True, map_location="cpu")
        saved.update(state["ganlab_counters"])

    interrupt_and_resume(tmp_path, time_limit, ("callbacks.checkpoint.every_g_steps=100000",))
    assert 0 < saved["g_step"] < 3000


@pytest.mark.cluster
def test_two_tasks_under_srun_train_as_one_process_with_twice_the_batch(
    slurm_cluster: str, tmp_path: Path
) -> None:
    """One job, two tasks: SLURM starts both gloo processes and Lightning reads its
    environment; their G and D equal one process's with the doubled batch."""
    plain = [a for a in DETERMINISTIC if not a.startswith("metrics")]
    ddp = run_train(
        "-m",
        *CPU_JOBS,
        "trainer=ddp_cpu",
        "trainer.devices=2",
        *plain,
        "data.batch_size=8",
        out=tmp_path / "slurm",
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    (sweep,) = (tmp_path / "slurm" / "multirun").iterdir()
    (job,) = job_folders(sweep.parent)
    assert sorted(p.name for p in job.glob("*_log.err")) == [
        f"{job.name}_0_log.err",
        f"{job.name}_1_log.err",
    ]
    summary = json.loads((sweep / "0" / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["batch_size"] == {"per_rank": 8, "global": 16}
    single = run_train(*plain, "data.batch_size=16", "name=single", out=tmp_path / "one")
    assert single.returncode == 0, single.stderr[-3000:]
    (one,) = run_dirs(tmp_path / "one", "single")
    assert_same_training(_state(sweep / "0"), _state(one), adam_reach(one))

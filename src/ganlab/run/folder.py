"""Run folders: which ones this launch made, and the lock of the process training in one.

ganlab removes or rewrites only what it made itself. Hydra creates a run folder before
ganlab's code runs, so after an early error "only .hydra/ and logs inside" cannot tell a
folder just made from a user's existing one (``hydra.run.dir=EXISTING``). The output check
therefore notes, before Hydra's mkdir, which folders do not exist yet; only those are
cleaned up. The note travels in the environment, so the processes a launcher starts for a
sweep's jobs (joblib, SLURM) know it too.

A requeued job can start while the old one still trains in the same folder. The process that
trains in a folder holds an exclusive ``flock`` on ``.ganlab.lock`` there for as long as it
runs; a second one is refused with the holder's PID, and ``resume=true`` passes over folders
whose lock is held. The kernel drops the lock when the holder exits, however it exits.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ganlab.errors import ConfigError

CREATED_ENV = "GANLAB_CREATED_DIRS"
LOCK_NAME = ".ganlab.lock"


def _created() -> list[Path]:
    return [Path(p) for p in os.environ.get(CREATED_ENV, "").split(os.pathsep) if p]


def note_if_new(path: Path) -> None:
    """Before ``path`` is made, record it and each missing parent as this launch's own."""
    missing = []
    current = Path(path).absolute()
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    if missing:
        known = [str(p) for p in _created()]
        os.environ[CREATED_ENV] = os.pathsep.join([*known, *map(str, missing)])


def created_here(path: Path) -> bool:
    """Whether this launch made ``path`` (or a folder above it that it made holds it)."""
    path = Path(path).absolute()
    return any(made == path or made in path.parents for made in _created())


def discard_if_created(run_dir: Path) -> None:
    """After an error before training: remove ``run_dir`` if this launch made it and it holds
    only what Hydra wrote there (``.hydra/``, logs), then the now-empty folders above it that
    this launch made too. A folder that existed before is never touched."""
    run_dir = Path(run_dir).absolute()
    if not run_dir.is_dir() or not created_here(run_dir):
        return
    if any(p.name != ".hydra" and p.suffix != ".log" for p in run_dir.iterdir()):
        return
    shutil.rmtree(run_dir)
    for parent in run_dir.parents:
        if not created_here(parent) or not parent.is_dir() or any(parent.iterdir()):
            break
        parent.rmdir()


def _holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        text = ""
    pid, _, host = text.partition(" ")
    return f"process {pid} on {host}" if pid else "another process"


@contextmanager
def run_folder_lock(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir``'s lock while the body runs; ``ConfigError`` naming the holder if taken."""
    path = Path(run_dir) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"{run_dir} is in use: {_holder(path)} is training in it (it holds {path}); "
                "wait for that run to end, or train in another folder"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        yield
    finally:
        os.close(fd)


def is_locked(run_dir: Path) -> bool:
    """Whether a process holds ``run_dir``'s lock (is training in it) right now."""
    path = Path(run_dir) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


# The errors that mean "this run cannot write its outputs", not a bug.
WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


def write_failure(exc: OSError, run_dir: Path) -> str:
    """One line for a run that could not write its outputs (disk full, read-only, denied)."""
    target = exc.filename2 or exc.filename
    last = Path(run_dir) / "checkpoints" / "last.ckpt"
    if last.is_file():
        then = f"the last good checkpoint is {last}: continue from it with resume={last}"
    else:
        then = "no checkpoint was saved yet: start the run again"
    return (
        f"cannot write {target} ({exc.strerror}). Free some space or choose another folder "
        f"with paths.output_root=PATH; {then}"
    )

"""Files that are either the old version or the whole new one, also after a power cut.

A file is written under a temporary name that is unique to the writing process (two
processes in one folder never share one), flushed to disk with ``fsync``, renamed over the
target, and the rename itself flushed by an ``fsync`` of the folder. Without the flushes a
crash right after the rename can leave an empty file under the final name.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def temporary_name(path: Path) -> Path:
    """``.<name>.<pid>.<random>.tmp`` beside ``path``: this process's own temporary file."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def fsync_path(path: Path) -> None:
    """Flush a file's data, or a folder's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_durably(tmp: Path, path: Path) -> None:
    """Flush ``tmp``, rename it over ``path`` and flush the rename."""
    fsync_path(tmp)
    os.replace(tmp, path)
    fsync_path(path.parent)

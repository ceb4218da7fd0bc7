"""Small file-system helpers for code that works beside the Workspace port rather than through it
(the editor workspace comparing a buffer with the disk, creating the folders a new file needs
before the editor opens it). One copy, here; the Workspace's own reads and writes are `disk.py`'s,
pinned against symlink races."""

from __future__ import annotations

import os
import stat as stat_mod
from contextlib import suppress
from pathlib import Path


def read_regular(path: Path) -> bytes | None:
    """The bytes of a regular file, or None (no file, not a regular one, unreadable); never blocks
    on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            return f.read() if stat_mod.S_ISREG(os.fstat(f.fileno()).st_mode) else None
    except OSError:
        return None


def make_parents(paths: list[Path]) -> list[Path]:
    """Create the missing parent folders of `paths`; returns those made, outermost first."""
    made: list[Path] = []
    for path in paths:
        missing = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
        for d in reversed(missing):
            with suppress(OSError):
                d.mkdir()
                made.append(d)
    return made


def remove_empty(dirs: list[Path]) -> None:
    """Remove folders `make_parents` made, innermost first, if they are still empty."""
    for d in reversed(dirs):
        with suppress(OSError):
            d.rmdir()

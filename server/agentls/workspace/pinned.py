"""File access that cannot be redirected by a symlink swapped in after a path was checked.

The permission check resolves a path (`realpath`) and decides on the result; a write that resolves
it again later follows whatever link another process put there in between (issue 10: an allowed
Edit overwrote a file outside the workspace). Here a *resolved* path is walked one component at a
time from `/`, each directory opened relative to the previous one with `O_NOFOLLOW`, so a component
that has become a symlink fails the walk instead of being followed. The final name is then opened,
created or renamed relative to that directory's descriptor, again without following a link: a
rename replaces a link that appeared there, it never writes through it.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat as stat_mod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path

from agentls.workspace.leftovers import journal

# O_PATH (Linux) opens a directory for use as `dir_fd` without needing read permission on it.
_DIR_FLAGS = os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_PATH", os.O_RDONLY)
TEMP_SUFFIX = ".agentls-tmp"
"""Atomic writes stage their bytes in `.NAME.xxxxxxxx.agentls-tmp` next to the file."""


FileId = tuple[int, int, int, int]
"""What makes a directory entry the same file: device, inode, type and change time. The inode
alone is not enough: a link created right after the file was deleted can reuse its number."""


def file_id(st: os.stat_result) -> FileId:
    return (st.st_dev, st.st_ino, stat_mod.S_IFMT(st.st_mode), st.st_ctime_ns)


class PathMoved(OSError):
    """A component of a resolved path is no longer the directory it was (a link, or gone)."""


_PINNED: ContextVar[Mapping[Path, Path] | None] = ContextVar("agentls_pinned_paths", default=None)


@contextmanager
def resolving_as(pins: Mapping[Path, Path]) -> Iterator[None]:
    """Within the block, `real_path` answers for the paths of `pins` from `pins`.

    A permission check resolves the same path several times (containment, protected names, each
    rule); a link swapped between two of those would let one part of the check see the file and
    another the link. Pinned, the whole check decides on one resolution, and the workspace is then
    held to that same resolution (`checked_target`).
    """
    token = _PINNED.set(pins)
    try:
        yield
    finally:
        _PINNED.reset(token)


def real_path(path: str | Path) -> Path:
    """The symlink-resolved form of `path` (`os.path.realpath`), or `PathMoved`.

    `realpath` is not atomic: when a component turns from a symlink into a file between its
    `lstat` and its `readlink`, it raises (EINVAL) instead of answering. A few retries ride out a
    one-off change; a path that keeps changing raises `PathMoved`, so a caller refuses instead of
    crashing or guessing.
    """
    pins = _PINNED.get()
    if pins is not None and (pinned := pins.get(Path(path))) is not None:
        return pinned
    error: OSError | None = None
    for _ in range(3):
        try:
            return Path(os.path.realpath(path))
        except OSError as e:
            error = e
    raise PathMoved(
        error.errno if error else 0, f"{os.fspath(path)} kept changing while it was resolved ({error})"
    )


def open_dir(directory: Path) -> int:
    """A descriptor for the resolved, absolute `directory`, reached without following any link.

    Raises `PathMoved` when a component is now a symlink, a file, or missing; `OSError` for other
    failures (permissions). The caller closes the descriptor.
    """
    fd = os.open("/", _DIR_FLAGS)
    try:
        for part in directory.parts[1:]:
            nxt = _open_subdir(fd, part, directory)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_subdir(dir_fd: int, name: str, whole: Path) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as e:
        # ENOTDIR/ELOOP: a file or a link is there now (O_PATH opens a link, O_DIRECTORY refuses it).
        if e.errno in (errno.ENOTDIR, errno.ELOOP, errno.ENOENT):
            raise PathMoved(e.errno, f"{whole} changed: {name} is no longer a directory") from e
        raise


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    """The entry `name` itself (a link is not followed), or None when there is none."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def read_at(dir_fd: int, name: str, max_bytes: int) -> tuple[os.stat_result, bytes]:
    """The bytes of the regular file `name`, opened without following a link or waiting on a FIFO.

    Raises `OSError` (ELOOP for a link) from the open; the caller checks the returned stat (taken
    from the open descriptor, so it describes exactly the bytes read) for the file type and size.
    """
    fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat_mod.S_ISREG(st.st_mode):
            return st, b""
        return st, f.read(max_bytes + 1)


def make_dirs_at(dir_fd: int, names: tuple[str, ...]) -> int:
    """Create `names` as nested directories below `dir_fd`; returns a descriptor for the innermost.

    A name that already exists must be a real directory (a link is not followed).
    """
    fd = os.dup(dir_fd)
    try:
        for name in names:
            with suppress(FileExistsError):
                os.mkdir(name, dir_fd=fd)
            nxt = _open_subdir(fd, name, Path(name))
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


class EntryChanged(OSError):
    """The directory entry about to be replaced is not the file that was checked and read."""


def replace_at(
    dir_fd: int, name: str, data: bytes, mode: int | None, expect: FileId | None, directory: Path
) -> None:
    """Atomically make `name` in `dir_fd` hold `data`: temp file, fsync, rename, directory fsync.

    `expect` is the identity the entry must still have, or None if it must not exist; a
    mismatch raises `EntryChanged` and leaves the entry untouched. The rename replaces the entry
    itself: if a link appeared there after the check, the link is replaced, nothing is written
    through it. `directory` is the path of `dir_fd`, for the leftovers journal: the temp file is
    recorded before it is created, so a process killed mid-write has it removed at the next start.
    """
    while True:
        tmp = f".{name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        staged = directory / tmp
        journal().add("temp", [staged])
        try:
            # 0o666 lets the kernel apply the umask to new files, as an editor's save would.
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666, dir_fd=dir_fd
            )
            break
        except FileExistsError:
            journal().discard([staged])
            continue
        except BaseException:
            journal().discard([staged])
            raise
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        current = lstat_at(dir_fd, name)
        found = None if current is None else file_id(current)
        if found != expect:
            raise EntryChanged(0, f"{name} was replaced or removed while it was being written")
        # Renaming over the target replaces it atomically (it also detaches hard links; owner
        # and extended attributes are not carried over, which an unprivileged process cannot do).
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    finally:
        journal().discard([staged])
    fsync_dir(dir_fd)


def remove_at(dir_fd: int, name: str) -> None:
    os.unlink(name, dir_fd=dir_fd)
    fsync_dir(dir_fd)


def fsync_dir(dir_fd: int) -> None:
    # Makes the rename durable; some file systems refuse to fsync a directory, which is harmless.
    with suppress(OSError):
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

"""`DiskWorkspace`: the `Workspace` port over the local file system.

Reads refuse anything that is not a regular file (without ever blocking on a FIFO). `apply` is
all-or-nothing: every change is validated and its new bytes computed before the first write, each
write is atomic (temp file, fsync, rename, directory fsync), and if a later write fails the files
already written are put back from the bytes read during validation.
"""

from __future__ import annotations

import asyncio
import errno
import os
import secrets
import stat as stat_mod
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from agentls.workspace.port import (
    AppliedChange,
    EditFile,
    FileChange,
    FileContent,
    FileKind,
    FileStat,
    Overlay,
    ProcessResult,
    ProcessSpec,
    Replacement,
    StaleFileError,
    WorkspaceError,
)
from agentls.workspace.text import content_version, decode

_THREAD_READ_BYTES = 1024 * 1024
"""Reads larger than this run in a worker thread so the event loop keeps serving the editor."""


@dataclass
class _Planned:
    """One validated change: where it lands and what to put back if a later write fails."""

    path: Path
    target: Path
    """The symlink-resolved file actually written, so a link stays a link."""
    old: bytes | None
    new: bytes
    mode: int | None
    """Permission bits to keep; None for a new file (the umask decides)."""


class DiskWorkspace:
    def __init__(self, root: Path, *, max_read_bytes: int = 50 * 1024 * 1024) -> None:
        self._root = Path(os.path.normpath(Path(root).absolute()))
        self._max_read_bytes = max_read_bytes

    @property
    def root(self) -> Path:
        return self._root

    def _abs(self, path: Path) -> Path:
        return path if path.is_absolute() else self._root / path

    async def stat(self, path: Path) -> FileStat | None:
        st = _stat_or_none(self._abs(path))
        if st is None:
            return None
        return FileStat(kind=_kind(st), size=st.st_size, mtime_ns=st.st_mtime_ns)

    async def read(self, path: Path) -> FileContent:
        path = self._abs(path)
        st = _stat_or_none(path)
        if st is None:
            raise WorkspaceError(f"File does not exist: {path}")
        _check_readable(path, st, self._max_read_bytes)
        if st.st_size > _THREAD_READ_BYTES:
            data = await asyncio.to_thread(_read_regular, path, self._max_read_bytes)
        else:
            data = _read_regular(path, self._max_read_bytes)
        return FileContent(path=path, data=data, version=content_version(data))

    async def apply(self, changes: Sequence[FileChange]) -> list[AppliedChange]:
        # fsync can stall for tens of milliseconds, so the whole change set runs in a worker
        # thread. Once started it runs to the end even if the caller is cancelled, which keeps
        # the all-or-nothing promise.
        return await asyncio.to_thread(self._apply_sync, list(changes))

    def _apply_sync(self, changes: list[FileChange]) -> list[AppliedChange]:
        plans = [self._plan(change) for change in changes]
        targets = [p.target for p in plans]
        if len(set(targets)) != len(targets):
            raise WorkspaceError("The same file appears twice in one change set; combine the edits.")
        done: list[tuple[_Planned, list[Path]]] = []
        for plan in plans:
            try:
                made_dirs = _make_parents(plan.target.parent) if plan.old is None else []
                if plan.new != plan.old:
                    _atomic_write(plan.target, plan.new, plan.mode)
            except OSError as e:
                _roll_back(done)
                already = "; earlier files in this change set were restored" if done else ""
                raise WorkspaceError(f"Could not write {plan.path}: {e.strerror or e}{already}.") from e
            done.append((plan, made_dirs))
        return [AppliedChange(p.path, content_version(p.new), created=p.old is None) for p in plans]

    async def run(self, spec: ProcessSpec) -> ProcessResult:
        # Imported lazily: process handling is its own module and most sessions never spawn.
        from agentls.workspace.process import run_process

        return await run_process(spec)

    def overlay(self) -> Overlay:
        return Overlay()

    def _plan(self, change: FileChange) -> _Planned:
        """Validate one change against the disk and compute its new bytes; writes nothing."""
        path = self._abs(change.path)
        target = Path(os.path.realpath(path))
        st = _stat_or_none(target)
        if st is None:
            if isinstance(change, EditFile) or change.expected_version is not None:
                raise StaleFileError(
                    f"{path} no longer exists (it was deleted or moved after it was read). "
                    "Check the path; use Write to create it again if that is intended."
                )
            _check_parent(path, target)
            return _Planned(path, target, None, _encode_new(path, change.text), None)
        _check_readable(path, st, self._max_read_bytes)
        old = _read_regular(target, self._max_read_bytes)
        if change.expected_version is None:
            raise StaleFileError(f"{path} already exists. Read it first, then write it again.")
        if content_version(old) != change.expected_version:
            raise StaleFileError(
                f"{path} has been modified since it was read (by the user, a formatter or another "
                "tool). Read the file again before changing it."
            )
        decoded = decode(old)
        if isinstance(change, EditFile):
            text = _replace(path, decoded.text, change.replacements)
        else:
            text = change.text
        try:
            # Re-encoding with the original BOM and encoding keeps bytes outside the replaced
            # ranges identical, including undecodable ones carried as surrogates.
            new = decoded.encode(text)
        except UnicodeEncodeError as e:
            raise WorkspaceError(
                f"The new text for {path} cannot be encoded as {decoded.encoding}: {e}."
            ) from e
        return _Planned(path, target, old, new, stat_mod.S_IMODE(st.st_mode))


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return path.stat()  # Follows symlinks: a dangling link raises FileNotFoundError.
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENAMETOOLONG):
            return None
        raise WorkspaceError(f"Cannot access {path}: {e.strerror or e}.") from e


def _kind(st: os.stat_result) -> FileKind:
    if stat_mod.S_ISREG(st.st_mode):
        return "file"
    return "directory" if stat_mod.S_ISDIR(st.st_mode) else "other"


def _check_readable(path: Path, st: os.stat_result, max_bytes: int) -> None:
    if stat_mod.S_ISDIR(st.st_mode):
        raise WorkspaceError(f"{path} is a directory, not a file; use Glob or Bash ls to list it.")
    if not stat_mod.S_ISREG(st.st_mode):
        raise WorkspaceError(f"{path} is not a regular file (a FIFO, socket or device); it cannot be read.")
    if st.st_size > max_bytes:
        raise WorkspaceError(
            f"{path} is too large ({st.st_size} bytes; the limit is {max_bytes}). "
            "Use Grep to search it or Bash (head, sed -n) to look at parts of it."
        )


def _read_regular(path: Path, max_bytes: int) -> bytes:
    # O_NONBLOCK: if the path was swapped for a FIFO after the stat, open must not wait for a writer.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise WorkspaceError(f"Cannot read {path}: {e.strerror or e}.") from e
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat_mod.S_ISREG(st.st_mode):
            raise WorkspaceError(f"{path} is not a regular file; it cannot be read.")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise WorkspaceError(f"{path} is too large (over {max_bytes} bytes).")
    return data


def _replace(path: Path, text: str, replacements: Sequence[Replacement]) -> str:
    parts: list[str] = []
    pos = 0
    # A stable sort keeps two insertions at the same offset in the order they were given.
    for r in sorted(replacements, key=lambda r: (r.start, r.end)):
        if not (0 <= r.start <= r.end <= len(text)):
            raise WorkspaceError(f"Edit range {r.start}-{r.end} is outside {path} ({len(text)} characters).")
        if r.start < pos:
            raise WorkspaceError(f"Edits to {path} overlap at character {r.start}.")
        parts += (text[pos : r.start], r.new_text)
        pos = r.end
    parts.append(text[pos:])
    return "".join(parts)


def _encode_new(path: Path, text: str) -> bytes:
    try:
        return text.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError as e:
        raise WorkspaceError(f"The text for {path} cannot be encoded as UTF-8: {e}.") from e


def _check_parent(path: Path, target: Path) -> None:
    """Fail validation (not halfway through writing) when a new file's parent cannot exist."""
    for ancestor in target.parents:
        st = _stat_or_none(ancestor)
        if st is not None:
            if not stat_mod.S_ISDIR(st.st_mode):
                raise WorkspaceError(f"Cannot create {path}: {ancestor} is not a directory.")
            return


def _make_parents(directory: Path) -> list[Path]:
    """Create missing parent directories; returns those created, outermost first."""
    missing: list[Path] = []
    for d in (directory, *directory.parents):
        if d.exists():
            break
        missing.append(d)
    for d in reversed(missing):
        with suppress(FileExistsError):
            d.mkdir()
    return list(reversed(missing))


def _atomic_write(target: Path, data: bytes, mode: int | None) -> None:
    directory = target.parent
    while True:
        tmp = directory / f".{target.name}.{secrets.token_hex(4)}.agentls-tmp"
        try:
            # 0o666 lets the kernel apply the umask to new files, as an editor's save would.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        # Renaming over the target replaces it atomically (it also detaches hard links; owner
        # and extended attributes are not carried over, which an unprivileged process cannot do).
        tmp.replace(target)
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename durable; some file systems refuse to fsync a directory, which is harmless.
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _roll_back(done: list[tuple[_Planned, list[Path]]]) -> None:
    """Best effort: put back files already written, newest first, and drop directories we made."""
    for plan, made_dirs in reversed(done):
        with suppress(OSError):
            if plan.old is None:
                plan.target.unlink()
            elif plan.new != plan.old:
                _atomic_write(plan.target, plan.old, plan.mode)
        for d in reversed(made_dirs):
            with suppress(OSError):
                d.rmdir()

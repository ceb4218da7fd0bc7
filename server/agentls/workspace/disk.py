"""`DiskWorkspace`: the `Workspace` port over the local file system.

Reads refuse anything that is not a regular file (without ever blocking on a FIFO). `apply` is
all-or-nothing: every change is validated and its new bytes computed before the first write, each
write is atomic (temp file, fsync, rename, directory fsync), and if a later write fails the files
already written are put back from the bytes read during validation.

A file is read and written through a descriptor of its directory reached without following any
link (`pinned.py`), and only if its path still leads where the permission check saw it lead
(`checked_target`): a symlink swapped in after the check is refused, never followed.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat as stat_mod
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from agentls.workspace.pinned import (
    EntryChanged,
    FileId,
    PathMoved,
    file_id,
    lstat_at,
    make_dirs_at,
    open_dir,
    read_at,
    real_path,
    remove_at,
    replace_at,
)
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
    RestoreFile,
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
    dir_fd: int
    """The directory the file lies in (or its deepest existing ancestor), reached without links."""
    missing: tuple[str, ...]
    """Directories to create below `dir_fd` before a new file can be written."""
    identity: FileId | None
    """The file read and checked; None for a new file."""
    old: bytes | None
    new: bytes | None
    """None: remove the file (a `RestoreFile` of nothing)."""
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

    async def read(self, path: Path, *, checked_target: Path | None = None) -> FileContent:
        path = self._abs(path)
        target = _resolve(path, checked_target)
        st = _stat_or_none(target)
        if st is None:
            raise WorkspaceError(f"File does not exist: {path}")
        _check_readable(path, st, self._max_read_bytes)
        if st.st_size > _THREAD_READ_BYTES:
            data = await asyncio.to_thread(_read_pinned, path, target, self._max_read_bytes)
        else:
            data = _read_pinned(path, target, self._max_read_bytes)
        return FileContent(path=path, data=data, version=content_version(data))

    async def apply(self, changes: Sequence[FileChange]) -> list[AppliedChange]:
        # fsync can stall for tens of milliseconds, so the whole change set runs in a worker
        # thread. Once started it runs to the end even if the caller is cancelled, which keeps
        # the all-or-nothing promise.
        return await asyncio.to_thread(self._apply_sync, list(changes))

    def _apply_sync(self, changes: list[FileChange]) -> list[AppliedChange]:
        plans: list[_Planned] = []
        try:
            for change in changes:
                plans.append(self._plan(change))
            targets = [p.target for p in plans]
            if len(set(targets)) != len(targets):
                raise WorkspaceError("The same file appears twice in one change set; combine the edits.")
            self._write_all(plans)
        finally:
            for plan in plans:
                os.close(plan.dir_fd)
        return [
            AppliedChange(
                p.path,
                "" if p.new is None else content_version(p.new),
                created=p.old is None,
                removed=p.new is None and p.old is not None,
            )
            for p in plans
        ]

    def _write_all(self, plans: list[_Planned]) -> None:
        done: list[tuple[_Planned, list[Path]]] = []
        for plan in plans:
            made_dirs: list[Path] = []
            try:
                if plan.missing:
                    made_dirs = _missing_dirs(plan)
                    inner = make_dirs_at(plan.dir_fd, plan.missing)
                    os.close(plan.dir_fd)
                    plan.dir_fd, plan.missing = inner, ()
                if plan.new is None:
                    if plan.old is not None:
                        _remove_checked(plan)
                elif plan.new != plan.old:
                    replace_at(
                        plan.dir_fd, plan.target.name, plan.new, plan.mode, plan.identity, plan.target.parent
                    )
            except OSError as e:
                _roll_back(done)
                already = "; earlier files in this change set were restored" if done else ""
                if isinstance(e, EntryChanged | PathMoved):
                    raise StaleFileError(
                        f"{plan.path} was replaced, moved or turned into a symlink while it was being "
                        f"changed; nothing was written to it{already}. Read it again."
                    ) from e
                raise WorkspaceError(f"Could not write {plan.path}: {e.strerror or e}{already}.") from e
            done.append((plan, made_dirs))

    async def run(self, spec: ProcessSpec) -> ProcessResult:
        # Imported lazily: process handling is its own module and most sessions never spawn.
        from agentls.workspace.process import run_process

        return await run_process(spec)

    def overlay(self) -> Overlay:
        return Overlay()

    def _plan(self, change: FileChange) -> _Planned:
        """Validate one change against the disk and compute its new bytes; writes nothing.

        The file is read through a descriptor of its directory reached without following links,
        and the same descriptor is used to write it: what is written is what was checked.
        """
        path = self._abs(change.path)
        if isinstance(change, RestoreFile):
            if path.is_symlink():
                raise StaleFileError(f"{path} is now a symbolic link; a rewind does not write through it.")
            target = _resolve(path, None)
        else:
            target = _resolve(path, change.checked_target)
        st = _stat_or_none(target)
        if isinstance(change, RestoreFile) and change.data is None and st is None:
            if change.expected_version is not None:
                raise StaleFileError(
                    f"{path} no longer exists (it was removed after the rewind was planned)."
                )
            dir_fd = _open_pinned_dir(path, _existing_ancestor(path, target)[0])
            return _Planned(path, target, dir_fd, (), None, None, None, None)
        if st is None:
            if isinstance(change, EditFile) or change.expected_version is not None:
                raise StaleFileError(
                    f"{path} no longer exists (it was deleted or moved after it was read). "
                    "Check the path; use Write to create it again if that is intended."
                )
            existing, missing = _existing_ancestor(path, target)
            dir_fd = _open_pinned_dir(path, existing)
            new = change.data if isinstance(change, RestoreFile) else _encode_new(path, change.text)
            return _Planned(path, target, dir_fd, missing, None, None, new, None)
        _check_readable(path, st, self._max_read_bytes)
        dir_fd = _open_pinned_dir(path, target.parent)
        try:
            st, old = _read_at(path, dir_fd, target.name, self._max_read_bytes)
            if change.expected_version is None:
                raise StaleFileError(f"{path} already exists. Read it first, then write it again.")
            if content_version(old) != change.expected_version:
                if isinstance(change, RestoreFile):
                    raise StaleFileError(f"{path} changed after the rewind was planned; nothing was written.")
                raise StaleFileError(
                    f"{path} has been modified since it was read (by the user, a formatter or another "
                    "tool). Read the file again before changing it."
                )
            if isinstance(change, RestoreFile):
                return _Planned(
                    path, target, dir_fd, (), file_id(st), old, change.data, stat_mod.S_IMODE(st.st_mode)
                )
            decoded = decode(old)
            if isinstance(change, EditFile):
                text = apply_replacements(path, decoded.text, change.replacements)
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
        except BaseException:
            os.close(dir_fd)
            raise
        return _Planned(path, target, dir_fd, (), file_id(st), old, new, stat_mod.S_IMODE(st.st_mode))


def check_target(path: Path, checked: Path) -> None:
    """Raise `StaleFileError` unless `path` still leads to `checked`, the file permission was given for."""
    _resolve(path, checked)


def _resolve(path: Path, checked: Path | None) -> Path:
    """The file `path` leads to now, which must be the one permission was checked for."""
    try:
        target = real_path(path)
    except PathMoved as e:
        raise StaleFileError(f"{e.strerror}. Try again once it has settled.") from e
    if checked is not None and target != checked:
        raise StaleFileError(
            f"{path} now leads to {target}, not to {checked} as when permission was checked "
            "(it was replaced by a symlink or moved). Nothing was read or written; Read it again."
        )
    return target


def _open_pinned_dir(path: Path, directory: Path) -> int:
    try:
        return open_dir(directory)
    except PathMoved as e:
        raise StaleFileError(
            f"A directory on the way to {path} was replaced or turned into a symlink ({e.strerror}); "
            "nothing was read or written. Try again."
        ) from e
    except OSError as e:
        raise WorkspaceError(f"Cannot open the directory of {path}: {e.strerror or e}.") from e


def _existing_ancestor(path: Path, target: Path) -> tuple[Path, tuple[str, ...]]:
    """The deepest existing directory above a new file, and the names to create below it.

    Fails validation (not halfway through writing) when a new file's parent cannot exist.
    """
    missing: list[str] = []
    for ancestor in target.parents:
        st = _stat_or_none(ancestor)
        if st is not None:
            if not stat_mod.S_ISDIR(st.st_mode):
                raise WorkspaceError(f"Cannot create {path}: {ancestor} is not a directory.")
            return ancestor, tuple(reversed(missing))
        missing.append(ancestor.name)
    return Path("/"), tuple(reversed(missing))


def _missing_dirs(plan: _Planned) -> list[Path]:
    """The directories `plan` will create, outermost first (for a roll-back)."""
    base = plan.target.parent
    for _ in plan.missing:
        base = base.parent
    dirs: list[Path] = []
    for name in plan.missing:
        base = base / name
        dirs.append(base)
    return dirs


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


def _read_pinned(path: Path, target: Path, max_bytes: int) -> bytes:
    dir_fd = _open_pinned_dir(path, target.parent)
    try:
        return _read_at(path, dir_fd, target.name, max_bytes)[1]
    finally:
        os.close(dir_fd)


def _read_at(path: Path, dir_fd: int, name: str, max_bytes: int) -> tuple[os.stat_result, bytes]:
    # O_NONBLOCK: if the path was swapped for a FIFO after the stat, open must not wait for a writer.
    try:
        st, data = read_at(dir_fd, name, max_bytes)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise StaleFileError(
                f"{path} was turned into a symlink after it was checked; nothing was read. Read it again."
            ) from e
        raise WorkspaceError(f"Cannot read {path}: {e.strerror or e}.") from e
    if not stat_mod.S_ISREG(st.st_mode):
        raise WorkspaceError(f"{path} is not a regular file; it cannot be read.")
    if len(data) > max_bytes:
        raise WorkspaceError(f"{path} is too large (over {max_bytes} bytes).")
    return st, data


def apply_replacements(
    path: Path,
    text: str,
    replacements: Sequence[Replacement],
    transform: Callable[[str], str] | None = None,
) -> str:
    """`text` with `replacements` made (ranges of the original text; `transform` applied to each
    new text); overlapping or out-of-range ones are a `WorkspaceError` naming `path`."""
    parts: list[str] = []
    pos = 0
    # A stable sort keeps two insertions at the same offset in the order they were given.
    for r in sorted(replacements, key=lambda r: (r.start, r.end)):
        if not (0 <= r.start <= r.end <= len(text)):
            raise WorkspaceError(f"Edit range {r.start}-{r.end} is outside {path} ({len(text)} characters).")
        if r.start < pos:
            raise WorkspaceError(f"Edits to {path} overlap at character {r.start}.")
        parts += (text[pos : r.start], transform(r.new_text) if transform else r.new_text)
        pos = r.end
    parts.append(text[pos:])
    return "".join(parts)


def _encode_new(path: Path, text: str) -> bytes:
    try:
        return text.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError as e:
        raise WorkspaceError(f"The text for {path} cannot be encoded as UTF-8: {e}.") from e


def _remove_checked(plan: _Planned) -> None:
    """Remove the file that was checked, or nothing: another entry in its place is refused."""
    name = plan.target.name
    now = lstat_at(plan.dir_fd, name)
    if now is None or file_id(now) != plan.identity:
        raise EntryChanged(0, f"{name} was replaced or removed while it was being removed")
    remove_at(plan.dir_fd, name)


def _roll_back(done: list[tuple[_Planned, list[Path]]]) -> None:
    """Best effort: put back files already written, newest first, and drop directories we made."""
    for plan, made_dirs in reversed(done):
        with suppress(OSError):
            name = plan.target.name
            if plan.old is None:
                if plan.new is not None:
                    remove_at(plan.dir_fd, name)
            elif plan.new is None:
                replace_at(plan.dir_fd, name, plan.old, plan.mode, None, plan.target.parent)
            elif plan.new != plan.old:
                now = lstat_at(plan.dir_fd, name)
                replace_at(
                    plan.dir_fd,
                    name,
                    plan.old,
                    plan.mode,
                    None if now is None else file_id(now),
                    plan.target.parent,
                )
        for d in reversed(made_dirs):
            with suppress(OSError):
                d.rmdir()

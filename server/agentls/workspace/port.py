"""The `Workspace` port: read files, apply edit sets, list files, run processes.

Paths are absolute `Path`s. Text is exchanged as `str` decoded with `surrogateescape`, so bytes
that are not valid UTF-8 survive a read-edit-write round trip untouched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol


class WorkspaceError(Exception):
    """A workspace operation failed; the message is written for the model to read."""


class StaleFileError(WorkspaceError):
    """The file changed between the read an edit was based on and the edit."""


FileKind = Literal["file", "directory", "other"]


@dataclass(frozen=True)
class FileStat:
    kind: FileKind
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class FileContent:
    """One file as the agent sees it (the editor buffer if open, else disk)."""

    path: Path
    data: bytes
    """Raw bytes, BOM included: what a write of unchanged content must reproduce."""
    version: str
    """Opaque; changes whenever the content changes (a content digest, or digest+buffer version)."""


@dataclass(frozen=True)
class Replacement:
    """Replace `text[start:end]` of the decoded content (BOM excluded) with `new_text`."""

    start: int
    end: int
    new_text: str


@dataclass(frozen=True)
class EditFile:
    """Change an existing file by replacements computed against `expected_version`."""

    path: Path
    expected_version: str
    replacements: tuple[Replacement, ...]
    checked_target: Path | None = None
    """The symlink-resolved file the permission check allowed; if `path` now leads elsewhere (a
    link swapped in since), the change is refused. None: no check pinned it (internal writes)."""


@dataclass(frozen=True)
class WriteFile:
    """Write a whole file. `expected_version=None` means the file must not exist yet."""

    path: Path
    text: str
    expected_version: str | None
    checked_target: Path | None = None
    """As for `EditFile`."""


@dataclass(frozen=True)
class RestoreFile:
    """Put a file back to exactly `data`, byte for byte (None: remove it): a checkpoint rewind.

    `expected_version` is the version the file has now (None: it must not exist), so a change
    made after the rewind was planned is refused (`StaleFileError`), not overwritten."""

    path: Path
    data: bytes | None
    expected_version: str | None


TextChange = EditFile | WriteFile
"""A change the agent's tools make (a rewind's are `RestoreFile`s)."""
FileChange = EditFile | WriteFile | RestoreFile


@dataclass(frozen=True)
class ProcessSpec:
    argv: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    timeout_s: float
    output_limit: int = 30_000
    """Characters of combined output kept: the head and the tail, with a marker between."""
    stdin: bytes | None = None


@dataclass(frozen=True)
class ProcessResult:
    exit_code: int | None
    """None when the process was killed (timeout or cancellation)."""
    output: str
    """Interleaved stdout+stderr, capped to `output_limit` with a truncation marker."""
    timed_out: bool = False
    truncated_chars: int = 0
    duration_s: float = 0.0


@dataclass(frozen=True)
class AppliedChange:
    path: Path
    version: str
    """The version after the change (so a later Edit can check against it); "" for a removed file."""
    created: bool = False
    removed: bool = False


@dataclass
class Overlay:
    """Open buffers whose text differs from disk (editor workspaces); empty for the disk."""

    texts: dict[Path, str] = field(default_factory=dict)


class Workspace(Protocol):
    @property
    def root(self) -> Path:
        """The working directory of the session; relative paths resolve against it."""
        ...

    async def stat(self, path: Path) -> FileStat | None:
        """None if nothing exists at `path` (a dangling symlink counts as nothing)."""
        ...

    async def read(self, path: Path, *, checked_target: Path | None = None) -> FileContent:
        """Raises `WorkspaceError` if the path is missing or not a regular file.

        `checked_target`: the symlink-resolved file the permission check allowed; a read that would
        now reach another file (a link swapped in since) raises `StaleFileError`.
        """
        ...

    async def apply(self, changes: Sequence[FileChange]) -> list[AppliedChange]:
        """Apply all changes or none. Raises `StaleFileError` if any version check fails."""
        ...

    async def run(self, spec: ProcessSpec) -> ProcessResult:
        """Run a process in its own process group; cancellation kills the whole group."""
        ...

    def overlay(self) -> Overlay:
        """Unsaved editor buffers, for search tools that otherwise read the disk."""
        ...

"""The workspace as a session with checkpoints sees it: the front end's workspace, with every
change on record (`tracker.py`). Everything the tools change goes through the Workspace port, so
this one wrapper sees all of it: `apply` (Edit, Write and any other file change) and `run` (a
Bash command and anything else that starts a process)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agentls.core.checkpoints.tracker import CURRENT_CALL, CallTag, Checkpoints
from agentls.workspace.port import (
    AppliedChange,
    FileChange,
    FileContent,
    FileStat,
    Overlay,
    ProcessResult,
    ProcessSpec,
    RestoreFile,
    Workspace,
    WorkspaceError,
)

_UNKNOWN_CALL = CallTag(tool="agentls")
"""A change outside any tool call (a hook, a command's shell expansion)."""


class CheckpointedWorkspace:
    def __init__(self, inner: Workspace, checkpoints: Checkpoints) -> None:
        self.inner = inner
        self.checkpoints = checkpoints

    @property
    def root(self) -> Path:
        return self.inner.root

    async def stat(self, path: Path) -> FileStat | None:
        return await self.inner.stat(path)

    async def read(self, path: Path, *, checked_target: Path | None = None) -> FileContent:
        return await self.inner.read(path, checked_target=checked_target)

    def overlay(self) -> Overlay:
        return self.inner.overlay()

    async def apply(self, changes: Sequence[FileChange]) -> list[AppliedChange]:
        tag = CURRENT_CALL.get() or _UNKNOWN_CALL
        checkpoints = self.checkpoints
        befores: list[tuple[Path, str]] = []
        for change in changes:
            # The file the permission check resolved (a link's target), so a rewind puts back
            # the file that changed, not whatever the link points at by then.
            checked = None if isinstance(change, RestoreFile) else change.checked_target
            path = checked or self._abs(change.path)
            befores.append((path, await checkpoints.before_write(path, await self._data(path), tag)))
        applied = await self.inner.apply(changes)
        for path, before in befores:
            await checkpoints.after_write(path, before, await self._data(path), tag)
        return applied

    async def run(self, spec: ProcessSpec) -> ProcessResult:
        await self.checkpoints.ready()
        try:
            return await self.inner.run(spec)
        finally:
            # Also after a timeout or a cancel: the process may have changed files before it died.
            self.checkpoints.after_outside_change(CURRENT_CALL.get() or _UNKNOWN_CALL)

    async def _data(self, path: Path) -> bytes | int | None:
        """The file's bytes as the agent sees it; None: no file; its size (or -1) when it exists
        but is not kept (too large, not a regular file, unreadable): never taken for "no file",
        or a rewind would delete it."""
        found = await self.inner.stat(path)
        if found is None:
            return None
        if found.kind != "file" or found.size > self.checkpoints.limits.max_file_bytes:
            return max(found.size, 0)
        try:
            return (await self.inner.read(path)).data
        except WorkspaceError:
            return -1

    def _abs(self, path: Path) -> Path:
        return path if path.is_absolute() else self.root / path

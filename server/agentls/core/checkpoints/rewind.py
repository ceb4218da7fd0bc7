"""Rewinding the code to a checkpoint: every file the agent changed since goes back to the content
it had then (created files are removed, removed ones come back), unless someone else changed it
after the agent did: such a file is a conflict, kept as it is unless the user chooses otherwise.

Planning reads the records (`timeline.py`) and the files as they are now (through the Workspace
port, so an open editor buffer counts as it shows); applying is one `Workspace.apply` of
`RestoreFile`s (one `workspace/applyEdit` in an editor, which the user can undo there), recorded
through a session's `Checkpoints` under a checkpoint of its own, so a rewind can be rewound too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agentls.core.checkpoints.timeline import Checkpoint
from agentls.core.records import ABSENT, NOT_KEPT
from agentls.store.blobs import BlobMissing, BlobStore, ObjectFormat, blob_id
from agentls.workspace.port import RestoreFile, Workspace, WorkspaceError

Action = Literal["restore", "delete", "create", "unchanged", "conflict", "not_restorable"]


class RewindError(Exception):
    """The rewind cannot be planned or done (no such checkpoint, a content missing)."""


@dataclass(frozen=True)
class FileStep:
    path: str
    action: Action
    target: str
    """The content id to return to (`ABSENT`: the file did not exist)."""
    current: str
    """The content id now."""
    expected: str | None
    """What the agent left (None: unknown, the session stopped during the change)."""
    version: str | None = None
    """The workspace's version of the file now (None: no file), checked again when applying."""
    why: str = ""


@dataclass(frozen=True)
class RewindPlan:
    to: Checkpoint
    steps: tuple[FileStep, ...]

    @property
    def changes(self) -> tuple[FileStep, ...]:
        return tuple(s for s in self.steps if s.action in ("restore", "delete", "create"))

    @property
    def conflicts(self) -> tuple[FileStep, ...]:
        return tuple(s for s in self.steps if s.action == "conflict")

    @property
    def not_restorable(self) -> tuple[FileStep, ...]:
        return tuple(s for s in self.steps if s.action == "not_restorable")


def find_checkpoint(checkpoints: list[Checkpoint], to: int | None) -> Checkpoint:
    """Checkpoint `to`, or the latest prompt checkpoint when None."""
    if not checkpoints:
        raise RewindError("this session has no checkpoints (none was taken, or it predates them)")
    if to is None:
        prompts = [c for c in checkpoints if c.kind == "prompt"]
        if not prompts:
            raise RewindError("this session has no prompt checkpoint")
        return prompts[-1]
    for checkpoint in checkpoints:
        if checkpoint.n == to:
            return checkpoint
    numbers = ", ".join(str(c.n) for c in checkpoints)
    raise RewindError(f"no checkpoint {to} in this session (it has {numbers})")


def targets(checkpoints: list[Checkpoint], to: Checkpoint) -> dict[str, tuple[str, str | None]]:
    """For every file changed at or after `to`: (its content before the first such change, its
    content after the last)."""
    out: dict[str, tuple[str, str | None]] = {}
    for checkpoint in checkpoints:
        if checkpoint.n < to.n:
            continue
        for change in checkpoint.changes:
            first = out.get(change.path, (change.before, None))[0]
            out[change.path] = (first, change.after)
    return out


async def plan_rewind(
    checkpoints: list[Checkpoint],
    to: Checkpoint,
    workspace: Workspace,
    algorithm: ObjectFormat = "sha1",
    max_file_bytes: int = 64 * 1024 * 1024,
) -> RewindPlan:
    steps: list[FileStep] = []
    for path, (target, expected) in targets(checkpoints, to).items():
        current, version = await _current(workspace, _abs(workspace.root, path), algorithm, max_file_bytes)
        steps.append(_step(path, target, current, expected, version))
    return RewindPlan(to, tuple(steps))


def _step(path: str, target: str, current: str, expected: str | None, version: str | None) -> FileStep:
    if current == target:
        return FileStep(path, "unchanged", target, current, expected, version)
    if target == NOT_KEPT:
        return FileStep(
            path,
            "not_restorable",
            target,
            current,
            expected,
            version,
            "its earlier content was not kept (too large)",
        )
    if current == NOT_KEPT:
        return FileStep(path, "conflict", target, current, expected, version, "it is too large to compare")
    if expected is None:
        why = "the session stopped while the agent was changing it, so it cannot tell who changed it last"
        return FileStep(path, "conflict", target, current, expected, version, why)
    if current != expected:
        why = "deleted" if current == ABSENT else "changed"
        return FileStep(
            path, "conflict", target, current, expected, version, f"{why} after the agent's change"
        )
    action: Action = "delete" if target == ABSENT else "create" if current == ABSENT else "restore"
    return FileStep(path, action, target, current, expected, version)


async def _current(
    workspace: Workspace, path: Path, algorithm: ObjectFormat, max_file_bytes: int
) -> tuple[str, str | None]:
    found = await workspace.stat(path)
    if found is None:
        return ABSENT, None
    if found.kind != "file" or found.size > max_file_bytes:
        return NOT_KEPT, None
    try:
        content = await workspace.read(path)
    except WorkspaceError:
        return NOT_KEPT, None
    return blob_id(content.data, algorithm), content.version


def restore_changes(
    plan: RewindPlan, blobs: BlobStore, root: Path, overwrite: frozenset[str] = frozenset()
) -> list[RestoreFile]:
    """The changes that carry out `plan`: its safe steps, and the conflicts in `overwrite`."""
    out: list[RestoreFile] = []
    for step in plan.steps:
        if step.action in ("restore", "delete", "create") or (
            step.action == "conflict" and step.path in overwrite and step.current != NOT_KEPT
        ):
            try:
                data = None if step.target == ABSENT else blobs.get(step.target)
            except BlobMissing as err:
                raise RewindError(f"{step.path}: {err}") from err
            out.append(RestoreFile(_abs(root, step.path), data, step.version))
    return out


def _abs(root: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else root / p

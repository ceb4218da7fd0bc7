"""A rewind, start to end: plan it from the transcript, put the files back (recorded under a
checkpoint of its own, so it can be undone), and record it, so the conversation continues from
the checkpoint's prompt when asked (`replay` honours the `rewind` record). Used by a live
session (`Session.rewind`) and by `agentls rewind` on a session no process has open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from agentls.core.checkpoints.rewind import (
    FileStep,
    RewindError,
    RewindPlan,
    find_checkpoint,
    plan_rewind,
    restore_changes,
)
from agentls.core.checkpoints.timeline import Checkpoint, timeline
from agentls.core.checkpoints.tracker import CURRENT_CALL, CallTag, Checkpoints
from agentls.core.journal import Journal
from agentls.core.records import RewindRecord
from agentls.workspace.port import StaleFileError, Workspace

RewindPart = Literal["code", "conversation", "both"]
REWIND_CALL = CallTag(tool="rewind")


@dataclass(frozen=True)
class RewindOutcome:
    plan: RewindPlan
    part: RewindPart
    applied: tuple[FileStep, ...] = ()
    """Files put back (conflicts the user chose to overwrite included)."""
    kept: tuple[FileStep, ...] = ()
    """Conflicts left as they are."""
    undo: int | None = None
    """The checkpoint taken just before the rewind: rewinding to it undoes this one."""
    dry_run: bool = False

    @property
    def checkpoint(self) -> Checkpoint:
        return self.plan.to


async def rewind(
    records: list[dict[str, Any]],
    to: int | None,
    checkpoints: Checkpoints,
    workspace: Workspace,
    journal: Journal,
    *,
    part: RewindPart,
    overwrite: frozenset[str] = frozenset(),
    dry_run: bool = False,
) -> RewindOutcome:
    """`workspace` must be the session's checkpointed one (`recording.py`), so the restoring is
    recorded. `overwrite`: conflicting files the user chose to put back anyway."""
    await checkpoints.ready()
    history = timeline(records)
    target = find_checkpoint(history, to)
    if part != "code" and target.kind == "subagent":
        raise RewindError(
            f"checkpoint {target.n} was taken {target.label!r}, in the middle of a turn: only the "
            "code can be rewound to it (rewind the conversation to a prompt's checkpoint)"
        )
    plan = await plan_rewind(history, target, workspace, checkpoints.scanner.object_format)
    unknown = overwrite - {s.path for s in plan.conflicts}
    if unknown:
        raise RewindError(f"not conflicts of this rewind: {', '.join(sorted(unknown))}")
    code = part in ("code", "both")
    if dry_run:
        return RewindOutcome(plan, part, dry_run=True)
    changes = restore_changes(plan, checkpoints.blobs, workspace.root, overwrite) if code else []
    undo = await checkpoints.begin("rewind", f"before the rewind to checkpoint {target.n}")
    if changes:
        token = CURRENT_CALL.set(REWIND_CALL)
        try:
            await workspace.apply(changes)
        except StaleFileError as err:
            raise RewindError(f"nothing was rewound: {err} Plan the rewind again.") from err
        finally:
            CURRENT_CALL.reset(token)
    applied = (
        tuple(s for s in plan.steps if s.action in ("restore", "delete", "create") or s.path in overwrite)
        if code
        else ()
    )
    kept = tuple(s for s in plan.conflicts if s.path not in overwrite) if code else ()
    journal.write(
        RewindRecord(
            to=target.n,
            code=code,
            conversation=part != "code",
            undo=undo,
            restored=[s.path for s in applied],
            conflicts=[s.path for s in kept],
            not_restorable=[s.path for s in plan.not_restorable] if code else [],
            at=datetime.now(UTC).isoformat(),
        ),
        sync=True,
    )
    return RewindOutcome(plan, part, applied, kept, undo)

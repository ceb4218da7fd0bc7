"""A session's checkpoints and the changes after each, read back from its transcript records:
what `agentls checkpoints` lists and what a rewind plans from (no live session needed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from agentls.core.records import (
    RECORD_ADAPTER,
    CheckpointRecord,
    FileChangeRecord,
    RewindRecord,
    TreeRecord,
    TurnStartRecord,
)


@dataclass
class Change:
    path: str
    before: str
    after: str | None
    """None: the change was begun but never finished on record (a crash during the write)."""
    by: str
    call_id: str = ""
    agent: str = ""


@dataclass
class Checkpoint:
    n: int
    kind: str
    label: str
    at: str
    manifest: str = ""
    notes: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    prompt: str | None = None
    """A prompt checkpoint's prompt as its turn started (None: the turn never started, e.g. a
    hook refused it, or a code-only checkpoint)."""
    rewound: list[RewindRecord] = field(default_factory=list)
    """Rewinds made while this was the latest checkpoint."""

    @property
    def files(self) -> list[str]:
        """The files changed after this checkpoint (before the next), each once, in order."""
        return list(dict.fromkeys(c.path for c in self.changes))


def timeline(raw_records: Iterable[dict[str, Any]]) -> list[Checkpoint]:
    """Every checkpoint of a transcript, in order, with the changes recorded under it."""
    by_n: dict[int, Checkpoint] = {}
    latest: Checkpoint | None = None
    for raw in raw_records:
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind not in ("checkpoint", "tree", "file_change", "rewind", "turn_start"):
            continue
        try:
            record = RECORD_ADAPTER.validate_python(raw)
        except ValidationError:
            continue
        if isinstance(record, CheckpointRecord):
            latest = by_n[record.n] = Checkpoint(record.n, record.kind, record.label, record.at)
        elif isinstance(record, TreeRecord) and record.checkpoint in by_n:
            by_n[record.checkpoint].manifest = record.manifest
            by_n[record.checkpoint].notes = list(record.notes)
        elif isinstance(record, FileChangeRecord) and record.checkpoint in by_n:
            _add(by_n[record.checkpoint], record)
        elif isinstance(record, RewindRecord) and latest is not None:
            latest.rewound.append(record)
        elif (
            isinstance(record, TurnStartRecord)
            and latest is not None
            and latest.kind == "prompt"
            and latest.prompt is None
        ):
            latest.prompt = record.prompt
    return sorted(by_n.values(), key=lambda c: c.n)


def _add(checkpoint: Checkpoint, record: FileChangeRecord) -> None:
    change = Change(record.path, record.before, record.after, record.by, record.call_id, record.agent)
    if record.after is not None:
        # The second half of a file tool's change: it completes the record written before it.
        for earlier in reversed(checkpoint.changes):
            if (
                earlier.path == record.path
                and earlier.after is None
                and earlier.call_id == record.call_id
                and earlier.by == record.by
            ):
                earlier.after = record.after
                return
    checkpoint.changes.append(change)

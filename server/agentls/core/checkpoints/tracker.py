"""A session's checkpoints as they are taken: what the workspace held at each one, and every
change the agent makes after it, by any tool (the user's view: `docs/checkpoints.md`).

One `Checkpoints` per top-level session, shared with its subagents (their changes belong to the
parent's prompt). The pieces:

- `begin` writes a `checkpoint` record and starts the *baseline* in a worker thread: a scan of
  the workspace (`workspace/tree_scan.py`) whose changed files (git) or all files (no git) are
  stored in the session's content store, then a `tree` record. Nothing the agent does may change
  the workspace before it is done: `ready` is awaited before every change.
- A file tool's write (`CheckpointedWorkspace.apply`) stores the file's content and writes a
  `file_change` record *before* the write, then the content it left after.
- After a process (a Bash command, a hook) or a mutating MCP tool, `after_outside_change` starts
  a *post-scan*: the workspace is scanned again and every file that differs from what was known
  is a `file_change` (the content before comes from the store, or from git for a file that was
  unchanged in git). It runs while the model writes its next response, so it costs the turn
  nearly nothing; the next change waits for it.

Contents larger than `max_file_bytes`, or past the session's `max_session_bytes`, are not kept
(`NOT_KEPT`): such a file is listed as not restorable. A scan that fails (git broken, the root
gone) is a note and a warning, never an error for the turn: file tools' changes are still kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from agentls.core.checkpoints.manifest import decode_manifest, encode_manifest
from agentls.core.checkpoints.timeline import Checkpoint
from agentls.core.journal import Journal
from agentls.core.records import (
    ABSENT,
    NOT_KEPT,
    CheckpointRecord,
    FileChangeRecord,
    TreeRecord,
)
from agentls.store.blobs import BlobMissing, BlobStore
from agentls.workspace.tree_scan import ScanError, Stamp, TreeScanner, TreeState

log = logging.getLogger(__name__)

CheckpointKind = Literal["prompt", "subagent", "rewind"]

DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_SESSION_BYTES = 512 * 1024 * 1024

_UNCONFIRMED = Stamp(-2, -2, -2, -2)
"""The stamp of a file a file tool wrote since the last scan: never equal to a real one, so the
next scan reads it again (and finds the content already known: no second record)."""


@dataclass(frozen=True)
class CallTag:
    """Who is changing the workspace: the tool call running (set by the tool runner)."""

    tool: str
    call_id: str = ""
    agent: str = ""


CURRENT_CALL: ContextVar[CallTag | None] = ContextVar("agentls_checkpoint_call", default=None)


@dataclass(frozen=True)
class CheckpointLimits:
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_session_bytes: int = DEFAULT_MAX_SESSION_BYTES


@dataclass
class _Known:
    """The workspace as last seen: a scan's state and the content id of each file it lists."""

    state: TreeState
    contents: dict[str, str] = field(default_factory=dict)

    def content(self, path: str) -> str:
        if path in self.state.files:
            return self.contents.get(path, NOT_KEPT)
        return self.state.index.get(path, ABSENT)


class Checkpoints:
    def __init__(
        self,
        scanner: TreeScanner,
        blobs: BlobStore,
        journal: Journal,
        *,
        limits: CheckpointLimits | None = None,
        unsaved: Callable[[], set[Path]] = set,
        note: Callable[..., None] | None = None,
    ) -> None:
        self.scanner = scanner
        self.blobs = blobs
        self.root = scanner.root
        self.limits = limits or CheckpointLimits()
        self._journal = journal
        self._unsaved = unsaved
        """Files open in the editor with text the disk does not have yet (the workspace's overlay)."""
        self.note: Callable[..., None] = note or (lambda kind, **fields: None)
        """Writes to the session's black box (a kind, then fields)."""
        self.n = 0
        """The latest checkpoint (0: none yet)."""
        self._known: _Known | None = None
        self._agent_view: dict[str, str] = {}
        """Files a file tool wrote whose new content may not be on disk yet (an unsaved buffer)."""
        self._task: asyncio.Task[None] | None = None
        self._stored_before = -1
        self.notes: list[str] = []
        """What the latest baseline said about what is not tracked."""

    # ------------------------------------------------------------------ taking checkpoints

    def restore(self, last: int) -> None:
        """A resumed session: numbering continues after the transcript's last checkpoint."""
        self.n = max(self.n, last)

    async def begin(self, kind: CheckpointKind, label: str) -> int:
        await self.ready()
        self.n += 1
        n = self.n
        self._journal.write(
            CheckpointRecord(n=n, kind=kind, label=label, at=datetime.now(UTC).isoformat()), sync=True
        )
        self._task = asyncio.create_task(self._baseline(n))
        return n

    async def ready(self) -> None:
        """Wait for the baseline or post-scan in progress (a cancelled caller does not stop it)."""
        task = self._task
        if task is not None and not task.done():
            await asyncio.shield(task)

    async def _baseline(self, n: int) -> None:
        unsaved = self._unsaved_rel()
        try:
            known = await asyncio.to_thread(self._take, self._known, unsaved)
        except (ScanError, OSError) as err:
            self._scan_failed(n, err)
            return
        notes = self._describe(known.state)
        manifest = await asyncio.to_thread(self.blobs.put, encode_manifest(known.state, known.contents))
        self._journal.write(TreeRecord(checkpoint=n, manifest=manifest, notes=notes), sync=True)
        self._known, self.notes = known, notes

    def _scan_failed(self, n: int, err: Exception) -> None:
        text = (
            f"the workspace could not be scanned ({err}): changes made by commands are not "
            "tracked for this checkpoint, file tools' changes are"
        )
        log.warning("checkpoint %d: %s", n, text)
        self.notes = [text]
        self._known = None
        self._journal.write(TreeRecord(checkpoint=n, manifest="", notes=self.notes))

    def _describe(self, state: TreeState) -> list[str]:
        notes: list[str] = []
        if state.mode == "git":
            notes.append("files git ignores (build outputs, dependencies) are not tracked")
        if state.truncated:
            notes.append(
                f"more than {self.scanner.max_files:,} files to scan: changes made by commands "
                "to files past that are not tracked"
            )
        if state.skipped:
            notes.append(
                f"{len(state.skipped)} symbolic link(s), special file(s) or submodule(s) not tracked"
            )
        return notes

    # ------------------------------------------------------------------ the file tools

    async def before_write(self, path: Path, data: bytes | int | None, tag: CallTag) -> str:
        """A file tool is about to change `path`, which holds `data` (None: no file; a number:
        a file whose content is not kept). Stores
        it and writes the record; returns its content id."""
        await self.ready()
        before = await asyncio.to_thread(self._keep, data)
        self._journal.write(self._change(path, before, None, tag), sync=True)
        return before

    async def after_write(self, path: Path, before: str, data: bytes | int | None, tag: CallTag) -> None:
        after = await asyncio.to_thread(self._keep, data)
        self._journal.write(self._change(path, before, after, tag))
        rel = self._rel(path)
        self._agent_view[rel] = after
        known = self._known
        if known is not None and not Path(rel).is_absolute():
            known.state = replace(known.state, files={**known.state.files, rel: _UNCONFIRMED})
            known.contents[rel] = after

    def _change(self, path: Path, before: str, after: str | None, tag: CallTag) -> FileChangeRecord:
        return FileChangeRecord(
            checkpoint=self.n,
            path=self._rel(path),
            before=before,
            after=after,
            by=tag.tool,
            call_id=tag.call_id,
            agent=tag.agent,
        )

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    # ------------------------------------------------------------------ everything else

    def after_outside_change(self, tag: CallTag) -> None:
        """A process ran or a tool acted outside the workspace port: find what it changed."""
        if self._known is None or self.n == 0:
            return  # No baseline (none yet, or the scan failed): nothing to compare with.
        previous = self._task
        unsaved = self._unsaved_rel()

        async def post_scan() -> None:
            if previous is not None and not previous.done():
                await asyncio.shield(previous)
            await self._post_scan(tag, unsaved)

        self._task = asyncio.create_task(post_scan())

    async def _post_scan(self, tag: CallTag, unsaved: set[str], under: int | None = None) -> int:
        """Records what changed since the last scan (under checkpoint `under`, default the
        latest); returns how many files."""
        known = self._known
        if known is None:
            return 0
        try:
            new, changes = await asyncio.to_thread(self._diff, known, unsaved)
        except (ScanError, OSError) as err:
            log.warning("checkpoint %d: the scan after %s failed: %s", self.n, tag.tool, err)
            self.note("checkpoint_scan_failed", n=self.n, tool=tag.tool, error=str(err))
            return 0
        for i, (path, before, after) in enumerate(changes):
            record = FileChangeRecord(
                checkpoint=self.n if under is None else under,
                path=path,
                before=before,
                after=after,
                by=tag.tool,
                call_id=tag.call_id,
                agent=tag.agent,
            )
            self._journal.write(record, sync=i == len(changes) - 1)
        self._known = new
        return len(changes)

    # ------------------------------------------------------------------ after a crash

    async def catch_up(self, last: Checkpoint, tag: CallTag) -> int:
        """A session resumed after it died during a tool call: what that call changed was never
        recorded (the scan after it did not run). The workspace is compared with what the
        records say it held (`last`'s manifest, then the changes recorded since), and every
        difference is recorded as the interrupted call's. Returns how many."""
        if not last.manifest:
            return 0
        try:
            manifest = decode_manifest(await asyncio.to_thread(self.blobs.get, last.manifest))
        except (BlobMissing, ValueError) as err:
            log.warning("checkpoint %d: its manifest cannot be read (%s): no catch-up", last.n, err)
            return 0
        files: dict[str, Stamp | None] = dict.fromkeys(manifest.files, _UNCONFIRMED)
        contents = dict(manifest.files)
        for change in last.changes:
            if change.after is not None and not Path(change.path).is_absolute():
                files[change.path] = _UNCONFIRMED
                contents[change.path] = change.after
        known = _Known(TreeState(self.scanner.mode, files, dict(manifest.index)), contents)
        self._known = known
        return await self._post_scan(tag, set(), under=last.n)

    # ------------------------------------------------------------------ worker-thread parts

    def _take(self, old: _Known | None, unsaved: set[str]) -> _Known:
        """Scan and store what a later change could need: the baseline."""
        state = self.scanner.scan()
        self.blobs.algorithm = self.scanner.object_format  # (Known once the scanner has looked.)
        known = _Known(state)
        for path, stamp in state.files.items():
            known.contents[path] = self._content_of(path, stamp, old, unsaved)
        return known

    def _diff(self, old: _Known, unsaved: set[str]) -> tuple[_Known, list[tuple[str, str, str]]]:
        new_state = self.scanner.scan()
        new = _Known(new_state)
        for path, stamp in new_state.files.items():
            new.contents[path] = self._content_of(path, stamp, old, unsaved)
        changes: list[tuple[str, str, str]] = []
        wanted: set[str] = set()
        for path in sorted(old.state.candidates(new_state)):
            before, after = old.content(path), new.content(path)
            if before != after:
                changes.append((path, before, after))
                wanted |= {before, after}
        missing = [i for i in wanted - {ABSENT, NOT_KEPT} if not self.blobs.has(i)]
        if missing:
            found = self.scanner.git_blobs(missing) if new_state.mode == "git" else {}
            for data in found.values():
                self.blobs.put(data)  # (Under the same id: the store's ids are git's.)
            lost = set(missing) - found.keys()
            changes = [(p, NOT_KEPT if b in lost else b, NOT_KEPT if a in lost else a) for p, b, a in changes]
        return new, changes

    def _content_of(self, path: str, stamp: Stamp | None, old: _Known | None, unsaved: set[str]) -> str:
        """The content id of a listed file, read only if its stamp changed since `old`."""
        if stamp is None:
            return ABSENT
        if path in self._agent_view:
            if path in unsaved:
                return self._agent_view[path]  # The buffer is ahead of the disk: the agent's view.
            del self._agent_view[path]
        if old is not None and old.state.files.get(path) == stamp and path in old.contents:
            return old.contents[path]
        return self._keep(self.scanner.read(path, self.limits.max_file_bytes))

    def _keep(self, data: bytes | int | None) -> str:
        """Store `data` if the caps allow; its content id."""
        if data is None:
            return ABSENT
        if isinstance(data, int) or len(data) > self.limits.max_file_bytes:
            return NOT_KEPT
        if self._stored_before < 0:
            self._stored_before = self.blobs.size()
        if self._stored_before + self.blobs.written + len(data) > self.limits.max_session_bytes:
            return NOT_KEPT
        return self.blobs.put(data)

    def _unsaved_rel(self) -> set[str]:
        return {self._rel(p) for p in self._unsaved()}


def checkpoint_label(prompt: str, width: int = 80) -> str:
    """A prompt's first line, shortened: how a checkpoint is named in lists."""
    line = next((ln.strip() for ln in prompt.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"

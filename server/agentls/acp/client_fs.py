"""The Workspace port for an ACP session whose client reads and writes files itself
(`fs/read_text_file`, `fs/write_text_file`): the client's unsaved buffers win, as the editor's do
in the language server. Edits are checked against the version the agent read, exactly as on disk
(a file changed since is never overwritten). What the client cannot do goes to the disk: stat,
removing a file (a rewind).

A client that offers `terminal` runs the processes (the Bash tool's command, wrapped in our
sandbox as on disk): the tool call shows the live terminal (`terminal/create`, then the call's
content names it), and the result is what `terminal/output` says once it exited. A timeout or a
cancel kills it (`terminal/kill`); it is always released. A process with input on stdin runs on
the disk (a terminal has none to give; an empty one is no input).

Before the client knows the session (while `session/new` is being answered: memory files are read
then), and for a client that offers only one of the two, everything is the disk's: reads and
writes through different channels would disagree about versions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agentls.core.checkpoints.tracker import CURRENT_CALL
from agentls.workspace.disk import DiskWorkspace, apply_replacements, check_target
from agentls.workspace.port import (
    AppliedChange,
    EditFile,
    FileChange,
    FileContent,
    FileStat,
    Overlay,
    ProcessResult,
    ProcessSpec,
    RestoreFile,
    StaleFileError,
    WorkspaceError,
)
from agentls.workspace.text import content_version, decode

log = logging.getLogger(__name__)

_BOM = "\ufeff"


class FsClient(Protocol):
    """The two client methods, as the ACP connection offers them (`agent.py` adapts)."""

    async def read_text_file(self, session_id: str, path: str) -> str: ...

    async def write_text_file(self, session_id: str, path: str, content: str) -> None: ...


@dataclass(frozen=True)
class TerminalExit:
    exit_code: int | None
    signal: str | None


class TerminalClient(Protocol):
    """The client's terminal methods (`agent.py` adapts); each raises `ClientError` on an error."""

    async def create(self, session_id: str, spec: ProcessSpec) -> str: ...

    async def show(self, session_id: str, call_id: str, terminal_id: str) -> None:
        """Make the tool call's content the live terminal."""
        ...

    async def wait_for_exit(self, session_id: str, terminal_id: str) -> TerminalExit: ...

    async def output(self, session_id: str, terminal_id: str) -> tuple[str, bool]:
        """The output so far, and whether the client cut it."""
        ...

    async def kill(self, session_id: str, terminal_id: str) -> None: ...

    async def release(self, session_id: str, terminal_id: str) -> None: ...


class ClientError(Exception):
    """The client answered a file request with an error (it could not read or write the file)."""


@dataclass(frozen=True)
class _Planned:
    path: Path
    text: str | None
    """The client's new text; None: remove the file (on disk)."""
    created: bool


class ClientFsWorkspace:
    def __init__(
        self,
        disk: DiskWorkspace,
        client: FsClient,
        *,
        enabled: bool,
        terminals: TerminalClient | None = None,
    ) -> None:
        self._disk = disk
        self._client = client
        self._enabled = enabled
        self._terminals = terminals
        """The client's terminals (None: it offers none; processes run here)."""
        self.session_id: str | None = None
        """Set once the client knows the session: until then, the disk."""

    @property
    def root(self) -> Path:
        return self._disk.root

    @property
    def through_client(self) -> bool:
        return self._enabled and self.session_id is not None

    def _abs(self, path: Path) -> Path:
        return path if path.is_absolute() else self.root / path

    async def stat(self, path: Path) -> FileStat | None:
        return await self._disk.stat(path)

    def overlay(self) -> Overlay:
        return Overlay()  # The client's unsaved buffers are read through it, one file at a time.

    async def run(self, spec: ProcessSpec) -> ProcessResult:
        terminals = self._terminals
        if terminals is None or self.session_id is None or spec.stdin:
            return await self._disk.run(spec)
        sid = self.session_id
        started = time.monotonic()
        try:
            terminal = await terminals.create(sid, spec)
        except ClientError as err:
            raise WorkspaceError(f"The editor could not start the command in a terminal: {err}") from err
        try:
            tag = CURRENT_CALL.get()
            if tag is not None and tag.call_id:
                await terminals.show(
                    sid, f"{tag.agent}:{tag.call_id}" if tag.agent else tag.call_id, terminal
                )
            timed_out = False
            try:
                end: TerminalExit | None = await asyncio.wait_for(
                    terminals.wait_for_exit(sid, terminal), spec.timeout_s
                )
            except TimeoutError:
                timed_out, end = True, None
                await terminals.kill(sid, terminal)
            text, cut = await terminals.output(sid, terminal)
        except asyncio.CancelledError:
            await asyncio.shield(_stop(terminals, sid, terminal))
            raise
        except ClientError as err:
            await asyncio.shield(_stop(terminals, sid, terminal))
            raise WorkspaceError(f"The editor's terminal failed: {err}") from err
        with contextlib.suppress(ClientError):
            await terminals.release(sid, terminal)
        output, dropped = _capped(text, spec.output_limit)
        if cut:
            output = "[... the start of the output was cut by the editor's terminal ...]\n" + output
        return ProcessResult(
            exit_code=end.exit_code if end is not None and end.signal is None else None,
            output=output,
            timed_out=timed_out,
            truncated_chars=dropped,
            duration_s=time.monotonic() - started,
        )

    async def read(self, path: Path, *, checked_target: Path | None = None) -> FileContent:
        path = self._abs(path)
        if not self.through_client:
            return await self._disk.read(path, checked_target=checked_target)
        if checked_target is not None:
            check_target(path, checked_target)  # The client opens the file itself: refuse a swapped link.
        text = await self._client_text(path)
        if text is None:
            return await self._disk.read(path, checked_target=checked_target)  # Its error, or the file.
        data = _bytes(text)
        return FileContent(path=path, data=data, version=content_version(data))

    async def apply(self, changes: Sequence[FileChange]) -> list[AppliedChange]:
        if not self.through_client:
            return await self._disk.apply(changes)
        planned = [await self._plan(change) for change in changes]  # Every check before any write.
        if len({p.path for p in planned}) != len(planned):
            raise WorkspaceError("The same file appears twice in one change set; combine the edits.")
        applied: list[AppliedChange] = []
        for plan, change in zip(planned, changes, strict=True):
            if plan.text is None:
                applied += await self._disk.apply([change])
                continue
            await self._write(plan.path, plan.text)
            applied.append(AppliedChange(plan.path, content_version(_bytes(plan.text)), created=plan.created))
        return applied

    async def _plan(self, change: FileChange) -> _Planned:
        path = self._abs(change.path)
        if not isinstance(change, RestoreFile) and change.checked_target is not None:
            check_target(path, change.checked_target)
        current = await self._current(path)
        version = None if current is None else content_version(_bytes(current))
        if isinstance(change, RestoreFile):
            if version != change.expected_version:
                raise StaleFileError(f"{path} changed after the rewind was planned; nothing was written.")
            if change.data is None:
                return _Planned(path, None, False)
            return _Planned(path, change.data.decode("utf-8", errors="surrogateescape"), current is None)
        if current is None:
            if isinstance(change, EditFile) or change.expected_version is not None:
                raise StaleFileError(
                    f"{path} no longer exists (it was deleted or moved after it was read). "
                    "Check the path; use Write to create it again if that is intended."
                )
            return _Planned(path, change.text, True)
        if change.expected_version is None:
            raise StaleFileError(f"{path} already exists. Read it first, then write it again.")
        if version != change.expected_version:
            raise StaleFileError(
                f"{path} has been modified since it was read (by the user in the editor, a formatter "
                "or another tool). Read the file again before changing it."
            )
        lead = _BOM if current.startswith(_BOM) else ""
        if isinstance(change, EditFile):
            # Offsets are into the text as the agent decoded it: without a leading BOM.
            text = lead + apply_replacements(path, decode(_bytes(current)).text, change.replacements)
        else:
            text = lead + change.text
        return _Planned(path, text, False)

    async def _current(self, path: Path) -> str | None:
        """The file's text now (the client's, else the disk's); None: there is no file."""
        if await self._disk.stat(path) is None:
            return None
        text = await self._client_text(path)
        return (
            text
            if text is not None
            else (await self._disk.read(path)).data.decode("utf-8", "surrogateescape")
        )

    async def _client_text(self, path: Path) -> str | None:
        """The client's text of `path`; None when it cannot give it (then the disk decides)."""
        assert self.session_id is not None
        try:
            return await self._client.read_text_file(self.session_id, str(path))
        except ClientError as err:
            log.info("fs/read_text_file %s: %s; reading the disk", path, err)
            return None

    async def _write(self, path: Path, text: str) -> None:
        assert self.session_id is not None
        try:
            await self._client.write_text_file(self.session_id, str(path), text)
        except ClientError as err:
            raise WorkspaceError(f"The editor could not write {path}: {err}") from err


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


async def _stop(terminals: TerminalClient, session_id: str, terminal: str) -> None:
    """Kill and release, whatever state it is in (a cancel, a failure)."""
    with contextlib.suppress(ClientError):
        await terminals.kill(session_id, terminal)
    with contextlib.suppress(ClientError):
        await terminals.release(session_id, terminal)


def _capped(text: str, limit: int) -> tuple[str, int]:
    """The head and the tail of `text` within `limit` characters, as the disk's runner keeps them."""
    if len(text) <= limit:
        return text, 0
    half = limit // 2
    dropped = len(text) - 2 * half
    return (
        f"{text[:half]}\n[... {dropped} characters of output omitted ...]\n{text[len(text) - half :]}",
        dropped,
    )

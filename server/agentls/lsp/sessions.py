"""Sessions of one editor connection: create, find, resume, list; and their shared parts.

All sessions share one model client and one editor workspace; each has its own approver (so a
permission prompt names its session) and its own history and transcript.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as T
from pydantic import ValidationError

from agentls.core.anthropic_model import AnthropicModel
from agentls.core.api_settings import explicit_values
from agentls.core.factory import SessionFactory, SessionSetupError, SessionSpec
from agentls.core.session import Session
from agentls.core.session_hooks import session_ended
from agentls.lsp.approver import LspApprover
from agentls.lsp.client_features import budget_option, context_option, settings_option, thinking_option
from agentls.lsp.editor_workspace import make_workspace
from agentls.store.sessions import SessionStore
from agentls.store.watch import watch_files
from agentls.tools.registry import ToolRegistry
from agentls.workspace.port import Workspace

if TYPE_CHECKING:
    from collections.abc import Callable

    from agentls.lsp.client_channel import ClientChannel
    from agentls.lsp.documents import DocumentTracker

log = logging.getLogger(__name__)


def _log_watch_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("watching the settings files stopped: %s", task.exception())


class SessionError(Exception):
    """A session request that cannot be served; the message is for the user."""


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    cwd: str
    updated_at: float
    title: str
    loaded: bool


DEFAULT_IDLE_MINUTES = 30.0
DEFAULT_MAX_OPEN = 32
_CLOSE_WAIT_S = 10.0
"""How long `close` waits for a cancelled turn to wind down before closing anyway."""


class SessionManager:
    """The open sessions of this server, bounded: a server lives for days and every ask, code
    action and review starts a session. A session idle longer than `idleMinutes`, or the least
    recently used idle one beyond `maxOpenSessions`, is closed (its transcript stays, and
    `agentls/loadSession` opens it again); `agentls/closeSession` closes one at once."""

    def __init__(
        self, channel: ClientChannel, documents: DocumentTracker, root: Callable[[], Path | None]
    ) -> None:
        """`root`: the workspace folder, read on every use (`initialize` sets it later)."""
        self._channel = channel
        self._documents = documents
        self._sessions: dict[str, Session] = {}
        self._last_used: dict[str, float] = {}
        self._loading = asyncio.Lock()
        """One load at a time: two prompts for a closed session must not open it twice."""
        self._models: dict[str, AnthropicModel] = {}
        self._workspaces: dict[Path, Workspace] = {}
        self.store = SessionStore()
        self._factory = SessionFactory(
            store=self.store,
            model_for=self._model,
            workspace_for=self._workspace_for,
            approver_for=lambda session_id: LspApprover(channel, session_id),
            default_cwd=lambda: root() or Path.cwd(),
        )
        self._watchers: dict[Path, asyncio.Task[None]] = {}
        self._ending: set[asyncio.Task[None]] = set()
        """Idle sessions running their SessionEnd hooks before they close."""

    def get(self, session_id: str) -> Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise SessionError(
                f"no session {session_id!r} in this server; use agentls/loadSession to resume one"
            )
        self._last_used[session_id] = time.monotonic()
        return session

    async def close(self, session_id: str) -> bool:
        """Close an open session (cancelling its turn first); False if it was not open."""
        session = self._sessions.pop(session_id, None)
        self._last_used.pop(session_id, None)
        if session is None:
            return False
        if session.busy:
            session.cancel()
            # The turn notices the cancellation at its next await; it has no completion event.
            for _ in range(int(_CLOSE_WAIT_S / 0.05)):
                if not session.busy:
                    break
                await asyncio.sleep(0.05)
        await session.end()  # SessionEnd hooks, then it closes.
        return True

    def _limits(self) -> tuple[float, int]:
        options = self._channel.features.options
        try:
            idle_s = float(options.get("sessionIdleMinutes", DEFAULT_IDLE_MINUTES)) * 60
            max_open = int(options.get("maxOpenSessions", DEFAULT_MAX_OPEN))
        except (TypeError, ValueError):
            return DEFAULT_IDLE_MINUTES * 60, DEFAULT_MAX_OPEN
        return max(idle_s, 0.0), max(max_open, 1)

    def _close_idle(self, keep: str) -> None:
        """Close sessions idle too long, then the least recently used idle ones beyond the cap
        (never `keep`, the session just opened)."""
        idle_s, max_open = self._limits()
        now = time.monotonic()
        idle = sorted(
            (used, sid)
            for sid, used in self._last_used.items()
            if sid != keep and not self._sessions[sid].busy
        )
        excess = len(self._sessions) - max_open
        for used, sid in idle:
            if now - used <= idle_s and excess <= 0:
                break
            session = self._sessions.pop(sid)
            del self._last_used[sid]
            ending = asyncio.create_task(session.end())  # SessionEnd hooks, then it closes.
            self._ending.add(ending)
            ending.add_done_callback(self._ending.discard)
            excess -= 1
            log.info("closed idle session %s", sid)

    def active(self) -> list[Session]:
        return list(self._sessions.values())

    async def new(self, cwd: str | None = None, *, registry: ToolRegistry | None = None) -> Session:
        """A new session; `registry` replaces the built-in tools (e.g. review sessions add ReportFinding)."""
        spec = replace(self._spec(), cwd=self._cwd(cwd), registry=registry)
        try:
            session = await self._factory.start(spec)
        except SessionSetupError as err:
            raise SessionError(str(err)) from None
        self._add(session)
        return session

    async def open(self, session_id: str) -> Session:
        """The session, reopened from its transcript if it was closed (idle, or by
        `agentls/closeSession`): closing frees resources, it does not end a conversation."""
        if session_id in self._sessions:
            return self.get(session_id)
        try:
            path = self.store.find(session_id)
        except LookupError:
            path = None
        if path is None or path.stem != session_id:  # A prompt names a session exactly.
            raise SessionError(
                f"no session {session_id!r} in this server; use agentls/loadSession to resume one"
            )
        return await self.load(session_id)

    async def load(self, session_id: str) -> Session:
        async with self._loading:
            return await self._load(session_id)

    async def _load(self, session_id: str) -> Session:
        try:
            full_id = self.store.find(session_id).stem  # An id or a unique prefix.
        except LookupError as err:
            raise SessionError(str(err)) from None
        if full_id in self._sessions:
            return self._sessions[full_id]
        try:
            # In the session's own directory, not the server's root (it may be another project).
            session = await self._factory.resume(full_id, self._spec())
        except SessionSetupError as err:
            raise SessionError(str(err)) from None
        self._add(session)
        return session

    def _add(self, session: Session) -> None:
        self._sessions[session.id] = session
        self._last_used[session.id] = time.monotonic()
        self._close_idle(keep=session.id)
        permissions = session.state.permissions
        if permissions is None:
            return
        root = permissions.sources.project
        if root not in self._watchers or self._watchers[root].done():
            files = permissions.sources.files()
            task = asyncio.create_task(watch_files(files, lambda: self.settings_changed(root)))
            task.add_done_callback(_log_watch_end)
            self._watchers[root] = task

    def settings_changed(self, root: Path) -> None:
        """A settings file of `root` changed: reload every session there now, and say so."""
        for session in self._sessions.values():
            permissions = session.state.permissions
            if permissions is None or permissions.sources.project != root or not permissions.refresh():
                continue
            config = permissions.engine.config
            rules = len(config.deny) + len(config.ask) + len(config.allow)
            warnings = permissions.warnings
            message = f"agentls: permission settings reloaded for {root} ({rules} rules"
            message += f"; {len(warnings)} warnings: {'; '.join(warnings[:3])})" if warnings else ")"
            kind = T.MessageType.Warning if warnings else T.MessageType.Info
            self._channel.log(message, kind)

    def list(self) -> list[SessionSummary]:
        out = [
            SessionSummary(s.id, str(s.state.tool_ctx.workspace.root), _mtime(s), _title(s), True)
            for s in self._sessions.values()
        ]
        known = set(self._sessions)
        for info in self.store.list():
            if info.id in known:
                continue
            header = info.header or {}
            out.append(SessionSummary(info.id, str(header.get("cwd", "")), info.mtime, "", False))
        return out

    async def shut_down(self, reason: str, wind_down_s: float) -> None:
        """The server is going away: say why in every black box, cancel running turns (their
        commands are killed), give them `wind_down_s` to finish, and close every session."""
        for session in self._sessions.values():
            session.state.blackbox.write("signal", signal=reason, busy=session.busy)
            session.cancel()
        for _ in range(int(wind_down_s / 0.05)):
            if not any(s.busy for s in self._sessions.values()):
                break
            await asyncio.sleep(0.05)
        await self.end_all(wind_down_s)
        self.close_all()

    async def end_all(self, timeout_s: float = _CLOSE_WAIT_S) -> None:
        """Run the SessionEnd hooks of every open session, for at most `timeout_s` (the server is
        going away); `close_all` closes them."""
        tasks = [asyncio.create_task(session_ended(s.state, "other")) for s in self._sessions.values()]
        # Their MCP servers stop meanwhile (closed, not just abandoned: `close_all` cannot wait).
        tasks += [asyncio.create_task(s.state.mcp.close()) for s in self._sessions.values() if s.state.mcp]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=timeout_s)
            for task in late:
                task.cancel()

    def close_all(self) -> None:
        for task in self._watchers.values():
            task.cancel()
        for session in self._sessions.values():
            session.cancel()
            session.close()
        self._sessions.clear()
        self._last_used.clear()

    def _cwd(self, cwd: str | None) -> Path | None:
        if not cwd:
            return None
        path = Path(cwd).expanduser()
        if not path.is_absolute() or not path.is_dir():
            raise SessionError(f"cwd {cwd!r} must be an absolute path to a directory")
        return path

    def _spec(self) -> SessionSpec:
        """What the editor chose (initializationOptions): only the values it set, so the settings
        files and agentls' defaults decide the rest, as for `agentls run`."""
        options = self._channel.features.options
        try:
            chosen: dict[str, Any] = {
                "thinking": thinking_option(options),
                "context": context_option(options),
                "budget": budget_option(options),
                **explicit_values(options),
            }
            if options.get("permissionMode") is not None:
                chosen["permission_mode"] = options["permissionMode"]
            if options.get("maxTurns") is not None:
                chosen["max_turns"] = int(options["maxTurns"])
            if options.get("checkpoints") is not None:
                if not isinstance(options["checkpoints"], bool):
                    raise TypeError(f"checkpoints must be true or false, not {options['checkpoints']!r}")
                chosen["checkpoints"] = options["checkpoints"]
        except (ValidationError, ValueError, TypeError) as err:
            raise SessionError(f"invalid initializationOptions: {err}") from None
        model = options.get("model")
        return SessionSpec(
            model=str(model) if model else None,
            config=chosen,
            cli_settings=settings_option(options),
            cli_settings_from_editor=True,
        )

    def _model(self, name: str) -> AnthropicModel:
        if name not in self._models:
            self._models[name] = AnthropicModel(name)
        return self._models[name]

    def _workspace_for(self, root: Path) -> Workspace:
        if root not in self._workspaces:
            self._workspaces[root] = make_workspace(self._channel, self._documents, root)
        return self._workspaces[root]


def _title(session: Session) -> str:
    base = session.state.context.base
    if base is not None and base.user_messages():
        return base.user_messages()[0].strip().splitlines()[0][:80]
    for message in session.state.history:
        if message.role == "user" and (text := message.text().strip()):
            return text.splitlines()[0][:80]
    return ""


def _mtime(session: Session) -> float:
    """When the session last wrote its transcript (0 for sessions kept in memory only)."""
    try:
        return session.transcript.stat().st_mtime if session.transcript else 0.0
    except OSError:
        return 0.0

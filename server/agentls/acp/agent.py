"""`agentls acp`: agentls as an ACP agent on stdio (Zed, JetBrains IDEs, codecompanion, avante,
agent-shell…), on the `agent-client-protocol` SDK, over the same core and session factory as the
language server and the CLI.

- `initialize` negotiates the protocol version and says what we do: load sessions, embedded
  context in prompts, HTTP and SSE MCP servers.
- `session/new` and `session/load` get sessions from the `SessionFactory` (a load replays the
  conversation as `session/update`s); each session's commands go out as
  `available_commands_update`, its permission mode as the session's mode.
- `session/prompt` runs `Session.submit` (a slash command or a turn) and streams every event as
  the updates `to_proto` makes (the same the LSP server sends as `agentls/sessionUpdate`); updates
  ACP has no name for (compactions, checkpoints, command output, API retries) go out as the
  extension notification `_agentls/sessionUpdate`. The stop reason is ACP's; an error is a
  JSON-RPC error.
- Permission prompts are `session/request_permission` with ACP's four options; an "always" answer
  is saved as a rule, as in the LSP server (the core does it).
- When the client offers `fs.readTextFile` and `fs.writeTextFile`, files are read and written
  through it (`client_fs.py`); otherwise the disk. When it offers `terminal`, commands run in its
  terminals (still wrapped in our sandbox), shown live in their tool calls; otherwise here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION, RequestError
from acp.schema import (
    AgentCapabilities,
    AuthenticateResponse,
    ClientCapabilities,
    EnvVariable,
    Implementation,
    InitializeResponse,
    ListSessionsResponse,
    LoadSessionResponse,
    McpCapabilities,
    NewSessionResponse,
    PermissionOption,
    PromptCapabilities,
    PromptResponse,
    RequestPermissionResponse,
    SessionInfo,
    SessionModeState,
    SessionNotification,
    SetSessionModeResponse,
    ToolCallUpdate,
)
from pydantic import ValidationError

from agentls import __version__, to_proto
from agentls.acp.client_fs import ClientError, ClientFsWorkspace, TerminalExit
from agentls.acp.mcp_servers import mcp_config
from agentls.core.commands.dispatch import CommandError, session_commands
from agentls.core.events import AgentEvent, TextDelta, ThinkingDelta, TurnEnded, UsageUpdated
from agentls.core.factory import SessionFactory, SessionSetupError, SessionSpec
from agentls.core.model import Model
from agentls.core.session import Session, SessionBusy
from agentls.policy.decision import PERMISSION_MODES, ApprovalRequest, ApprovalResponse
from agentls.store.sessions import SessionStore
from agentls.workspace.disk import DiskWorkspace
from agentls.workspace.port import ProcessSpec

log = logging.getLogger(__name__)

EXTENSION_UPDATE = "agentls/sessionUpdate"
"""Sent as `_agentls/sessionUpdate`: our updates that ACP has no name for."""


@dataclass
class _Open:
    session: Session
    files: ClientFsWorkspace
    cost: float | None = None


class AcpAgent:
    """One ACP connection's agent: its sessions, the client's capabilities, the connection."""

    def __init__(
        self,
        *,
        store: SessionStore,
        model_for: Callable[[str], Model],
        default_model: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        self._conn: Any = None
        self._capabilities = ClientCapabilities()
        self._sessions: dict[str, _Open] = {}
        self._created: ClientFsWorkspace | None = None
        """The workspace the factory just made (its session's id comes right after)."""
        self._by_id: dict[str, ClientFsWorkspace] = {}
        self._config = config or {}
        self._factory = SessionFactory(
            store=store,
            model_for=model_for,
            workspace_for=self._workspace_for,
            approver_for=self._approver_for,
            default_cwd=Path.cwd,
        )
        if default_model:
            self._factory.default_model = default_model

    def on_connect(self, conn: Any) -> None:
        self._conn = conn

    @property
    def connection(self) -> Any:
        return self._conn

    # ------------------------------------------------------------------ the factory's ports

    def _workspace_for(self, root: Path) -> ClientFsWorkspace:
        fs = self._capabilities.fs
        enabled = bool(fs and fs.read_text_file and fs.write_text_file)
        terminals = _Terminals(self) if self._capabilities.terminal else None
        self._created = ClientFsWorkspace(
            DiskWorkspace(root), _Files(self), enabled=enabled, terminals=terminals
        )
        return self._created

    def _approver_for(self, session_id: str) -> _Approver:
        # The factory asks for the approver right after the workspace: that one is this session's.
        if self._created is not None:
            self._by_id[session_id] = self._created
            self._created = None
        return _Approver(self, session_id)

    # ------------------------------------------------------------------ connection

    async def initialize(
        self,
        protocol_version: int,
        client_capabilities: ClientCapabilities | None = None,
        client_info: Implementation | None = None,
        **kwargs: Any,
    ) -> InitializeResponse:
        self._capabilities = client_capabilities or ClientCapabilities()
        return InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(
                load_session=True,
                prompt_capabilities=PromptCapabilities(embedded_context=True),
                mcp_capabilities=McpCapabilities(http=True, sse=True),
            ),
            agent_info=Implementation(name="agentls", title="agentls", version=__version__),
            auth_methods=[],
        )

    async def authenticate(self, method_id: str, **kwargs: Any) -> AuthenticateResponse:
        return AuthenticateResponse()  # The API key comes from the environment, as for the CLI.

    # ------------------------------------------------------------------ sessions

    async def new_session(
        self, cwd: str, mcp_servers: list[Any] | None = None, **kwargs: Any
    ) -> NewSessionResponse:
        spec = self._spec(cwd, mcp_servers)
        try:
            session = await self._factory.start(spec)
        except SessionSetupError as err:
            raise RequestError.invalid_params({"message": str(err)}) from None
        opened = self._opened(session)
        await self._announce(opened)
        return NewSessionResponse(session_id=session.id, modes=self._modes(session))

    async def load_session(
        self, cwd: str, session_id: str, mcp_servers: list[Any] | None = None, **kwargs: Any
    ) -> LoadSessionResponse:
        opened = self._sessions.get(session_id)
        if opened is None:
            try:
                session = await self._factory.resume(session_id, self._spec(cwd, mcp_servers))
            except SessionSetupError as err:
                raise RequestError.invalid_params({"message": str(err)}) from None
            opened = self._opened(session)
        shown = await asyncio.to_thread(opened.session.display_history)
        for update in to_proto.history_updates(shown.messages, shown.compactions, shown.checkpoints):
            await self._send(opened.session.id, update)
        await self._announce(opened)
        return LoadSessionResponse(modes=self._modes(opened.session))

    async def list_sessions(
        self, cwd: str | None = None, cursor: str | None = None, **kwargs: Any
    ) -> ListSessionsResponse:
        infos: list[SessionInfo] = []
        for info in self._factory.store.list():
            header = info.header or {}
            where = str(header.get("cwd") or "")
            if cwd is not None and where != cwd:
                continue
            infos.append(SessionInfo(session_id=info.id, cwd=where))
        return ListSessionsResponse(sessions=infos)

    async def set_session_mode(self, session_id: str, mode_id: str, **kwargs: Any) -> SetSessionModeResponse:
        opened = self._get(session_id)
        if mode_id not in PERMISSION_MODES:
            raise RequestError.invalid_params({"message": f"unknown mode {mode_id!r}"})
        permissions = opened.session.state.permissions
        if permissions is None:
            raise RequestError.invalid_params({"message": "this session's permissions are fixed"})
        refused = permissions.engine.set_mode(mode_id)
        if refused:
            raise RequestError.invalid_params({"message": refused})
        await self._send(session_id, to_proto.current_mode(permissions.engine.mode))
        return SetSessionModeResponse()

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        opened = self._sessions.get(session_id)
        if opened is not None:  # Cancelling what is not running is a no-op.
            opened.session.cancel()

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> PromptResponse:
        opened = self._get(session_id)
        text = to_proto.prompt_text([block.model_dump(by_alias=True, exclude_none=True) for block in prompt])
        try:
            run = await opened.session.submit(text)
        except SessionBusy as err:
            raise RequestError.invalid_request({"message": f"session busy: {err}"}) from None
        except CommandError as err:
            raise RequestError.invalid_params({"message": str(err)}) from None
        end: TurnEnded | None = None
        try:
            async for event in run.events():
                await self._report(opened, event)
                if isinstance(event, TurnEnded):
                    end = event
        finally:
            for event in run.leftover():
                await self._report(opened, event)
                if isinstance(event, TurnEnded):
                    end = event
        stop = end.stop if end is not None else run.stop
        if stop is None or stop.kind == "end_turn":
            return PromptResponse(stop_reason="end_turn")
        if stop.kind == "error":
            raise RequestError.internal_error({"message": stop.cause.message, "kind": stop.cause.kind})
        reason = to_proto.stop_reason(stop)
        if reason in ("max_tokens", "max_turn_requests", "refusal", "cancelled"):
            return PromptResponse(stop_reason=reason)
        # A budget or an overflow: ACP has no name for it; the turn ended, and _meta says why.
        return PromptResponse(stop_reason="end_turn", field_meta={"agentls": to_proto.stop_details(stop)})

    # ------------------------------------------------------------------ helpers

    def _spec(self, cwd: str, mcp_servers: list[Any] | None) -> SessionSpec:
        path = Path(cwd)
        if not path.is_absolute():
            raise RequestError.invalid_params({"message": f"cwd must be an absolute path, not {cwd!r}"})
        servers = [s.model_dump(by_alias=True, exclude_none=True) for s in mcp_servers or []]
        return SessionSpec(cwd=path, config=self._config, mcp_config=mcp_config(servers))

    def _opened(self, session: Session) -> _Open:
        files = self._by_id.pop(session.id)
        files.session_id = session.id  # From now on the client knows the session: files go through it.
        opened = self._sessions[session.id] = _Open(session, files)
        return opened

    def _get(self, session_id: str) -> _Open:
        opened = self._sessions.get(session_id)
        if opened is None:
            raise RequestError.invalid_params(
                {"message": f"no session {session_id!r}: session/load it first"}
            )
        return opened

    def _modes(self, session: Session) -> SessionModeState:
        return SessionModeState.model_validate(to_proto.session_modes(session.state.policy.mode))

    async def _announce(self, opened: _Open) -> None:
        registry = await session_commands(opened.session.state)
        await self._send(opened.session.id, to_proto.available_commands(registry.infos()))
        for notice in opened.session.notices:
            await self._send(
                opened.session.id, to_proto.text_chunk("agent_message_chunk", f"[agentls] {notice}\n")
            )
        opened.session.notices.clear()

    async def _report(self, opened: _Open, event: AgentEvent) -> None:
        if isinstance(event, TextDelta | ThinkingDelta):
            kind = "agent_message_chunk" if isinstance(event, TextDelta) else "agent_thought_chunk"
            await self._send(opened.session.id, to_proto.text_chunk(kind, event.text))
            return
        if isinstance(event, UsageUpdated):
            opened.cost = event.session_cost_usd
        for update in to_proto.updates_for(event, opened.cost):
            await self._send(opened.session.id, update)

    async def send_update(self, session_id: str, update: dict[str, Any]) -> None:
        await self._send(session_id, update)

    async def _send(self, session_id: str, update: dict[str, Any]) -> None:
        try:
            note = SessionNotification.model_validate({"sessionId": session_id, "update": update})
        except ValidationError:
            await self._conn.ext_notification(EXTENSION_UPDATE, {"sessionId": session_id, "update": update})
            return
        await self._conn.session_update(session_id=session_id, update=note.update)

    # ------------------------------------------------------------------ client requests

    async def read_text_file(self, session_id: str, path: str) -> str:
        try:
            response = await self._conn.read_text_file(session_id=session_id, path=path)
        except RequestError as err:
            raise ClientError(str(err)) from err
        return str(response.content)

    async def write_text_file(self, session_id: str, path: str, content: str) -> None:
        try:
            await self._conn.write_text_file(session_id=session_id, path=path, content=content)
        except RequestError as err:
            raise ClientError(str(err)) from err

    async def request_permission(self, session_id: str, request: ApprovalRequest) -> ApprovalResponse:
        params = to_proto.permission_request(session_id, request)
        try:
            response: RequestPermissionResponse = await self._conn.request_permission(
                session_id=session_id,
                tool_call=ToolCallUpdate.model_validate(params["toolCall"]),
                options=[PermissionOption.model_validate(o) for o in params["options"]],
            )
        except RequestError as err:
            log.warning("session/request_permission failed: %s", err)
            return ApprovalResponse("reject_once", f"(the permission prompt failed: {err})")
        return to_proto.permission_answer(response.model_dump(by_alias=True))


class _Files:
    """The client's two file methods, for `ClientFsWorkspace`."""

    def __init__(self, agent: AcpAgent) -> None:
        self._agent = agent

    async def read_text_file(self, session_id: str, path: str) -> str:
        return await self._agent.read_text_file(session_id, path)

    async def write_text_file(self, session_id: str, path: str, content: str) -> None:
        await self._agent.write_text_file(session_id, path, content)


class _Terminals:
    """The client's terminal methods, for `ClientFsWorkspace.run`."""

    def __init__(self, agent: AcpAgent) -> None:
        self._agent = agent

    @property
    def _conn(self) -> Any:
        return self._agent.connection

    async def create(self, session_id: str, spec: ProcessSpec) -> str:
        command, *args = spec.argv
        env = [EnvVariable(name=k, value=v) for k, v in spec.env.items()]
        response = await _client_call(
            self._conn.create_terminal(
                session_id=session_id,
                command=command,
                args=args,
                env=env,
                cwd=str(spec.cwd),
                output_byte_limit=spec.output_limit * 4,
            )
        )
        return str(response.terminal_id)

    async def show(self, session_id: str, call_id: str, terminal_id: str) -> None:
        update = {
            "sessionUpdate": "tool_call_update",
            "toolCallId": call_id,
            "content": [{"type": "terminal", "terminalId": terminal_id}],
        }
        await self._agent.send_update(session_id, update)

    async def wait_for_exit(self, session_id: str, terminal_id: str) -> TerminalExit:
        response = await _client_call(
            self._conn.wait_for_terminal_exit(session_id=session_id, terminal_id=terminal_id)
        )
        return TerminalExit(response.exit_code, response.signal)

    async def output(self, session_id: str, terminal_id: str) -> tuple[str, bool]:
        response = await _client_call(
            self._conn.terminal_output(session_id=session_id, terminal_id=terminal_id)
        )
        return str(response.output), bool(response.truncated)

    async def kill(self, session_id: str, terminal_id: str) -> None:
        await _client_call(self._conn.kill_terminal(session_id=session_id, terminal_id=terminal_id))

    async def release(self, session_id: str, terminal_id: str) -> None:
        await _client_call(self._conn.release_terminal(session_id=session_id, terminal_id=terminal_id))


async def _client_call(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except RequestError as err:
        raise ClientError(str(err)) from err


class _Approver:
    def __init__(self, agent: AcpAgent, session_id: str) -> None:
        self._agent = agent
        self._session_id = session_id

    async def approve(self, request: ApprovalRequest) -> ApprovalResponse:
        return await self._agent.request_permission(self._session_id, request)

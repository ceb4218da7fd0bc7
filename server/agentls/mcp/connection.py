"""One MCP server's connection, from start to stop, with every fault contained.

The connection lives in one task (`_live`): the SDK's transports and session are async context
managers whose task groups must be entered and left by the same task. The task connects,
initializes, lists the tools, and then waits: for a tool-list change (it lists again), for the
server to close the connection, or for `stop`. Leaving it closes the session and the transport,
which for stdio stops the process (`transport.py`).

States: `pending` (a project server waiting for the user's approval), `starting`, `connected`,
`failed` (with the reason: it could not start, did not start in time, exited, closed the
connection mid-call), `disabled` (not approved) and `stopped` (its session ended). A failed server's
tools leave the pool; there is no reconnection in this phase.

Faults never escape: a start that fails, a server that crashes mid-call, hangs past its timeout or
answers garbage becomes a `ToolError` for the call (the model reads an error result) and a notice
for the user (`notify`); the session goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from agentls.mcp.config import ServerConfig
from agentls.mcp.results import result_text
from agentls.mcp.tool import ALWAYS_LOAD, McpTool, make_tool
from agentls.mcp.transport import load_sdk, open_session
from agentls.tools.base import ToolError, ToolOutput

if TYPE_CHECKING:
    from mcp.client.session import ClientSession, IncomingMessage

log = logging.getLogger(__name__)

State = Literal["pending", "starting", "connected", "failed", "disabled", "stopped"]
NoticeLevel = Literal["info", "warning"]
Notify = Callable[[NoticeLevel, str], None]

STOP_WAIT_S = 10.0
"""Closing waits this long for the SDK to stop a server (stdin closed, then TERM, then KILL: about
six seconds at worst) before giving up on it."""
MAX_TOOL_PAGES = 100
"""A server whose tool listing never ends cannot hang the connection."""
STDERR_TAIL = 600
_CONNECTION_CLOSED = -32000
"""The SDK's error code for a connection that ended (`mcp.types.CONNECTION_CLOSED`)."""


@dataclass(frozen=True)
class PromptArgument:
    name: str
    description: str
    required: bool


@dataclass(frozen=True)
class PromptInfo:
    """A server's prompt: offered as the command `/mcp__<server>__<name>`."""

    name: str
    description: str
    arguments: tuple[PromptArgument, ...]


@dataclass(frozen=True)
class ResourceInfo:
    """A server's resource: attached to a prompt with `@<server>:<uri>`."""

    uri: str
    name: str
    description: str


MAX_RESOURCE_CHARS = 100_000
"""A resource attached to a prompt is cut here (with a marker): it goes to the model whole."""


@dataclass(frozen=True)
class ServerStatus:
    """One server as `/mcp` and `agentls mcp list` show it."""

    name: str
    state: State
    detail: str
    """Why it failed or is disabled, or how it was approved."""
    transport: str
    target: str
    source: str
    tools: tuple[str, ...]
    server: str = ""
    """The server's own name and version, once connected."""
    prompts: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    """Their URIs."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "detail": self.detail,
            "transport": self.transport,
            "target": self.target,
            "source": self.source,
            "tools": list(self.tools),
            "server": self.server,
            "prompts": list(self.prompts),
            "resources": list(self.resources),
        }


class ServerConnection:
    def __init__(
        self,
        config: ServerConfig,
        *,
        root: Path,
        base_env: Mapping[str, str],
        notify: Notify,
        changed: Callable[[], None],
    ) -> None:
        self.config = config
        self.state: State = "pending"
        self.detail = ""
        self.tools: tuple[McpTool, ...] = ()
        self.prompts: tuple[PromptInfo, ...] = ()
        self.resources: tuple[ResourceInfo, ...] = ()
        self.server_info = ""
        self._capabilities: Any = None
        self._root = root
        self._base_env = base_env
        self._notify = notify
        self._changed = changed
        self._session: ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._wake = asyncio.Event()
        self._settled = asyncio.Event()
        """Set once the start is over (connected or failed): what `wait_started` waits for."""
        self._stopping = False
        self._ended = False
        self._relist = False
        self._relist_others = False
        """Prompts or resources changed (their notifications)."""
        self._stderr: TextIO | None = None
        self._scope: Any = None
        """The anyio cancel scope around the connection: cancelling it (not the task) lets the
        SDK's shielded shutdown stop the process even when a start is given up."""

    @property
    def name(self) -> str:
        return self.config.name

    def status(self) -> ServerStatus:
        c = self.config
        return ServerStatus(
            c.name,
            self.state,
            self.detail,
            c.transport,
            c.target,
            c.origin.describe(),
            tuple(t.name for t in self.tools),
            self.server_info,
            tuple(p.name for p in self.prompts),
            tuple(r.uri for r in self.resources),
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self, note: str = "") -> None:
        """Connect in the background; `wait_started` says when the start is over."""
        if self._task is not None or self.state in ("stopped", "disabled"):
            return
        self.state, self.detail = "starting", note
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._live(), name=f"mcp server {self.name}")
        self._timer = loop.call_later(self.config.startup_timeout_s, self._start_expired)

    def disable(self, why: str) -> None:
        self.state, self.detail = "disabled", why
        self._settled.set()

    async def wait_started(self) -> None:
        if self.state == "starting":
            await self._settled.wait()

    async def stop(self) -> None:
        """Close the session and stop the server (bounded by `STOP_WAIT_S`)."""
        self._stopping = True
        self._wake.set()
        task = self._task
        if task is not None and not task.done():
            if self.state == "starting":
                self._interrupt()  # Nothing to wait for: the start is given up.
            done, _ = await asyncio.wait({task}, timeout=STOP_WAIT_S)
            if not done:
                log.warning("MCP server %s did not stop in %s s; cancelling it", self.name, STOP_WAIT_S)
                self._interrupt()
                done, _ = await asyncio.wait({task}, timeout=STOP_WAIT_S)
            if not done:
                task.cancel()
        self._stopped()

    def stop_now(self) -> None:
        """Without waiting (the session is closed from synchronous code): the connection is
        cancelled, and the SDK's shielded shutdown still stops the process."""
        self._stopping = True
        self._interrupt()
        self._stopped()

    def _interrupt(self) -> None:
        task = self._task
        if task is None or task.done():
            return
        if self._scope is not None:
            self._scope.cancel()
        else:
            task.cancel()  # Not running yet: nothing is open.

    def _stopped(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.state not in ("failed", "disabled"):
            self.state = "stopped"
        if self.tools:
            self.tools = ()
            self._changed()
        self._settled.set()

    def _start_expired(self) -> None:
        if self.state == "starting":
            self._fail(f"it did not start within {self.config.startup_timeout_s:g} s")
            self._interrupt()

    async def _live(self) -> None:
        import anyio

        try:
            with anyio.CancelScope() as scope:
                self._scope = scope
                await load_sdk()
                with _stderr_file(self.config) as errlog:
                    self._stderr = errlog
                    try:
                        await self._connect(errlog)
                    except Exception as err:
                        if not self._stopping:
                            self._fail(describe(err, self.config))
                    finally:
                        self._ended_unless_stopping()  # (While its stderr can still be read.)
                        self._stderr = None
        except Exception as err:  # The SDK could not be loaded.
            if not self._stopping:
                self._fail(describe(err, self.config))
        finally:
            self._ended_unless_stopping()

    async def _connect(self, errlog: TextIO | None) -> None:
        async with AsyncExitStack() as stack:
            session = await open_session(
                self.config,
                stack,
                root=self._root,
                base_env=self._base_env,
                errlog=errlog,
                on_message=self._on_message,
                on_end=self._on_end,
            )
            info = await session.initialize()
            self._capabilities = info.capabilities
            await self._list_tools(session)
            await self._list_prompts(session)
            await self._list_resources(session)
            if self.state != "starting":
                return  # Given up on meanwhile (too slow, or the session ended).
            self.server_info = f"{info.server_info.name} {info.server_info.version}".strip()
            self._session = session
            self._cancel_timer()
            self.state = "connected"
            self._settled.set()
            self._changed()
            try:
                await self._serve(session)
            finally:
                self._session = None

    def _ended_unless_stopping(self) -> None:
        self._session = None
        if self.state in ("starting", "connected") and not self._stopping:
            self._fail("the connection ended")

    async def _serve(self, session: ClientSession) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._stopping or self.state != "connected":
                return
            if self._ended:
                self._fail("the server closed the connection (it may have exited)")
                return
            if self._relist_others:
                self._relist_others = False
                await self._list_prompts(session)
                await self._list_resources(session)
                self._changed()
            if self._relist:
                self._relist = False
                before = {t.name for t in self.tools}
                await self._list_tools(session)
                after = {t.name for t in self.tools}
                if before != after:
                    self._changed()
                    self._notify("info", f"MCP server {self.name}: its tools changed (now {len(after)}).")

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _fail(self, reason: str) -> None:
        if self.state not in ("starting", "connected"):
            return
        was = self.state
        tail = self._stderr_tail()
        self.state, self.detail = "failed", reason + (f" (stderr: {tail})" if tail else "")
        self._cancel_timer()
        self._settled.set()
        self._wake.set()  # The connection's task leaves, which stops the process.
        if self.tools:
            self.tools = ()
            self._changed()
        what = "could not start" if was == "starting" else "stopped working"
        self._notify("warning", f"MCP server {self.name} {what}: {self.detail}; its tools are not available.")

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.flush()
            self._stderr.seek(0)
            text = self._stderr.read()
        except (OSError, ValueError):
            return ""
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        tail = " | ".join(lines[-5:])
        return tail[-STDERR_TAIL:]

    # ------------------------------------------------------------------ from the server

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, Exception):
            # A line that is not JSON-RPC, say: the SDK skips it; the connection goes on.
            log.warning("MCP server %s sent something unreadable: %s", self.name, message)
            return
        method = getattr(message, "method", None) or getattr(getattr(message, "root", None), "method", None)
        if method == "notifications/tools/list_changed":
            self._relist = True
            self._wake.set()  # Listed again by the connection's task, not inside the SDK's reader.
        elif method in ("notifications/prompts/list_changed", "notifications/resources/list_changed"):
            self._relist_others = True
            self._wake.set()

    def _on_end(self) -> None:
        self._ended = True
        self._wake.set()

    async def _list_tools(self, session: ClientSession) -> None:
        from mcp.types import PaginatedRequestParams

        listed: list[Any] = []
        cursor: str | None = None
        for _ in range(MAX_TOOL_PAGES):
            page = await session.list_tools(
                params=PaginatedRequestParams(cursor=cursor) if cursor is not None else None
            )
            listed += page.tools
            cursor = page.next_cursor
            if not cursor:
                break
        tools: dict[str, McpTool] = {}
        for remote in listed:
            annotations = getattr(remote, "annotations", None)
            tool = make_tool(
                self.name,
                remote.name,
                remote.description or "",
                remote.input_schema,
                read_only=getattr(annotations, "read_only_hint", None) is True,
                caller=self,
                always_load=(getattr(remote, "meta", None) or {}).get(ALWAYS_LOAD) is True,
            )
            if tool.name in tools:
                self._notify(
                    "warning",
                    f"MCP server {self.name}: tool {remote.name!r} is left out: its name would be "
                    f"{tool.name}, like tool {tools[tool.name].remote!r}'s",
                )
                continue
            tools[tool.name] = tool
        self.tools = tuple(tools.values())

    async def _list_prompts(self, session: ClientSession) -> None:
        """The server's prompts, if it offers any (a failure leaves none: tools still work)."""
        if getattr(self._capabilities, "prompts", None) is None:
            return
        try:
            listed = (await session.list_prompts()).prompts
        except Exception as err:
            self._notify(
                "warning",
                f"MCP server {self.name}: its prompts cannot be listed ({describe(err, self.config)}).",
            )
            self.prompts = ()
            return
        self.prompts = tuple(
            PromptInfo(
                p.name,
                p.description or p.title or "",
                tuple(
                    PromptArgument(a.name, a.description or "", a.required is True) for a in p.arguments or ()
                ),
            )
            for p in listed
        )

    async def _list_resources(self, session: ClientSession) -> None:
        if getattr(self._capabilities, "resources", None) is None:
            return
        try:
            listed = (await session.list_resources()).resources
        except Exception as err:
            self._notify(
                "warning",
                f"MCP server {self.name}: its resources cannot be listed ({describe(err, self.config)}).",
            )
            self.resources = ()
            return
        self.resources = tuple(ResourceInfo(str(r.uri), r.name, r.description or "") for r in listed)

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> str:
        """The prompt's messages as one text (the user's prompt); `ToolError` says what failed."""
        session = self._connected()
        try:
            result = await asyncio.wait_for(session.get_prompt(name, arguments), self.config.call_timeout_s)
        except TimeoutError:
            raise ToolError(f"The MCP server {self.name} did not answer for the prompt {name}.") from None
        except Exception as err:
            raise ToolError(
                f"The MCP server {self.name} could not give the prompt {name}: {describe(err, self.config)}"
            ) from None
        # Text as it is; anything else as the tools' results describe it.
        texts = [result_text([message.content], None) for message in result.messages]
        return "\n\n".join(t for t in texts if t)

    async def read_resource(self, uri: str) -> str:
        """The resource's text (a binary one summarised)."""
        session = self._connected()
        try:
            result = await asyncio.wait_for(session.read_resource(uri), self.config.call_timeout_s)
        except TimeoutError:
            raise ToolError(f"The MCP server {self.name} did not answer for {uri}.") from None
        except Exception as err:
            raise ToolError(
                f"The MCP server {self.name} could not read {uri}: {describe(err, self.config)}"
            ) from None
        parts = []
        for item in result.contents:
            text = getattr(item, "text", None)
            if isinstance(text, str):
                parts.append(text)
            else:
                kind = getattr(item, "mime_type", None) or "binary"
                parts.append(f"[{kind} content of {getattr(item, 'uri', uri)}, not shown]")
        text = "\n".join(parts)
        if len(text) > MAX_RESOURCE_CHARS:
            text = (
                text[:MAX_RESOURCE_CHARS]
                + f"\n[... cut: {len(text) - MAX_RESOURCE_CHARS:,} more characters ...]"
            )
        return text

    def _connected(self) -> ClientSession:
        session = self._session
        if session is None or self.state != "connected":
            why = f": {self.detail}" if self.detail else ""
            raise ToolError(f"The MCP server {self.name} is not connected ({self.state}{why}).")
        return session

    # ------------------------------------------------------------------ calls

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> ToolOutput:
        from mcp.shared.exceptions import MCPError
        from mcp.types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        session = self._session
        if session is None or self.state != "connected":
            why = f": {self.detail}" if self.detail else ""
            raise ToolError(f"The MCP server {self.name} is not connected ({self.state}{why}).")
        limit = self.config.call_timeout_s
        try:
            result = await session.call_tool(tool, arguments, read_timeout_seconds=limit)
        except MCPError as err:
            if self._stopping:
                raise ToolError(f"The MCP server {self.name} was stopped: its session ended.") from None
            if err.code == REQUEST_TIMEOUT:
                self._notify(
                    "warning", f"MCP server {self.name}: {tool} did not answer within {limit:g} s; given up."
                )
                raise ToolError(
                    f"The MCP server {self.name} did not answer {tool} within {limit:g} s; the call was "
                    "given up (it may still be running there)."
                ) from None
            if err.code == CONNECTION_CLOSED or self._ended:
                self._fail(f"the connection closed during a call to {tool} (the server may have crashed)")
                raise ToolError(
                    f"The MCP server {self.name} closed the connection during the call (it may have "
                    "crashed); its tools are no longer available in this session."
                ) from None
            raise ToolError(f"The MCP server {self.name} refused the call: {err.message}") from None
        except Exception as err:
            # A result that does not parse or validate, a broken stream…
            what = describe(err, self.config)
            self._notify(
                "warning", f"MCP server {self.name}: {tool} gave an answer that cannot be used ({what})."
            )
            raise ToolError(f"The MCP server {self.name} gave an invalid answer to {tool}: {what}") from None
        content = getattr(result, "content", None)
        if not isinstance(content, list):
            raise ToolError(f"The MCP server {self.name} gave an answer to {tool} without content.")
        text = result_text(content, getattr(result, "structured_content", None))
        return ToolOutput(text, is_error=getattr(result, "is_error", False) is True)


def _stderr_file(config: ServerConfig) -> contextlib.AbstractContextManager[TextIO | None]:
    """Where a stdio server's stderr goes (not agentls' terminal or the editor's pipe): its last
    lines explain a failed start."""
    if config.transport != "stdio":
        return contextlib.nullcontext()
    return tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")


def describe(err: BaseException, config: ServerConfig) -> str:
    """One line for people about why a connection or a call failed."""
    while isinstance(err, BaseExceptionGroup) and err.exceptions:
        err = err.exceptions[0]
    message = getattr(err, "message", None)
    if isinstance(err, FileNotFoundError) and config.transport == "stdio":
        return f"cannot run {config.command!r}: no such program"
    if isinstance(err, PermissionError) and config.transport == "stdio":
        return f"cannot run {config.command!r}: permission denied"
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror}"
    if getattr(err, "code", None) == _CONNECTION_CLOSED:
        return "the server closed the connection (it may have exited)"
    name = type(err).__name__
    if "Connect" in name or "Timeout" in name:
        with contextlib.suppress(Exception):
            return f"cannot connect to {config.url or config.command}: {err or name}"
    text = message if isinstance(message, str) and message else str(err)
    return f"{name}: {text}" if text else name

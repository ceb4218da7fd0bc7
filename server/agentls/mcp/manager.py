"""A top-level session's MCP servers: started in the background, their tools, their news, and
stopping them with the session.

`start_servers` finds the session's servers (`sources.py`) and starts every one that may start at
once, without waiting: the session, and the language server's `initialize` before it, never wait
for a server. A project's own server the user has not yet approved waits for `settle`, which the
turn calls before each request: it asks the user (one server at a time), then waits for the
servers still starting (each bounded by its start-up timeout), so the model's first request sees
the tools it was configured with. Subagents use their parent's servers through its tools.

What happens to the servers (a failed start, a crash, a tool list that changed) waits in
`take_notices` for the session to show; the tool pool changes are counted by `version`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agentls.mcp.sources import find_servers
from agentls.policy.decision import Approver
from agentls.policy.loader import SettingsSources
from agentls.policy.settings_levels import EffectivePolicyConfig
from agentls.tools.base import ToolError
from agentls.tools.bash import scrubbed_env

if TYPE_CHECKING:
    # At run time these load only for a session that has servers: most have none (issue 15).
    from agentls.mcp.approval import Approvals
    from agentls.mcp.config import ServerConfig
    from agentls.mcp.connection import NoticeLevel, PromptInfo, ServerConnection, ServerStatus
    from agentls.mcp.tool import McpTool


class McpManager:
    def __init__(
        self,
        servers: Sequence[ServerConfig],
        *,
        root: Path,
        base_env: Mapping[str, str],
        approvals: Approvals | None = None,
        approver: Approver | None = None,
        warnings: Sequence[str] = (),
    ) -> None:
        self._approvals = approvals
        self._approver = approver
        self._notices: list[tuple[NoticeLevel, str]] = [("warning", w) for w in warnings]
        self._version = 0
        self._asking = asyncio.Lock()
        self._closed = False
        self._connections: list[ServerConnection] = []
        if servers:
            from agentls.mcp.connection import ServerConnection

            self._connections = [
                ServerConnection(c, root=root, base_env=base_env, notify=self._notify, changed=self._changed)
                for c in servers
            ]

    # ------------------------------------------------------------------ the port (core/mcp_port.py)

    @property
    def version(self) -> int:
        """Changes whenever `tools()` would answer differently."""
        return self._version

    def tools(self) -> tuple[McpTool, ...]:
        return tuple(t for c in self._connections if c.state == "connected" for t in c.tools)

    def status(self) -> tuple[ServerStatus, ...]:
        return tuple(c.status() for c in self._connections)

    def prompts(self) -> tuple[tuple[str, PromptInfo], ...]:
        """(server, prompt) of every connected server."""
        return tuple((c.name, p) for c in self._connections if c.state == "connected" for p in c.prompts)

    def server_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self._connections)

    async def get_prompt(self, server: str, name: str, arguments: dict[str, str]) -> str:
        return await self._connection(server).get_prompt(name, arguments)

    async def read_resource(self, server: str, uri: str) -> str:
        return await self._connection(server).read_resource(uri)

    def _connection(self, server: str) -> ServerConnection:
        for c in self._connections:
            if c.name == server:
                return c
        raise ToolError(f"There is no MCP server named {server!r} in this session.")

    def take_notices(self) -> list[tuple[NoticeLevel, str]]:
        out, self._notices = self._notices, []
        return out

    def start(self) -> McpManager:
        """Start every server that may start now (in the background)."""
        if not self._connections:
            return self
        from agentls.mcp.approval import needs_approval

        for connection in self._connections:
            config = connection.config
            if not needs_approval(config):
                connection.start()
                continue
            if self._approvals is None:
                connection.disable(
                    "a project's server needs the user's approval, and nobody can give it here"
                )
                continue
            allowed, why = self._approvals.known(config)
            if allowed is True:
                connection.start(why)
            elif allowed is False:
                connection.disable(why)
        return self

    async def settle(self, *, ask: bool = True) -> None:
        """Ask about the project servers not approved yet (unless `ask` is false: `/mcp` only
        looks), then wait until no server is starting."""
        if self._closed:
            return
        if ask:
            async with self._asking:
                for connection in self._connections:
                    if connection.state == "pending":
                        await self._ask(connection)
        await asyncio.gather(*(c.wait_started() for c in self._connections))

    async def aclose(self) -> None:
        """Stop every server (they stop together; each is bounded)."""
        self._closed = True
        await asyncio.gather(*(c.stop() for c in self._connections))

    def close_now(self) -> None:
        self._closed = True
        for connection in self._connections:
            connection.stop_now()

    # ------------------------------------------------------------------ inside

    async def _ask(self, connection: ServerConnection) -> None:
        if self._approvals is None or self._approver is None:
            connection.disable("not approved: nobody can approve it here")
            return
        allowed, why = await self._approvals.ask(connection.config, self._approver)
        if self._closed:
            return
        if allowed:
            connection.start(why)
            return
        connection.disable(why)
        where = connection.config.origin.describe()
        self._notify("warning", f"MCP server {connection.name} from {where} is off: {why}.")

    def _notify(self, level: NoticeLevel, text: str) -> None:
        self._notices.append((level, text))

    def _changed(self) -> None:
        self._version += 1


def start_servers(
    sources: SettingsSources,
    settings: EffectivePolicyConfig,
    *,
    approver: Approver | None,
    mcp_config: Sequence[str] = (),
    subprocess_env: Mapping[str, str] | None = None,
) -> McpManager:
    """The servers of a session in `sources.project`, started (see the module's docstring)."""
    found = find_servers(sources, settings, mcp_config=mcp_config)
    approvals = _approvals(sources, found.servers)
    return McpManager(
        found.servers,
        root=sources.project,
        base_env=subprocess_env if subprocess_env is not None else scrubbed_env(),
        approvals=approvals,
        approver=approver,
        warnings=found.warnings,
    ).start()


async def check_servers(
    servers: Sequence[ServerConfig], sources: SettingsSources
) -> tuple[ServerStatus, ...]:
    """Connect to each server once and report (`agentls mcp list --check`): a project server the
    user has not approved is not started (nobody is asked here), then every server is stopped."""
    approvals = _approvals(sources, servers)
    manager = McpManager(servers, root=sources.project, base_env=scrubbed_env(), approvals=approvals)
    try:
        manager.start()
        await manager.settle()
        return manager.status()
    finally:
        await manager.aclose()


def _approvals(sources: SettingsSources, servers: Sequence[ServerConfig]) -> Approvals | None:
    """The user's answers about project servers, when some server needs one."""
    if not servers:
        return None
    from agentls.mcp.approval import Approvals, needs_approval

    return Approvals.of(sources) if any(needs_approval(s) for s in servers) else None

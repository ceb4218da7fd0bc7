"""A session's tool pool with its MCP servers' tools, as they come and go.

The pool is the session's own tools (built-in, or what the front end chose) followed by each
connected server's tools. It changes only between requests: `refresh` runs before each one (the
turn's loop), so a request's tool list and the runner that executes its calls always agree, and a
tool list that changes on a server (`tools/list_changed`) is seen by the next request. A name the
session's own tools already use is never taken by an MCP tool.
"""

from __future__ import annotations

from typing import Literal

from agentls.core.mcp_port import McpServers
from agentls.core.model import ToolSpec
from agentls.tools.base import ToolEnv
from agentls.tools.registry import ToolRegistry


class McpPool:
    def __init__(
        self, servers: McpServers, registry: ToolRegistry, specs: tuple[ToolSpec, ...], env: ToolEnv
    ) -> None:
        self.servers = servers
        self._registry = registry
        self._specs = specs
        self._env = env
        self._version: int | None = None
        self._pool = (registry, specs)

    async def refresh(self) -> list[tuple[Literal["info", "warning"], str]]:
        """Wait for servers still starting (and ask about unapproved ones); what happened to the
        servers since the last refresh, for the user."""
        await self.servers.settle()
        return self.servers.take_notices()

    def pool(self) -> tuple[ToolRegistry, tuple[ToolSpec, ...]]:
        """The registry and the specs the model sees, recomputed when the servers' tools changed."""
        version = self.servers.version
        if version != self._version:
            seen = set(self._registry.names())
            extra = []
            for tool in self.servers.tools():
                if tool.name not in seen:  # (Two long server names may cut to the same tool name.)
                    seen.add(tool.name)
                    extra.append(tool)
            registry = ToolRegistry([*self._registry.tools(), *extra])
            specs = self._specs + tuple(
                ToolSpec(name=t.name, description=t.description(self._env), input_schema=t.input_schema())
                for t in extra
            )
            self._pool, self._version = (registry, specs), version
        return self._pool

    async def close(self) -> None:
        await self.servers.aclose()

    def close_now(self) -> None:
        self.servers.close_now()

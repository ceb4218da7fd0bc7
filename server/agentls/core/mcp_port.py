"""How the core sees a session's MCP servers: a small port, implemented by `agentls.mcp`.

The session factory decides whether a session has MCP servers and supplies a `McpStarter`; the
session calls it once, with its own settings and approver, and from then on sees only `McpServers`:
their current tools (joined to the pool before each request, `mcp_pool.py`), what happened to them
(notices for the user), their status (`/mcp`) and closing them with the session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from agentls.policy.decision import Approver
from agentls.policy.loader import SettingsSources
from agentls.policy.settings_levels import EffectivePolicyConfig
from agentls.tools.base import Tool

if TYPE_CHECKING:  # A session without MCP servers never loads the MCP modules (issue 15).
    from agentls.mcp.connection import PromptInfo, ServerStatus


class McpServers(Protocol):
    @property
    def version(self) -> int:
        """Changes whenever `tools()` would answer differently."""
        ...

    def tools(self) -> Sequence[Tool[Any]]:
        """The connected servers' tools, now."""
        ...

    async def settle(self, *, ask: bool = True) -> None:
        """Ask about servers waiting for the user's approval (if `ask`), then wait for those still
        starting (bounded by their start-up timeouts)."""
        ...

    def take_notices(self) -> list[tuple[Literal["info", "warning"], str]]:
        """What happened to the servers since the last call, for the user."""
        ...

    def status(self) -> Sequence[ServerStatus]: ...

    def prompts(self) -> Sequence[tuple[str, PromptInfo]]:
        """(server, prompt) of the connected servers: offered as `/mcp__<server>__<prompt>`."""
        ...

    def server_names(self) -> Sequence[str]: ...

    async def get_prompt(self, server: str, name: str, arguments: dict[str, str]) -> str:
        """The prompt's text; raises `ToolError` with what went wrong."""
        ...

    async def read_resource(self, server: str, uri: str) -> str:
        """The resource's text; raises `ToolError` with what went wrong."""
        ...

    async def aclose(self) -> None:
        """Stop every server (bounded)."""
        ...

    def close_now(self) -> None:
        """Stop every server without waiting (from synchronous code)."""
        ...


@dataclass(frozen=True)
class McpStart:
    """What a session gives its `McpStarter`."""

    sources: SettingsSources
    settings: EffectivePolicyConfig
    """The session's merged settings (`mcpServers` of every level, workspace trust applied)."""
    approver: Approver
    """Asks the user about a project's own servers."""
    subprocess_env: Mapping[str, str] | None


McpStarter = Callable[[McpStart], McpServers]

"""`@<server>:<uri>` in a prompt attaches that MCP resource: its server reads it
(`resources/read`) and its text goes to the model with the prompt, marked with the server and
the URI. A mention of a server the session does not have is left as text (an e-mail address, a
handle); one that cannot be read is left as text too, and the user is told why."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agentls.core.events import AgentEvent, Notice
from agentls.tools.base import ToolError

if TYPE_CHECKING:
    from collections.abc import Callable

    from agentls.core.state import SessionState

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_-]+):(\S+)")
MAX_ATTACHED = 10
"""Resources attached to one prompt, at most (each is capped by the connection)."""


async def attached_resources(
    state: SessionState, prompt: str, emit: Callable[[AgentEvent], None]
) -> list[str]:
    """The texts to send with `prompt` for the resources it mentions."""
    if state.mcp is None:
        return []
    servers = set(state.mcp.servers.server_names())
    wanted: list[tuple[str, str]] = []
    for match in MENTION.finditer(prompt):
        server, uri = match.group(1), match.group(2).rstrip(".,;!?)]}'\"")
        if server in servers and (server, uri) not in wanted:
            wanted.append((server, uri))
    if not wanted:
        return []
    await state.mcp.servers.settle()  # Servers still starting: the first prompt may name them.
    out: list[str] = []
    for server, uri in wanted[:MAX_ATTACHED]:
        try:
            text = await state.mcp.servers.read_resource(server, uri)
        except ToolError as err:
            emit(Notice(level="warning", message=f"@{server}:{uri} was not attached: {err}"))
            continue
        out.append(f'<mcp_resource server="{server}" uri="{uri}">\n{text}\n</mcp_resource>')
    if len(wanted) > MAX_ATTACHED:
        emit(
            Notice(
                level="warning", message=f"Only the first {MAX_ATTACHED} @server:uri resources were attached."
            )
        )
    return out

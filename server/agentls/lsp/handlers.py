"""Every handler module registers itself here; the order does not matter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentls.lsp import (
    agent_requests,
    code_actions,
    commands,
    compaction,
    documents,
    lifecycle,
    permission_commands,
    rewind,
    slash_commands,
)

if TYPE_CHECKING:
    from agentls.lsp.server import AgentServer


def register(server: AgentServer) -> None:
    lifecycle.register(server)
    documents.register(server)
    agent_requests.register(server)
    commands.register(server)
    permission_commands.register(server)
    compaction.register(server)
    rewind.register(server)
    slash_commands.register(server)
    code_actions.register(server)

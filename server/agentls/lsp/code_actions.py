"""(Being written in this session: see handlers.py.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentls.lsp.server import AgentServer


def register(server: AgentServer) -> None:
    return None

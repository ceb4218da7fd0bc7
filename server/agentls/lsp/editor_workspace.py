"""(Being written in this session.) Until then: the disk."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from agentls.workspace.disk import DiskWorkspace
from agentls.workspace.port import Workspace

if TYPE_CHECKING:
    from agentls.lsp.server import AgentServer


def make_workspace(server: AgentServer, root: Path) -> Workspace:
    return DiskWorkspace(root)

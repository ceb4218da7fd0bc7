"""A session from the session factory with a real MCP server: the session does not wait for the
server to start, its first request does, and ending the session stops the server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentls.core.factory import SessionFactory, SessionSpec
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.store.sessions import SessionStore
from agentls.workspace.disk import DiskWorkspace
from tests.core.fakes import ScriptedApprover
from tests.mcp.helpers import echo_entry, pids, running, wait_gone

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


async def test_the_session_starts_before_its_server_and_stops_it(project: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    entry = echo_entry(pid_file, env={"ECHO_PID_FILE": str(pid_file), "ECHO_SLOW_START": "2"})
    model = ScriptedModel([Reply([ToolCall("mcp__slow__add", {"a": 1, "b": 2})]), Reply([Text("3")])])
    config = tmp_path / "xdg-config" / "agentls"  # (conftest points XDG_CONFIG_HOME there)
    config.mkdir(parents=True)
    (config / "settings.json").write_text(json.dumps({"permissions": {"allow": ["mcp__slow"]}}))
    factory = SessionFactory(
        store=SessionStore(tmp_path / "sessions"),
        model_for=lambda _name: model,
        workspace_for=DiskWorkspace,
        approver_for=lambda _id: ScriptedApprover([]),
        default_cwd=lambda: project,
    )
    session = await factory.start(SessionSpec(mcp_config=(json.dumps({"mcpServers": {"slow": entry}}),)))
    try:
        assert session.state.mcp is not None
        [status] = session.state.mcp.servers.status()
        assert status.state == "starting"  # The session did not wait for it (it sleeps 2 s first).
        events = [e async for e in session.run("add 1 and 2").events()]
        first = model.requests[0]
        assert "mcp__slow__add" in [t.name for t in first.tools]  # The first request waited for it.
        finished = [e for e in events if e.kind == "tool_call_finished"]
        assert [(e.output, e.is_error) for e in finished] == [("3", False)]
        [pid] = pids(pid_file)
        assert running(pid)
    finally:
        await session.end()
    wait_gone(pid)
    assert session.state.mcp.servers.status()[0].state == "stopped"

"""The core's side of MCP, through its port with a fake in place of `agentls.mcp`: the servers' tools
join the pool between requests, permission rules name them, the user hears what happened to the
servers, `/mcp` shows them, and they are closed with the session."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from agentls.core.config import AgentConfig
from agentls.core.events import CommandOutput, Notice, PermissionDecided, ToolCallFinished
from agentls.core.mcp_port import McpServers, McpStart
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.core.session import Session, SessionDeps
from agentls.mcp.connection import PromptInfo, ServerStatus
from agentls.mcp.tool import McpInput
from agentls.policy.loader import SettingsSources
from agentls.tools.base import Tool, ToolContext, ToolEnv, ToolError, ToolOutput
from agentls.workspace.disk import DiskWorkspace
from tests.core.fakes import ScriptedApprover


class FakeTool(Tool[McpInput]):
    input_model = McpInput
    tier: ClassVar[Literal["plugin"]] = "plugin"

    def __init__(self, name: str, servers: FakeServers) -> None:
        self.name = name  # type: ignore[misc]
        self.servers = servers

    def description(self, env: ToolEnv) -> str:
        return f"fake {self.name}"

    def input_schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": {"x": {"type": "string"}}}

    def parse(self, raw: dict[str, Any]) -> McpInput:
        return McpInput.model_validate({"arguments": raw})

    async def call(self, args: McpInput, ctx: ToolContext) -> ToolOutput:
        if self.name == "mcp__fake__one":  # Calling it makes the server grow a tool.
            self.servers.add("mcp__fake__two")
            self.servers.notices.append(("info", "MCP server fake: its tools changed (now 2)."))
        return ToolOutput(f"{self.name} got {json.dumps(args.arguments)}")


class FakeServers:
    def __init__(self) -> None:
        self.version = 0
        self._tools: list[FakeTool] = []
        self.notices: list[tuple[Literal["info", "warning"], str]] = [
            ("warning", "MCP server bad: a warning")
        ]
        self.settled: list[bool] = []
        self.closed: list[str] = []
        self.add("mcp__fake__one")

    def add(self, name: str) -> None:
        self._tools.append(FakeTool(name, self))
        self.version += 1

    def tools(self) -> Sequence[Tool[Any]]:
        return self._tools

    async def settle(self, *, ask: bool = True) -> None:
        self.settled.append(ask)

    def server_names(self) -> Sequence[str]:
        return ("fake", "broken")

    def prompts(self) -> Sequence[tuple[str, PromptInfo]]:
        return ()

    async def get_prompt(self, server: str, name: str, arguments: dict[str, str]) -> str:
        raise ToolError(f"no prompt {name}")

    async def read_resource(self, server: str, uri: str) -> str:
        raise ToolError(f"no resource {uri}")

    def take_notices(self) -> list[tuple[Literal["info", "warning"], str]]:
        out, self.notices = self.notices, []
        return out

    def status(self) -> Sequence[ServerStatus]:
        return (
            ServerStatus(
                "fake",
                "connected",
                "",
                "stdio",
                "fake-server --x",
                "user settings (/u)",
                tuple(t.name for t in self._tools),
            ),
            ServerStatus(
                "broken",
                "failed",
                "cannot run 'nope': no such program",
                "stdio",
                "nope",
                "project settings (/p)",
                (),
            ),
        )

    async def aclose(self) -> None:
        self.closed.append("aclose")

    def close_now(self) -> None:
        self.closed.append("close_now")


def _check_protocol(servers: FakeServers) -> McpServers:
    return servers  # mypy checks the fake against the port.


async def start(
    project: Path, tmp_path: Path, steps: list[Any], settings: dict[str, Any]
) -> tuple[Session, FakeServers, ScriptedModel]:
    servers = FakeServers()
    starts: list[McpStart] = []

    def starter(setup: McpStart) -> McpServers:
        starts.append(setup)
        return servers

    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text(json.dumps({"permissions": settings}))
    model = ScriptedModel(steps)
    deps = SessionDeps(
        config=AgentConfig(model="test-model", retry_base_delay_s=0.0),
        model=model,
        workspace=DiskWorkspace(project),
        approver=ScriptedApprover([]),
        settings=SettingsSources(project=project, home=tmp_path / "home", config=config, managed=()),
        mcp=starter,
    )
    session = await Session.start(deps)
    assert len(starts) == 1 and starts[0].sources.project == project
    return session, servers, model


def names(request: Any) -> list[str]:
    return [t.name for t in request.tools]


async def test_tools_join_the_pool_between_requests(project: Path, tmp_path: Path) -> None:
    steps = [Reply([ToolCall("mcp__fake__one", {"x": "1"})]), Reply([Text("done")])]
    session, servers, model = await start(project, tmp_path, steps, {"allow": ["mcp__fake"]})
    assert "MCP server bad: a warning" in session.notices  # Entry problems: shown at the start.
    events = [e async for e in session.run("go").events()]
    first, second = model.requests
    assert names(first)[-1:] == ["mcp__fake__one"] and "mcp__fake__two" not in names(first)
    assert names(second)[-2:] == ["mcp__fake__one", "mcp__fake__two"]
    assert first.tools[-1].input_schema == {"type": "object", "properties": {"x": {"type": "string"}}}
    [finished] = [e for e in events if isinstance(e, ToolCallFinished)]
    assert finished.output == 'mcp__fake__one got {"x": "1"}' and not finished.is_error
    assert any(isinstance(e, Notice) and "its tools changed" in e.message for e in events)
    assert servers.settled == [True, True]  # Before each request.
    await session.end()
    assert servers.closed == ["aclose", "close_now"]


async def test_rules_name_mcp_tools(project: Path, tmp_path: Path) -> None:
    steps = [Reply([ToolCall("mcp__fake__one", {})]), Reply([Text("done")])]
    session, _, model = await start(project, tmp_path, steps, {"deny": ["mcp__fake__one"]})
    events = [e async for e in session.run("go").events()]
    assert "mcp__fake__one" not in names(model.requests[0])  # A bare deny rule hides it.
    [decided] = [e for e in events if isinstance(e, PermissionDecided)]
    assert decided.outcome == "deny" and decided.rule is not None and "mcp__fake__one" in decided.rule
    await session.end()


async def test_calls_ask_by_default(project: Path, tmp_path: Path) -> None:
    steps = [Reply([ToolCall("mcp__fake__one", {})]), Reply([Text("done")])]
    session, _, _ = await start(project, tmp_path, steps, {})
    approver = session.state.approver
    assert isinstance(approver, ScriptedApprover)
    approver.choices.append("reject_once")
    events = [e async for e in session.run("go").events()]
    assert [r.call.tool for r in approver.asked] == ["mcp__fake__one"]
    [finished] = [e for e in events if isinstance(e, ToolCallFinished)]
    assert finished.is_error and "rejected" in finished.output
    await session.end()


async def test_a_server_rule_hides_all_its_tools(project: Path, tmp_path: Path) -> None:
    session, _, model = await start(project, tmp_path, [Reply([Text("hi")])], {"deny": ["mcp__fake"]})
    [e async for e in session.run("go").events()]
    assert not [n for n in names(model.requests[0]) if n.startswith("mcp__")]
    await session.end()


async def test_a_glob_rule_denies_the_servers_calls(project: Path, tmp_path: Path) -> None:
    steps = [Reply([ToolCall("mcp__fake__one", {})]), Reply([Text("done")])]
    session, _, _ = await start(project, tmp_path, steps, {"deny": ["mcp__fake__*"], "allow": ["mcp__fake"]})
    events = [e async for e in session.run("go").events()]
    [finished] = [e for e in events if isinstance(e, ToolCallFinished)]
    assert finished.is_error and "denied by the rule mcp__fake__*" in finished.output
    await session.end()


async def test_the_mcp_command_lists_servers_states_and_tools(project: Path, tmp_path: Path) -> None:
    session, servers, _ = await start(project, tmp_path, [], {"deny": ["mcp__fake__one"]})
    run = await session.submit("/mcp")
    [output] = [e async for e in run.events() if isinstance(e, CommandOutput)]
    assert output.command == "mcp"
    assert "MCP servers (1 of 2 connected):" in output.text
    assert (
        "fake · connected" in output.text
        and "stdio: fake-server --x · from user settings (/u)" in output.text
    )
    assert "mcp__fake__one (hidden by a deny rule)" in output.text
    assert "broken · failed: cannot run 'nope': no such program" in output.text
    assert output.data["servers"][0]["hidden"] == ["mcp__fake__one"]
    assert servers.settled == [False]  # It waits for starting servers, and asks nobody.
    session.close()
    assert servers.closed == ["close_now"]

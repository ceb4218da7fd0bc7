"""A project's own servers start only once the user approved them, and the answer is kept per
project (and per entry: a changed entry is asked about again)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentls.mcp.approval import Approvals
from agentls.mcp.config import Origin, ServerConfig, parse_entry
from agentls.mcp.manager import McpManager
from agentls.policy.decision import ApprovalChoice, ApprovalRequest, ApprovalResponse
from agentls.policy.loader import SettingsSources
from agentls.store.mcp_approvals import McpApprovals


class Answers:
    """An approver that answers from a list and keeps what it was asked."""

    def __init__(self, *choices: ApprovalChoice) -> None:
        self.choices = list(choices)
        self.asked: list[ApprovalRequest] = []

    async def approve(self, request: ApprovalRequest) -> ApprovalResponse:
        self.asked.append(request)
        return ApprovalResponse(self.choices.pop(0))


@pytest.fixture
def sources(tmp_path: Path) -> SettingsSources:
    project = tmp_path / "project"
    project.mkdir()
    return SettingsSources(project=project, home=tmp_path / "home", config=tmp_path / "config", managed=())


def project_server(
    sources: SettingsSources, name: str = "repo", command: str = "no-such-program"
) -> ServerConfig:
    # A program that does not exist: a server that starts fails at once, with no process to clean up.
    origin = Origin(level="project", path=sources.project / ".mcp.json")
    config = parse_entry(name, {"command": str(sources.project / command)}, origin, {})
    assert isinstance(config, ServerConfig)
    return config


async def run(sources: SettingsSources, approver: Answers | None, *configs: ServerConfig) -> McpManager:
    m = McpManager(
        configs, root=sources.project, base_env={}, approvals=Approvals.of(sources), approver=approver
    ).start()
    await m.settle()
    await m.aclose()
    return m


def state(m: McpManager) -> dict[str, str]:
    return {s.name: s.state for s in m.status()}


async def test_asked_once_then_remembered(sources: SettingsSources) -> None:
    first = Answers("allow_once")
    m = await run(sources, first, project_server(sources))
    assert state(m) == {"repo": "failed"}  # It was started (and failed: no such program).
    [request] = first.asked
    assert request.call.tool == "mcp__repo" and "Start the MCP server repo" in request.call.summary
    assert ".mcp.json" in request.reason
    again = Answers()
    m = await run(sources, again, project_server(sources))
    assert again.asked == [] and state(m) == {"repo": "failed"}
    assert m.status()[0].detail.startswith("cannot run")


async def test_never_is_remembered_and_no_is_not(sources: SettingsSources) -> None:
    no = Answers("reject_once")
    m = await run(sources, no, project_server(sources))
    assert state(m) == {"repo": "disabled"} and "a later session asks again" in m.status()[0].detail
    assert any("MCP server repo" in text and "is off" in text for _, text in m.take_notices())
    never = Answers("reject_always")
    m = await run(sources, never, project_server(sources))
    assert len(never.asked) == 1 and state(m) == {"repo": "disabled"}
    silent = Answers()
    m = await run(sources, silent, project_server(sources))
    assert silent.asked == [] and "you declined it" in m.status()[0].detail
    McpApprovals.in_config(sources.config).forget(sources.project, "repo")  # `agentls mcp reset repo`
    asked_again = Answers("allow_always")
    await run(sources, asked_again, project_server(sources))
    assert len(asked_again.asked) == 1


async def test_a_changed_entry_is_asked_about_again(sources: SettingsSources) -> None:
    await run(sources, Answers("allow_always"), project_server(sources))
    changed = Answers("reject_once")
    await run(sources, changed, project_server(sources, command="another-program"))
    assert len(changed.asked) == 1


async def test_nobody_to_ask_keeps_it_off(sources: SettingsSources) -> None:
    m = await run(sources, None, project_server(sources))
    assert state(m) == {"repo": "disabled"}


def write_settings(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


async def test_claude_codes_answers_are_read_as_they_are(sources: SettingsSources) -> None:
    write_settings(
        sources.config / "settings.json",
        {"enabledMcpjsonServers": ["yes"], "disabledMcpjsonServers": ["no"]},
    )
    asked = Answers("allow_once")
    m = await run(
        sources,
        asked,
        project_server(sources, "yes"),
        project_server(sources, "no"),
        project_server(sources, "ask"),
    )
    assert state(m) == {"yes": "failed", "no": "disabled", "ask": "failed"}
    assert [r.call.tool for r in asked.asked] == ["mcp__ask"]
    assert "disabledMcpjsonServers" in m.status()[1].detail


async def test_enable_all_in_claude_json_and_not_from_the_project_itself(sources: SettingsSources) -> None:
    write_settings(sources.project / ".claude" / "settings.json", {"enableAllProjectMcpServers": True})
    asked = Answers("reject_once")
    m = await run(sources, asked, project_server(sources))
    assert len(asked.asked) == 1 and state(m) == {"repo": "disabled"}  # The repository cannot approve itself.
    write_settings(
        sources.home / ".claude.json",
        {"projects": {str(sources.project): {"enableAllProjectMcpServers": True}}},
    )
    silent = Answers()
    m = await run(sources, silent, project_server(sources))
    assert silent.asked == [] and state(m) == {"repo": "failed"}


async def test_servers_of_other_levels_need_no_approval(sources: SettingsSources) -> None:
    origin = Origin(level="user", path=sources.config / "settings.json")
    config = parse_entry("mine", {"command": str(sources.project / "nothing")}, origin, {})
    assert isinstance(config, ServerConfig)
    asked = Answers()
    m = await run(sources, asked, config)
    assert asked.asked == [] and state(m) == {"mine": "failed"}

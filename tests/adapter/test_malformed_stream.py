"""A malformed SSE event (data that is not JSON, or not UTF-8) through the real SDK and the loop:
retried like a dropped stream when no tool has started, and no tool is run twice when one has."""

from __future__ import annotations

from pathlib import Path

from agentls.core.anthropic_model import AnthropicModel
from agentls.core.config import AgentConfig
from agentls.core.events import Retrying, ToolCallFinished, TurnEnded
from agentls.core.session import Session, SessionDeps
from agentls.workspace.disk import DiskWorkspace
from tests.core.fakes import ScriptedApprover
from tests.fakeapi import FakeMessagesAPI, MalformedEvent, Reply, Text, ToolCall


async def _run(project: Path, fake: FakeMessagesAPI) -> list[object]:
    model = AnthropicModel("claude-sonnet-5-5", api_key="k", base_url=fake.base_url)
    deps = SessionDeps(
        config=AgentConfig(
            model="claude-sonnet-5-5", permission_mode="bypassPermissions", retry_base_delay_s=0.0
        ),
        model=model,
        workspace=DiskWorkspace(project),
        approver=ScriptedApprover([]),
    )
    session = await Session.start(deps)
    try:
        return [e async for e in session.run("go").events()]
    finally:
        await model.aclose()


async def test_a_malformed_event_before_any_tool_is_retried(project: Path) -> None:
    with FakeMessagesAPI([MalformedEvent(4), Reply([Text("fine")])]) as fake:
        events = await _run(project, fake)
        fake.assert_consumed()
    assert any(isinstance(e, Retrying) and "malformed event" in e.cause.message for e in events)
    end = events[-1]
    assert isinstance(end, TurnEnded) and end.stop.kind == "end_turn" and end.text == "fine"


async def test_a_malformed_event_after_a_tool_started_keeps_its_result_and_runs_nothing_twice(
    project: Path,
) -> None:
    (project / "marker.txt").write_text("x\n")
    started = Reply(
        [ToolCall("Bash", {"command": "echo ran >> log.txt"}), Text("and then some more text " * 5)]
    )
    with FakeMessagesAPI([MalformedEvent(12, reply=started), Reply([Text("done")])]) as fake:
        events = await _run(project, fake)
        fake.assert_consumed()
    assert (project / "log.txt").read_text() == "ran\n"
    assert sum(isinstance(e, ToolCallFinished) for e in events) == 1
    end = events[-1]
    assert isinstance(end, TurnEnded) and end.stop.kind == "end_turn"

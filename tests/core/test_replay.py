"""Rebuilding a session from its records, including the states a crash can leave behind."""

from __future__ import annotations

from pathlib import Path

from agentls.core.messages import Message, TextBlock, ToolResultBlock, ToolUseBlock, user_text
from agentls.core.model import TokenUsage
from agentls.core.records import (
    HeaderRecord,
    MessageRecord,
    PartialAssistantRecord,
    ToolCallRecord,
    ToolResultRecord,
    UsageRecord,
)
from agentls.core.replay import INTERRUPTED, NOT_STARTED, replay
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.store.jsonl import read_jsonl
from tests.core.fakes import LookTool, Timeline, collect

A = ToolUseBlock(id="t1", name="Bash", input={"command": "make"})
B = ToolUseBlock(id="t2", name="Read", input={"file_path": "/x"})


def dump(*records) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return [r.model_dump(mode="json") for r in records]


HEAD = (
    HeaderRecord(session_id="s", created="now", cwd="/p", config={"model": "m"}),
    MessageRecord(message=user_text("build it")),
)


def test_clean_history_round_trips() -> None:
    answer = Message(role="assistant", content=(TextBlock(text="done"),))
    out = replay(
        dump(
            *HEAD,
            MessageRecord(message=answer),
            UsageRecord(request=TokenUsage(input_tokens=5), session=TokenUsage(input_tokens=5)),
        )
    )
    assert out.history == [user_text("build it"), answer]
    assert out.repair is None and out.interrupted == []
    assert out.usage.input_tokens == 5
    assert out.header is not None and out.header.session_id == "s"


def test_crash_while_a_tool_runs_answers_it_as_interrupted() -> None:
    partial = PartialAssistantRecord(message_id="m1", content=(TextBlock(text="Running."), A))
    out = replay(dump(*HEAD, partial, ToolCallRecord(call_id="t1", name="Bash", input=A.input)))
    assert [m.role for m in out.history] == ["user", "assistant", "user"]
    assert out.history[1].content == (TextBlock(text="Running."), A)
    [result] = out.history[2].content
    assert isinstance(result, ToolResultBlock)
    assert result.tool_use_id == "t1" and result.is_error and result.content == INTERRUPTED
    assert out.interrupted == ["t1"]


def test_finished_and_unstarted_calls_are_told_apart() -> None:
    done = Message(role="assistant", content=(A, B))
    out = replay(
        dump(
            *HEAD,
            MessageRecord(message=done, message_id="m1"),
            ToolCallRecord(call_id="t1", name="Bash", input=A.input),
            ToolResultRecord(call_id="t1", content="built", is_error=False),
        )
    )
    first, second = out.history[-1].content
    assert isinstance(first, ToolResultBlock) and first.content == "built" and not first.is_error
    assert isinstance(second, ToolResultBlock) and second.content == NOT_STARTED and second.is_error
    assert out.interrupted == []


def test_final_message_replaces_its_partial() -> None:
    partial = PartialAssistantRecord(message_id="m1", content=(A,))
    final = Message(role="assistant", content=(A, TextBlock(text="and more")))
    result = Message(role="user", content=(ToolResultBlock(tool_use_id="t1", content="ok"),))
    out = replay(
        dump(*HEAD, partial, MessageRecord(message=final, message_id="m1"), MessageRecord(message=result))
    )
    assert out.history == [user_text("build it"), final, result]
    assert out.repair is None


def test_unknown_records_are_skipped_not_fatal() -> None:
    out = replay([*dump(*HEAD), {"type": "from-the-future", "x": 1}, {"no": "type"}])
    assert out.history == [user_text("build it")]
    assert out.skipped_records == 2


async def test_session_resumes_from_its_transcript(project: Path, tmp_path: Path) -> None:
    from agentls.core.config import AgentConfig
    from agentls.core.session import Session, SessionDeps
    from agentls.store.sessions import SessionStore
    from agentls.tools.registry import ToolRegistry
    from agentls.workspace.disk import DiskWorkspace
    from tests.core.fakes import ScriptedApprover

    store = SessionStore(tmp_path / "sessions")
    timeline = Timeline()
    first = ScriptedModel([Reply([ToolCall("Look", {"label": "a"})]), Reply([Text("first done")])])

    def deps(model: ScriptedModel) -> SessionDeps:
        return SessionDeps(
            config=AgentConfig(model="m"),
            model=model,
            workspace=DiskWorkspace(project),
            approver=ScriptedApprover([]),
            registry=ToolRegistry([LookTool(timeline)]),
            store=store,
        )

    session = await Session.start(deps(first))
    await collect(session, "one")
    session.close()
    history = list(session.state.history)

    second = ScriptedModel([Reply([Text("second done")])])
    resumed = await Session.resume(deps(second), session.id[:12])
    assert resumed.id == session.id and resumed.resumed
    assert resumed.state.history == history
    assert resumed.state.usage == session.state.usage
    await collect(resumed, "two")
    sent = second.requests[0].messages
    assert sent[:-1] == tuple(history) and sent[-1].text() == "two"
    records = read_jsonl(store.path_for(session.id)).records
    assert [r["type"] for r in records].count("resumed") == 1
    assert not read_jsonl(store.path_for(session.id)).torn_tail

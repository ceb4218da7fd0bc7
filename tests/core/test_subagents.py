"""Subagents in the core, with the scripted model: resuming one by its agentId (a follow-up in
the same session, after the parent session itself was resumed, and without a session store),
the errors a bad `resume` gets, and background agents (`run_in_background`): their answers
reach the model later, a turn waits for them, a cancel stops them and the next turn is told, and
a session resumed after a crash tells the model of those that never answered."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from agentls.core.config import AgentConfig
from agentls.core.events import Notice, SubagentEvent, ToolCallFinished, TurnEnded
from agentls.core.model import ModelRequest
from agentls.core.records import SubagentRecord
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.core.session import Session, SessionDeps
from agentls.policy.loader import SettingsSources
from agentls.store.sessions import SessionStore
from agentls.workspace.disk import DiskWorkspace
from tests.core.fakes import ScriptedApprover, collect


def is_subagent(request: ModelRequest) -> bool:
    return "subagent" in request.system[0].text[:400]


def agent_call(prompt: str, resume: str | None = None) -> ToolCall:
    task: dict[str, Any] = {"description": "Look around", "prompt": prompt, "subagent_type": "explore"}
    if resume is not None:
        task["resume"] = resume
    return ToolCall("Agent", task)


def agent_results(events: list[Any]) -> list[ToolCallFinished]:
    return [e for e in events if isinstance(e, ToolCallFinished) and e.name == "Agent"]


def agent_id_in(result: ToolCallFinished) -> str:
    found = re.search(r"agentId: ([\w-]+)$", result.output)
    assert found, result.output
    return found.group(1)


def texts(request: ModelRequest) -> list[str]:
    return [b.text for m in request.messages for b in m.content if getattr(b, "type", "") == "text"]


class World:
    def __init__(self, tmp_path: Path, project: Path) -> None:
        self.project = project
        config = tmp_path / "config"
        config.mkdir()
        (config / "settings.json").write_text(json.dumps({"sandbox": {"enabled": False}}))
        self.sources = SettingsSources(project=project, home=tmp_path / "home", config=config, managed=())

    def deps(self, model: ScriptedModel, store: SessionStore | None) -> SessionDeps:
        return SessionDeps(
            config=AgentConfig(model="scripted-model", retry_base_delay_s=0.0),
            model=model,
            workspace=DiskWorkspace(self.project),
            approver=ScriptedApprover([]),
            settings=self.sources,
            store=store,
        )


@pytest.fixture
def world(tmp_path: Path, project: Path) -> World:
    return World(tmp_path, project)


async def test_a_follow_up_resumes_the_same_subagent_with_its_conversation(world: World) -> None:
    """Without a store: the subagent is kept in memory, and `resume` continues it."""
    model = ScriptedModel([])

    def parent_or_sub(request: ModelRequest) -> Reply:
        if is_subagent(request):
            return Reply([Text(f"SUB answer {len(request.messages)}")])
        if len(request.messages) == 1:
            return Reply([agent_call("find main")])
        if len(request.messages) == 3:
            said = texts(request) + [str(b) for b in request.messages[-1].content]
            agent_id = re.search(r"agentId: ([\w-]+)", " ".join(said))
            assert agent_id, said
            return Reply([agent_call("and its callers?", resume=agent_id.group(1))])
        return Reply([Text("PARENT done")])

    model.steps = [parent_or_sub] * 5
    session = await Session.start(world.deps(model, store=None))
    events = await collect(session, "go")
    first, second = agent_results(events)
    assert first.output.startswith("SUB answer 1") and not first.is_error
    # The resumed subagent saw its first task, its answer and the follow-up (3 messages).
    assert second.output.startswith("SUB answer 3") and not second.is_error
    assert agent_id_in(first) == agent_id_in(second)
    subs = [r for r in model.requests if is_subagent(r)]
    assert texts(subs[1]) == ["find main", "SUB answer 1", "and its callers?"]
    nested = {e.agent_id for e in events if isinstance(e, SubagentEvent)}
    assert nested == {agent_id_in(first)}
    assert isinstance(events[-1], TurnEnded) and events[-1].text == "PARENT done"


async def test_a_resumed_parent_can_resume_its_subagents(world: World, tmp_path: Path) -> None:
    """With a store: the parent's transcript links its subagents, so after the parent itself is
    resumed (a new process), `resume` finds the subagent's transcript and continues it."""
    store = SessionStore(tmp_path / "sessions")
    model = ScriptedModel(
        [
            Reply([agent_call("find main")]),
            Reply([Text("SUB first")]),
            Reply([Text("PARENT first")]),
        ]
    )
    session = await Session.start(world.deps(model, store))
    (result,) = agent_results(await collect(session, "go"))
    agent_id = agent_id_in(result)
    session.close()

    model = ScriptedModel(
        [
            Reply([agent_call("now the tests", resume=agent_id)]),
            Reply([Text("SUB second")]),
            Reply([Text("PARENT second")]),
        ]
    )
    again = await Session.resume(world.deps(model, store), session.id)
    (result,) = agent_results(await collect(again, "more"))
    assert not result.is_error and result.output.startswith("SUB second"), result.output
    assert agent_id_in(result) == agent_id
    assert texts(model.requests[1]) == ["find main", "SUB first", "now the tests"]
    transcript = tmp_path / "sessions" / "subagents" / session.id / f"{agent_id}.jsonl"
    kinds = [json.loads(line)["type"] for line in transcript.read_text().splitlines()]
    assert kinds[0] == "session" and "resumed" in kinds  # One transcript, continued.
    again.close()


async def test_resume_with_an_id_this_session_never_started_is_refused(world: World) -> None:
    model = ScriptedModel(
        [
            Reply([agent_call("x", resume="20260101-000000-deadbeef")]),
            Reply([Text("ok")]),
        ]
    )
    session = await Session.start(world.deps(model, store=None))
    (result,) = agent_results(await collect(session, "go"))
    assert result.is_error
    assert "No agent of this session has the agentId '20260101-000000-deadbeef'" in result.output
    assert not any(is_subagent(r) for r in model.requests)  # Nothing ran.


# --- Background agents ----------------------------------------------------------------------------


def background_call(prompt: str) -> ToolCall:
    task = {"description": "Dig", "prompt": prompt, "subagent_type": "explore", "run_in_background": True}
    return ToolCall("Agent", task)


def last_texts(request: ModelRequest) -> str:
    return "\n".join(b.text for b in request.messages[-1].content if getattr(b, "type", "") == "text")


async def test_a_background_agent_answers_later_and_the_turn_waits_for_it(
    world: World, tmp_path: Path
) -> None:
    """The Agent call returns at once; the parent goes on (here: it has nothing else to do and
    would end the turn); the turn waits, the notification reaches the model, which answers."""
    store = SessionStore(tmp_path / "sessions")

    def respond(request: ModelRequest) -> Reply:
        if is_subagent(request):
            return Reply([Text("BG-ANSWER: main is in app.py")], delay_before_stop_s=0.3)
        if len(request.messages) == 1:
            return Reply([background_call("find main")])
        if "<task-notification>" not in last_texts(request):
            return Reply([Text("Waiting for the agent.")])
        return Reply([Text("PARENT read: " + last_texts(request)[:400])])

    model = ScriptedModel([respond] * 4)
    session = await Session.start(world.deps(model, store))
    events = await collect(session, "go")
    (started,) = agent_results(events)
    assert not started.is_error
    assert started.output.startswith("Started the explore agent in the background.")
    agent_id = agent_id_in(started)
    parents = [r for r in model.requests if not is_subagent(r)]
    assert len(parents) == 3
    # The parent's second request went out before the agent answered; the third carries it.
    assert "<task-notification>" not in last_texts(parents[1])
    note = last_texts(parents[2])
    assert f"<agent-id>{agent_id}</agent-id>" in note and "<status>completed</status>" in note
    assert "BG-ANSWER: main is in app.py" in note
    assert any(isinstance(e, Notice) and "Waiting for 1 background agent" in e.message for e in events)
    end = events[-1]
    assert isinstance(end, TurnEnded) and end.stop.kind == "end_turn"
    assert end.text.startswith("PARENT read: <task-notification>")
    records = [json.loads(line) for line in session.transcript.read_text().splitlines()]  # type: ignore[union-attr]
    links = [r for r in records if r["type"] == "subagent"]
    assert [(r["background"], r["delivered"]) for r in links] == [(True, False), (True, True)]
    session.close()


async def test_a_cancelled_turn_stops_its_background_agents_and_the_next_turn_is_told(world: World) -> None:
    gate = asyncio.Event()

    def respond(request: ModelRequest) -> Reply:
        if is_subagent(request):
            gate.set()
            return Reply([Text("never seen")], delay_before_stop_s=60)
        if len(request.messages) == 1:
            return Reply([background_call("take your time")])
        if "<task-notification>" in last_texts(request):
            return Reply([Text("Told: " + last_texts(request)[:600])])
        return Reply([Text("Waiting.")])

    model = ScriptedModel([respond] * 5)
    session = await Session.start(world.deps(model, store=None))
    turn = session.run("go")
    seen: list[Any] = []

    async def consume() -> None:
        async for event in turn.events():
            seen.append(event)

    consumer = asyncio.create_task(consume())
    await asyncio.wait_for(gate.wait(), 10)
    await asyncio.sleep(0.05)
    turn.cancel()
    await asyncio.wait_for(consumer, 10)
    assert turn.stop is not None and turn.stop.kind == "cancelled"
    assert session.state.background is not None and session.state.background.running() == 0
    events = await collect(session, "what happened?")
    end = events[-1]
    assert isinstance(end, TurnEnded) and end.stop.kind == "end_turn"
    assert "<status>stopped</status>" in end.text and 'resume: "' in end.text


async def test_a_resumed_session_tells_the_model_of_background_agents_that_never_answered(
    world: World, tmp_path: Path
) -> None:
    store = SessionStore(tmp_path / "sessions")
    session = await Session.start(world.deps(ScriptedModel([]), store))
    # As a process killed while its background agent worked leaves the transcript:
    lost = SubagentRecord(
        call_id="toolu_1", agent_id="20261204-000000-abcdef12", agent_type="explore", background=True
    )
    session.state.journal.write(lost, sync=True)
    session.close()
    model = ScriptedModel([Reply([Text("ok")])])
    again = await Session.resume(world.deps(model, store), session.id)
    await collect(again, "carry on")
    said = last_texts(model.requests[0])
    assert said.startswith("carry on\n<task-notification>")
    assert "<status>interrupted</status>" in said and 'resume: "20261204-000000-abcdef12"' in said
    again.close()
    # Delivered now: a second resume does not repeat it.
    model = ScriptedModel([Reply([Text("ok")])])
    third = await Session.resume(world.deps(model, store), session.id)
    await collect(third, "more")
    assert "<task-notification>" not in last_texts(model.requests[0])
    third.close()

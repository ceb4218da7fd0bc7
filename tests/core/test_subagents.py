"""Subagents in the core, with the scripted model: resuming one by its agentId (a follow-up in
the same session, after the parent session itself was resumed, and without a session store),
and the errors a bad `resume` gets."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agentls.core.config import AgentConfig
from agentls.core.events import SubagentEvent, ToolCallFinished, TurnEnded
from agentls.core.model import ModelRequest
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

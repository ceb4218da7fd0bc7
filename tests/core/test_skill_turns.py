"""Skills in a session, against a ScriptedModel: only names and descriptions reach the model until it
calls `Skill`; the body is that call's result; `allowed-tools` narrow the tools from then until
the end of the turn (however it ends); `/name` runs a user-invocable skill; an untrusted project's
skills are not offered; `/context` and the black box show them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentls.core.commands.runs import ScopedTurn
from agentls.core.config import AgentConfig
from agentls.core.errors import ErrorCause, ModelError
from agentls.core.events import CommandOutput, PermissionDecided, SubagentEvent, ToolCallFinished, TurnEnded
from agentls.core.model import ModelRequest
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.core.session import Session, SessionDeps
from agentls.policy.loader import SettingsSources
from agentls.policy.tool_scope import ScopedPolicy
from agentls.store.sessions import SessionStore
from agentls.workspace.disk import DiskWorkspace
from tests.core.fakes import make_session

BODY = "Release steps: read CHANGELOG.md for $1, then write NOTES.md. (BODY-MARKER)"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private home: the user's own ~/.claude/skills never leak into a test."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    return path


def skill(root: Path, name: str, frontmatter: str, body: str = BODY) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(f"---\n{frontmatter}\n---\n{body}\n", encoding="utf-8")
    return folder


def user_skills(home: Path) -> Path:
    return home / ".claude" / "skills"


def trust(project: Path) -> None:
    SettingsSources(project=project).trust_store.trust(project)


def tool(request: ModelRequest, name: str):  # type: ignore[no-untyped-def]
    return next((t for t in request.tools if t.name == name), None)


def request_text(request: ModelRequest) -> str:
    return request.model_dump_json()


def last_results(request: ModelRequest) -> list[str]:
    return [getattr(b, "content", "") for b in request.messages[-1].content if b.type == "tool_result"]


async def drain(run) -> list:  # type: ignore[no-untyped-def]
    return [e async for e in run.events()]


async def test_the_first_request_lists_the_skill_and_not_its_body(project: Path, home: Path) -> None:
    skill(
        user_skills(home),
        "release-notes",
        "description: Drafts release notes from the changelog.\nwhen_to_use: Before a release",
    )
    skill(user_skills(home), "user-only", "description: USER-ONLY-MARKER\ndisable-model-invocation: true")
    model = ScriptedModel([Reply([Text("Hi.")])])
    session = await make_session(project, model)
    await drain(session.run("hello"))
    (first,) = model.requests
    spec = tool(first, "Skill")
    assert spec is not None and spec.input_schema["required"] == ["skill"]
    assert "- release-notes: Drafts release notes from the changelog. — Before a release" in spec.description
    assert "BODY-MARKER" not in request_text(first)
    assert "USER-ONLY-MARKER" not in request_text(first) and "user-only" not in spec.description
    assert "release-notes" not in first.system[0].text + first.system[1].text  # The tool lists them.


async def test_after_the_model_calls_skill_the_body_is_the_tool_result(project: Path, home: Path) -> None:
    folder = skill(user_skills(home), "release-notes", "description: Drafts release notes.")
    (folder / "template.md").write_text("# Notes template\n")
    model = ScriptedModel(
        [
            Reply([ToolCall("Skill", {"skill": "release-notes", "args": "v1.2"})]),
            Reply([Text("Done.")]),
        ]
    )
    session = await make_session(project, model)
    events = await drain(session.run("Write the release notes for v1.2"))
    (result,) = last_results(model.requests[1])
    assert "Release steps: read CHANGELOG.md for v1.2, then write NOTES.md. (BODY-MARKER)" in result
    assert f"Base directory for this skill: {folder}" in result
    assert f"- {folder / 'template.md'} (" in result and "# Notes template" not in result
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert [(e.name, e.is_error) for e in finished] == [("Skill", False)]
    assert isinstance(events[-1], TurnEnded) and events[-1].stop.kind == "end_turn"


async def test_allowed_tools_read_blocks_edit_while_active_and_edit_works_next_turn(
    project: Path, home: Path
) -> None:
    skill(user_skills(home), "look", "description: Looks around.\nallowed-tools: Read")
    target = project / "a.txt"
    target.write_text("old\n")
    edit = {"file_path": str(target), "old_string": "old", "new_string": "new"}
    model = ScriptedModel(
        [
            Reply([ToolCall("Read", {"file_path": str(target)})]),
            Reply([ToolCall("Skill", {"skill": "look"})]),
            Reply([ToolCall("Edit", edit)]),
            Reply([Text("Could not edit.")]),
            # The next turn: the session's own tools again.
            Reply([ToolCall("Edit", edit)]),
            Reply([Text("Edited.")]),
        ]
    )
    session = await make_session(project, model, mode="bypassPermissions")
    base_policy = session.state.policy
    events = await drain(session.run("look, then change a.txt"))
    (loaded,) = last_results(model.requests[2])
    assert "you can use only: Read" in loaded
    assert {t.name for t in model.requests[2].tools} == {"Read", "Glob", "Grep"}  # Edit is hidden.
    denied = [e for e in events if isinstance(e, PermissionDecided) and e.outcome == "deny"]
    assert [(d.name, d.rule) for d in denied] == [("Edit", "allowed-tools of the skill look (allowed-tools)")]
    assert target.read_text() == "old\n"
    assert session.state.policy is base_policy

    await drain(session.run("now change it"))
    assert "Edit" in {t.name for t in model.requests[4].tools}
    assert target.read_text() == "new\n"
    model.assert_consumed()


async def test_a_call_after_the_skill_in_the_same_response_is_already_narrowed(
    project: Path, home: Path
) -> None:
    skill(user_skills(home), "look", "description: Looks around.\nallowed-tools: Read, Grep")
    model = ScriptedModel(
        [
            Reply(
                [
                    ToolCall("Skill", {"skill": "look"}),
                    ToolCall("Write", {"file_path": str(project / "w.txt"), "content": "x"}),
                ]
            ),
            Reply([Text("Ok.")]),
        ]
    )
    session = await make_session(project, model, mode="bypassPermissions")
    events = await drain(session.run("go"))
    finished = {e.name: e for e in events if isinstance(e, ToolCallFinished)}
    assert not finished["Skill"].is_error
    assert finished["Write"].is_error and "the skill look (allowed-tools) allows only Read, Grep" in (
        finished["Write"].output
    )
    assert not (project / "w.txt").exists()


async def test_the_scope_ends_when_the_turn_fails(project: Path, home: Path) -> None:
    skill(user_skills(home), "look", "description: Looks.\nallowed-tools: Read")
    broken = ModelError(ErrorCause(kind="invalid_request", message="bad request"))
    model = ScriptedModel([Reply([ToolCall("Skill", {"skill": "look"})]), broken])
    session = await make_session(project, model)
    base_policy = session.state.policy
    events = await drain(session.run("go"))
    assert isinstance(events[-1], TurnEnded) and events[-1].stop.kind == "error"
    assert session.state.policy is base_policy and session.state.turn_scope.before is None


async def test_unknown_and_user_only_skills_are_errors_naming_the_available_ones(
    project: Path, home: Path
) -> None:
    skill(user_skills(home), "alpha", "description: A.")
    skill(user_skills(home), "beta", "description: B.")
    skill(user_skills(home), "mine", "description: M.\ndisable-model-invocation: yes")
    model = ScriptedModel(
        [
            Reply([ToolCall("Skill", {"skill": "gamma"}), ToolCall("Skill", {"skill": "mine"})]),
            Reply([ToolCall("Skill", {"skill": "/alpha"})]),
            Reply([Text("Ok.")]),
        ]
    )
    session = await make_session(project, model)
    await drain(session.run("go"))
    unknown, user_only = last_results(model.requests[1])
    assert unknown == "Unknown skill: gamma. The skills you can load: alpha, beta."
    assert "only the user runs it (/mine)" in user_only and "BODY-MARKER" not in user_only
    (alpha,) = last_results(model.requests[2])
    assert "BODY-MARKER" in alpha  # `/alpha` is taken as `alpha`.


async def test_no_skill_tool_without_a_skill_the_model_may_load(project: Path, home: Path) -> None:
    skill(user_skills(home), "mine", "description: M.\ndisable-model-invocation: true")
    model = ScriptedModel([Reply([Text("Hi.")])])
    session = await make_session(project, model)
    await drain(session.run("hello"))
    assert tool(model.requests[0], "Skill") is None
    assert "Skill" not in session.state.registry


async def test_an_untrusted_projects_skill_is_not_offered(project: Path, home: Path) -> None:
    skill(project / ".claude" / "skills", "deploy", "description: Deploys the project.")
    model = ScriptedModel([Reply([Text("Hi.")]), Reply([Text("Hi again.")])])
    untrusted = await make_session(project, model)
    await drain(untrusted.run("hello"))
    assert tool(model.requests[0], "Skill") is None
    assert any("not trusted" in n for n in untrusted.notices)

    trust(project)
    trusted = await make_session(project, model)
    await drain(trusted.run("hello"))
    spec = tool(model.requests[1], "Skill")
    assert spec is not None and "- deploy: Deploys the project." in spec.description


async def test_a_user_invocable_skill_runs_as_a_command_with_its_scope_and_model(
    project: Path, home: Path
) -> None:
    trust(project)
    skill(
        project / ".claude" / "skills",
        "release-notes",
        "description: Drafts release notes.\nallowed-tools: Read\nmodel: claude-haiku-4-5",
    )
    model = ScriptedModel(
        [
            Reply([ToolCall("Write", {"file_path": str(project / "NOTES.md"), "content": "x"})]),
            Reply([Text("Done.")]),
            Reply([Text("Next.")]),
        ]
    )
    session = await make_session(project, model, mode="bypassPermissions")
    run = await session.submit("/release-notes v2.0")
    assert isinstance(run, ScopedTurn)
    events = await drain(run)
    first = model.requests[0]
    prompt = first.messages[-1].text()
    assert "Release steps: read CHANGELOG.md for v2.0, then write NOTES.md. (BODY-MARKER)" in prompt
    assert first.model == "claude-haiku-4-5"
    assert {t.name for t in first.tools} == {"Read", "Glob", "Grep"}
    finished = {e.name: e for e in events if isinstance(e, ToolCallFinished)}
    assert finished["Write"].is_error and not (project / "NOTES.md").exists()

    await drain(await session.submit("next"))
    assert model.requests[2].model == "test-model"
    assert "Write" in {t.name for t in model.requests[2].tools}


async def test_context_and_the_black_box_show_the_skills(project: Path, home: Path, tmp_path: Path) -> None:
    skill(user_skills(home), "alpha", "description: Does alpha things.")
    skill(user_skills(home), "only-yours", "description: Yours.\ndisable-model-invocation: true")
    (user_skills(home) / "broken").mkdir()
    (user_skills(home) / "broken" / "SKILL.md").write_text("---\nname: [\n---\nBody")
    store = SessionStore(tmp_path / "sessions")
    deps = SessionDeps(
        config=AgentConfig(model="test-model"),
        model=ScriptedModel([]),
        workspace=DiskWorkspace(project),
        approver=None,  # type: ignore[arg-type]
        store=store,
    )
    session = await Session.start(deps)
    assert any("broken" in n and "skill skipped" in n for n in session.notices)
    events = await drain(await session.submit("/context"))
    (output,) = [e for e in events if isinstance(e, CommandOutput)]
    skills = output.data["skills"]
    assert skills["listed"] == ["alpha"] and skills["tokens"] > 0
    assert f"Skills listing (part of the tool definitions): {skills['tokens']:,} tokens, 1 skills." in (
        output.text
    )

    assert session.transcript is not None
    log = session.transcript.with_suffix(".log")
    started = next(r for r in map(json.loads, log.read_text().splitlines()) if r["kind"] == "session_started")
    assert [s["name"] for s in started["skills"]] == ["alpha", "only-yours"]
    assert started["skills"][1]["model_invocable"] is False
    assert len(started["skills_skipped"]) == 1 and "broken" in started["skills_skipped"][0]
    assert started["skills_listed"] == ["alpha"] and started["skills_listing_tokens"] > 0
    assert "Skill" in started["tools"]


async def test_a_loaded_skill_is_in_the_black_box(project: Path, home: Path, tmp_path: Path) -> None:
    skill(user_skills(home), "alpha", "description: A.\nallowed-tools: Read")
    store = SessionStore(tmp_path / "sessions")
    model = ScriptedModel([Reply([ToolCall("Skill", {"skill": "alpha"})]), Reply([Text("Ok.")])])
    deps = SessionDeps(
        config=AgentConfig(model="test-model"),
        model=model,
        workspace=DiskWorkspace(project),
        approver=None,  # type: ignore[arg-type]
        store=store,
    )
    session = await Session.start(deps)
    await drain(session.run("go"))
    assert session.transcript is not None
    records = [json.loads(line) for line in session.transcript.with_suffix(".log").read_text().splitlines()]
    (loaded,) = [r for r in records if r["kind"] == "skill_loaded"]
    assert loaded["name"] == "alpha" and loaded["by"] == "model" and loaded["allowed_tools"] == ["Read"]
    assert not isinstance(session.state.policy, ScopedPolicy)


async def test_a_subagent_started_while_a_skill_is_active_is_held_to_it(project: Path, home: Path) -> None:
    skill(user_skills(home), "look", "description: Looks.\nallowed-tools: Agent, Read")

    def respond(request):  # type: ignore[no-untyped-def]
        if "subagent" not in request.system[0].text[:400]:
            last = request.messages[-1]
            if last.text() == "go":
                return Reply([ToolCall("Skill", {"skill": "look"})])
            if "BODY-MARKER" in "".join(getattr(b, "content", "") for b in last.content):
                task = {"description": "Look", "prompt": "look around", "subagent_type": "general-purpose"}
                return Reply([ToolCall("Agent", task)])
            return Reply([Text("Parent done.")])
        if len(request.messages) == 1:
            return Reply([ToolCall("Bash", {"command": "touch made-by-sub.txt"})])
        return Reply([Text("Sub done.")])

    model = ScriptedModel([respond] * 5)
    session = await make_session(project, model, mode="bypassPermissions")
    events = await drain(session.run("go"))
    sub = [r for r in model.requests if "subagent" in r.system[0].text[:400]]
    assert len(sub) == 2
    assert "Bash" not in {t.name for t in sub[0].tools}
    nested = [e.event for e in events if isinstance(e, SubagentEvent)]
    finished = [e for e in nested if isinstance(e, ToolCallFinished)]
    assert [(f.name, f.is_error) for f in finished] == [("Bash", True)]
    assert not (project / "made-by-sub.txt").exists()


async def test_a_skill_inside_a_commands_turn_cannot_widen_it(project: Path, home: Path) -> None:
    trust(project)
    (project / ".claude" / "commands").mkdir(parents=True)
    (project / ".claude" / "commands" / "look.md").write_text("---\nallowed-tools: Read, Skill\n---\nLook.")
    skill(user_skills(home), "writer", "description: Writes.\nallowed-tools: Read, Write")
    model = ScriptedModel(
        [
            Reply([ToolCall("Skill", {"skill": "writer"})]),
            Reply([ToolCall("Write", {"file_path": str(project / "w.txt"), "content": "x"})]),
            Reply([Text("Done.")]),
        ]
    )
    session = await make_session(project, model, mode="bypassPermissions")
    base_policy = session.state.policy
    events = await drain(await session.submit("/look"))
    assert {t.name for t in model.requests[1].tools} == {"Read", "Glob", "Grep"}
    denied = [e for e in events if isinstance(e, PermissionDecided) and e.outcome == "deny"]
    assert [(d.name, d.rule) for d in denied] == [("Write", "allowed-tools of /look (allowed-tools)")]
    assert not (project / "w.txt").exists()
    assert session.state.policy is base_policy

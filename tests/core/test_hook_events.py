"""Hooks on every event (PostToolUse, UserPromptSubmit, Stop, SubagentStop, SessionStart,
SessionEnd, PreCompact, Notification): real `/bin/sh` hooks through whole sessions.

Each hook here appends its stdin (one JSON line) to a log file outside the project, so a test sees
exactly which hooks ran, in which order, with what input.
"""

from __future__ import annotations

import asyncio
import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from agentls.core.config import AgentConfig
from agentls.core.events import AgentEvent, Notice, TurnEnded
from agentls.core.hooks import HOOK_EVENTS, HookRunner, hooks_by_event, unsupported_events
from agentls.core.messages import Message, TextBlock, ToolResultBlock
from agentls.core.permission_report import format_report, permission_report
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.core.session import Session, SessionDeps
from agentls.core.session_hooks import subagent_stopped
from agentls.policy.loader import SettingsSources
from agentls.policy.settings_levels import Sourced
from agentls.store.sessions import SessionStore
from agentls.store.settings_files import TrustStore
from agentls.tools.bash import BashTool
from agentls.tools.edit import EditTool
from agentls.tools.read import ReadTool
from agentls.tools.registry import ToolRegistry
from agentls.workspace.disk import DiskWorkspace
from tests.core.fakes import ScriptedApprover, collect

# ---------------------------------------------------------------------------------------------
# Helpers


def q(path: Path) -> str:
    return shlex.quote(str(path))


def log_to(log: Path, then: str = "") -> str:
    """A hook command: append stdin as one line to `log`, then run `then`."""
    command = f"cat >> {q(log)}; echo >> {q(log)}"
    return f"{command}; {then}" if then else command


def prints(data: dict[str, Any]) -> str:
    return "printf '%s\\n' " + shlex.quote(json.dumps(data))


def entry(command: str, matcher: str | None = None, timeout: float | None = None) -> dict[str, Any]:
    hook: dict[str, Any] = {"type": "command", "command": command}
    if timeout is not None:
        hook["timeout"] = timeout
    group: dict[str, Any] = {"hooks": [hook]}
    if matcher is not None:
        group["matcher"] = matcher
    return group


def payloads(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def texts(message: Message) -> list[str]:
    return [b.text for b in message.content if isinstance(b, TextBlock)]


def notices(events: list[AgentEvent]) -> list[Notice]:
    return [e for e in events if isinstance(e, Notice)]


def end_of(events: list[AgentEvent]) -> TurnEnded:
    last = events[-1]
    assert isinstance(last, TurnEnded)
    return last


class World:
    """A project, an isolated home and config directory (user settings), and sessions on them."""

    def __init__(self, tmp_path: Path, project: Path) -> None:
        self.project = project
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.config = tmp_path / "config"
        self.log = tmp_path / "hooks.log"
        self.trust = TrustStore(self.config / "trusted.json")
        self.store: SessionStore | None = None

    @property
    def sources(self) -> SettingsSources:
        return SettingsSources(project=self.project, home=self.home, config=self.config, managed=())

    def hooks(self, **events: list[dict[str, Any]]) -> None:
        """User settings with these hooks (and no sandbox: the Bash sandbox is not the subject)."""
        write_json(self.config / "settings.json", {"sandbox": {"enabled": False}, "hooks": events})

    def deps(self, model: ScriptedModel, approver: ScriptedApprover | None, **config: Any) -> SessionDeps:
        cfg = AgentConfig(model="test-model", retry_base_delay_s=0.0, **config)
        return SessionDeps(
            config=cfg,
            model=model,
            workspace=DiskWorkspace(self.project),
            approver=approver or ScriptedApprover([]),
            settings=self.sources,
            registry=ToolRegistry([BashTool(), EditTool(), ReadTool()]),
            store=self.store,
        )

    async def session(
        self, model: ScriptedModel, approver: ScriptedApprover | None = None, **config: Any
    ) -> Session:
        return await Session.start(self.deps(model, approver, **config))


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture
def world(tmp_path: Path, project: Path) -> World:
    return World(tmp_path, project)


def common_fields(payload: dict[str, Any], world: World, event: str) -> None:
    assert payload["hook_event_name"] == event
    assert payload["cwd"] == str(world.project)
    assert payload["permission_mode"] == "default"
    assert isinstance(payload["session_id"], str) and payload["session_id"]
    assert "transcript_path" in payload


# ---------------------------------------------------------------------------------------------
# Settings


def test_every_event_is_read_and_unknown_events_are_named() -> None:
    value = {event: [entry(f"echo {event}")] for event in HOOK_EVENTS}
    value["PermissionRequest"] = [entry("x")]
    sourced = Sourced(value, "user", Path("/cfg/settings.json"))
    hooks, warnings = hooks_by_event([sourced])
    assert warnings == []
    assert {event: [h.command for h in hooks[event]] for event in HOOK_EVENTS} == {
        event: [f"echo {event}"] for event in HOOK_EVENTS
    }
    assert all(h.event == event for event in HOOK_EVENTS for h in hooks[event])
    [unknown] = unsupported_events([sourced])
    assert "PermissionRequest" in unknown and "/cfg/settings.json" in unknown


def test_a_matcher_may_list_names_with_commas() -> None:
    hooks, _ = hooks_by_event([Sourced({"SessionStart": [entry("x", "startup,resume")]}, "user", None)])
    [hook] = hooks["SessionStart"]
    assert hook.applies_to("startup") and hook.applies_to("resume")
    assert not hook.applies_to("compact")


def test_agentls_permissions_lists_the_hooks_of_every_event(world: World) -> None:
    world.hooks(
        PreToolUse=[entry("guard", "Bash")],
        PreCompact=[entry("before-compact", "manual")],
        SessionEnd=[entry("bye")],
        Unheard=[entry("never")],
    )
    report = permission_report(world.sources, store=SessionStore(world.home / "sessions"))
    assert [(h["event"], h["command"]) for h in report["hooks"]] == [
        ("PreToolUse", "guard"),
        ("PreCompact", "before-compact"),
        ("SessionEnd", "bye"),
    ]
    assert any("Unheard" in w for w in report["warnings"])
    text = format_report(report)
    assert "## Hooks" in text and "- PreCompact `manual` → `before-compact`" in text


# ---------------------------------------------------------------------------------------------
# UserPromptSubmit


async def test_user_prompt_submit_gets_the_prompt(world: World) -> None:
    world.hooks(UserPromptSubmit=[entry(log_to(world.log))])
    model = ScriptedModel([Reply([Text("hi")])])
    session = await world.session(model)
    await collect(session, "what is 2+2?")
    [payload] = payloads(world.log)
    common_fields(payload, world, "UserPromptSubmit")
    assert payload["prompt"] == "what is 2+2?"
    assert payload["session_id"] == session.id
    assert texts(model.requests[0].messages[-1]) == ["what is 2+2?"]


async def test_exit_2_keeps_the_prompt_from_the_model_and_tells_the_user(world: World) -> None:
    world.hooks(UserPromptSubmit=[entry(log_to(world.log, "echo 'no secrets in prompts' >&2; exit 2"))])
    model = ScriptedModel([Reply([Text("second answer")])])
    session = await world.session(model)
    events = await collect(session, "my password is hunter2")
    assert model.requests == []
    [notice] = [n for n in notices(events) if "UserPromptSubmit" in n.message]
    assert notice.level == "warning" and "no secrets in prompts" in notice.message
    assert end_of(events).stop.kind == "end_turn"
    assert not any("hunter2" in t for m in session.state.history for t in texts(m))
    # The session goes on: with the hook gone, the next prompt is sent, without the blocked one.
    world.hooks()
    await collect(session, "hello")
    [request] = model.requests
    assert [texts(m) for m in request.messages] == [["hello"]]


async def test_a_json_block_keeps_the_prompt_back_with_its_reason(world: World) -> None:
    world.hooks(UserPromptSubmit=[entry(prints({"decision": "block", "reason": "ticket number missing"}))])
    model = ScriptedModel([])
    events = await collect(await world.session(model), "fix it")
    assert model.requests == []
    assert any("ticket number missing" in n.message for n in notices(events))


async def test_continue_false_keeps_the_prompt_back_with_the_stop_reason(world: World) -> None:
    world.hooks(UserPromptSubmit=[entry(prints({"continue": False, "stopReason": "out of office"}))])
    model = ScriptedModel([])
    events = await collect(await world.session(model), "fix it")
    assert model.requests == []
    assert any("stopped the turn" in n.message and "out of office" in n.message for n in notices(events))


async def test_additional_context_goes_with_the_prompt(world: World) -> None:
    context = {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": "Sprint 42"}}
    world.hooks(UserPromptSubmit=[entry(prints(context)), entry("echo 'plain output is context too'")])
    model = ScriptedModel([Reply([Text("ok")])])
    await collect(await world.session(model), "plan the work")
    sent = texts(model.requests[0].messages[-1])
    assert sent[0] == "plan the work"
    assert any("Sprint 42" in t and "UserPromptSubmit" in t for t in sent[1:])
    assert any("plain output is context too" in t for t in sent[1:])


async def test_a_hook_that_times_out_is_a_warning_and_the_prompt_is_sent(world: World) -> None:
    world.hooks(UserPromptSubmit=[entry("sleep 30; exit 2", timeout=0.3)])
    model = ScriptedModel([Reply([Text("ok")])])
    events = await collect(await world.session(model), "go")
    assert len(model.requests) == 1
    assert any(n.level == "warning" and "timed out after 0.3 s" in n.message for n in notices(events))
    assert end_of(events).stop.kind == "end_turn"


async def test_a_hook_that_cannot_run_is_a_warning(world: World) -> None:
    world.hooks(UserPromptSubmit=[entry("/nonexistent/hook-binary")])
    model = ScriptedModel([Reply([Text("ok")])])
    events = await collect(await world.session(model), "go")
    assert len(model.requests) == 1
    assert any(
        "UserPromptSubmit hook" in n.message and "exit status 127" in n.message for n in notices(events)
    )


async def test_project_hooks_run_only_in_a_trusted_folder(world: World) -> None:
    write_json(
        world.project / ".agentls" / "settings.json", {"hooks": {"UserPromptSubmit": [entry("exit 2")]}}
    )
    model = ScriptedModel([Reply([Text("ok")]), Reply([Text("ok")])])
    session = await world.session(model)
    await collect(session, "untrusted")
    assert len(model.requests) == 1
    world.trust.trust(world.project)
    trusted = await world.session(ScriptedModel([]))
    events = await collect(trusted, "trusted")
    assert any("blocked the prompt" in n.message for n in notices(events))


# ---------------------------------------------------------------------------------------------
# SessionStart, SessionEnd


async def test_session_start_context_reaches_the_first_request_only(world: World) -> None:
    world.hooks(
        SessionStart=[
            entry(log_to(world.log), "startup"),
            entry(
                prints(
                    {
                        "hookSpecificOutput": {
                            "hookEventName": "SessionStart",
                            "additionalContext": "On call: Ada",
                        }
                    }
                )
            ),
        ]
    )
    model = ScriptedModel([Reply([Text("one")]), Reply([Text("two")])])
    session = await world.session(model)
    [payload] = payloads(world.log)
    common_fields(payload, world, "SessionStart")
    assert payload["source"] == "startup"
    await collect(session, "first")
    await collect(session, "second")
    first = texts(model.requests[0].messages[0])
    assert "On call: Ada" in first[0] and 'event="SessionStart"' in first[0]
    assert first[1] == "first"
    assert texts(model.requests[1].messages[-1]) == ["second"]


async def test_session_start_exit_2_is_shown_and_the_session_starts(world: World) -> None:
    world.hooks(SessionStart=[entry("echo 'index is stale' >&2; exit 2")])
    session = await world.session(ScriptedModel([]))
    assert any("SessionStart" in n and "index is stale" in n for n in session.notices)
    assert session.state.pending_context == []


async def test_resume_fires_session_start_with_source_resume(world: World, tmp_path: Path) -> None:
    world.store = SessionStore(tmp_path / "sessions")
    world.hooks(SessionStart=[entry(log_to(world.log), "resume")])
    session = await world.session(ScriptedModel([Reply([Text("ok")])]))
    await collect(session, "hello")
    session.close()
    assert payloads(world.log) == []  # The matcher names only `resume`.
    resumed = await Session.resume(world.deps(ScriptedModel([]), None), session.id)
    [payload] = payloads(world.log)
    assert payload["source"] == "resume"
    assert payload["session_id"] == session.id
    assert payload["transcript_path"] == str(resumed.transcript)


async def test_session_end_runs_when_the_session_ends(world: World) -> None:
    world.hooks(SessionEnd=[entry(log_to(world.log)), entry(log_to(world.log), "clear")])
    session = await world.session(ScriptedModel([]))
    events: list[AgentEvent] = []
    await session.end(emit=events.append)
    [payload] = payloads(world.log)
    common_fields(payload, world, "SessionEnd")
    assert payload["reason"] == "other"
    assert events == []


async def test_a_failing_session_end_hook_is_reported_and_the_session_still_closes(world: World) -> None:
    world.hooks(SessionEnd=[entry("echo oops; exit 1")])
    session = await world.session(ScriptedModel([]))
    events: list[AgentEvent] = []
    await session.end(emit=events.append)
    assert any("SessionEnd hook" in n.message and "oops" in n.message for n in notices(events))


# ---------------------------------------------------------------------------------------------
# PostToolUse


def read_call(world: World) -> ToolCall:
    (world.project / "notes.md").write_text("hello\n")
    return ToolCall("Read", {"file_path": str(world.project / "notes.md")})


def tool_result(model: ScriptedModel, request: int = 1) -> ToolResultBlock:
    [result] = [b for b in model.requests[request].messages[-1].content if isinstance(b, ToolResultBlock)]
    return result


async def test_post_tool_use_gets_the_call_and_its_result(world: World) -> None:
    world.hooks(PostToolUse=[entry(log_to(world.log), "Read"), entry(log_to(world.log), "Bash|Edit")])
    model = ScriptedModel([Reply([read_call(world)]), Reply([Text("ok")])])
    await collect(await world.session(model), "read it")
    [payload] = payloads(world.log)
    common_fields(payload, world, "PostToolUse")
    assert payload["tool_name"] == "Read"
    assert payload["tool_input"] == {"file_path": str(world.project / "notes.md")}
    assert payload["tool_use_id"].startswith("toolu_")
    assert payload["tool_response"]["success"] is True
    assert "hello" in payload["tool_response"]["output"]


async def test_post_tool_use_exit_2_feedback_goes_to_the_model(world: World) -> None:
    world.hooks(PostToolUse=[entry("echo 'lint: trailing whitespace on line 1' >&2; exit 2", "Read")])
    model = ScriptedModel([Reply([read_call(world)]), Reply([Text("ok")])])
    await collect(await world.session(model), "read it")
    result = tool_result(model)
    assert not result.is_error
    assert "hello" in result.content  # The tool ran; its output is kept.
    assert "PostToolUse hook feedback:\nlint: trailing whitespace on line 1" in result.content


async def test_post_tool_use_block_and_context_go_to_the_model(world: World) -> None:
    answer = {
        "decision": "block",
        "reason": "format the file",
        "hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "style guide: PEP 8"},
    }
    world.hooks(PostToolUse=[entry(prints(answer))])
    model = ScriptedModel([Reply([read_call(world)]), Reply([Text("ok")])])
    await collect(await world.session(model), "read it")
    content = tool_result(model).content
    assert "format the file" in content and "style guide: PEP 8" in content


async def test_post_tool_use_does_not_run_for_a_failed_or_denied_call(world: World) -> None:
    world.hooks(PostToolUse=[entry(log_to(world.log))])
    missing = ToolCall("Read", {"file_path": str(world.project / "missing.md")})
    bash = ToolCall("Bash", {"command": "touch x"})
    model = ScriptedModel([Reply([missing, bash]), Reply([Text("ok")])])
    await collect(await world.session(model, ScriptedApprover(["reject_once"])), "go")
    assert payloads(world.log) == []


async def test_post_tool_use_continue_false_ends_the_turn_after_the_results(world: World) -> None:
    world.hooks(PostToolUse=[entry(prints({"continue": False, "stopReason": "budget review"}))])
    model = ScriptedModel([Reply([read_call(world)]), Reply([Text("never asked")])])
    session = await world.session(model)
    events = await collect(session, "read it")
    assert len(model.requests) == 1
    assert end_of(events).stop.kind == "end_turn"
    assert any("ended the turn" in n.message and "budget review" in n.message for n in notices(events))
    last = session.state.history[-1]
    assert last.role == "user" and isinstance(last.content[0], ToolResultBlock)


# ---------------------------------------------------------------------------------------------
# Stop


STOP_ONCE = (
    'input=$(cat); printf "%s\\n" "$input" >> {log}; '
    'case "$input" in *\'"stop_hook_active": true\'*) exit 0;; esac; '
    "echo 'the tests were not run' >&2; exit 2"
)


async def test_a_stop_hook_makes_the_model_go_on_once(world: World) -> None:
    world.hooks(Stop=[entry(STOP_ONCE.format(log=q(world.log)))])
    model = ScriptedModel([Reply([Text("done")]), Reply([Text("ran them, all pass")])])
    session = await world.session(model)
    events = await collect(session, "fix it")
    assert len(model.requests) == 2
    assert texts(model.requests[1].messages[-1]) == ["Stop hook feedback:\nthe tests were not run"]
    first, second = payloads(world.log)
    common_fields(first, world, "Stop")
    assert (first["stop_hook_active"], second["stop_hook_active"]) == (False, True)
    end = end_of(events)
    assert end.stop.kind == "end_turn" and end.text == "ran them, all pass"


async def test_a_json_stop_block_gives_its_reason(world: World) -> None:
    block_once = 'input=$(cat); case "$input" in *\'"stop_hook_active": true\'*) exit 0;; esac; ' + prints(
        {"decision": "block", "reason": "update the changelog"}
    )
    world.hooks(Stop=[entry(block_once)])
    model = ScriptedModel([Reply([Text("done")]), Reply([Text("changelog updated")])])
    await collect(await world.session(model), "fix it")
    assert texts(model.requests[1].messages[-1]) == ["Stop hook feedback:\nupdate the changelog"]


async def test_a_stop_hook_that_always_blocks_is_bounded_by_max_turns(world: World) -> None:
    world.hooks(Stop=[entry("echo again >&2; exit 2")])
    model = ScriptedModel([Reply([Text(f"answer {n}")]) for n in range(3)])
    events = await collect(await world.session(model, max_turns=3), "go")
    assert len(model.requests) == 3
    assert end_of(events).stop.kind == "max_turns"


async def test_stop_continue_false_wins_over_a_block(world: World) -> None:
    world.hooks(Stop=[entry(prints({"continue": False, "decision": "block", "reason": "x"}))])
    model = ScriptedModel([Reply([Text("done")])])
    events = await collect(await world.session(model), "go")
    assert len(model.requests) == 1
    assert end_of(events).stop.kind == "end_turn"


async def test_stop_hooks_do_not_run_when_the_turn_did_not_end_normally(world: World) -> None:
    world.hooks(Stop=[entry(log_to(world.log, "exit 2"))], UserPromptSubmit=[entry("exit 2")])
    await collect(await world.session(ScriptedModel([])), "blocked prompt")
    assert payloads(world.log) == []


async def test_a_subagent_session_fires_no_prompt_or_stop_hooks(world: World) -> None:
    world.hooks(UserPromptSubmit=[entry(log_to(world.log))], Stop=[entry(log_to(world.log, "exit 2"))])
    model = ScriptedModel([Reply([Text("done")])])
    session = await world.session(model)
    session.state.is_subagent = True
    events = await collect(session, "subtask")
    assert payloads(world.log) == []
    assert len(model.requests) == 1 and end_of(events).stop.kind == "end_turn"


async def test_subagent_stop_runs_on_the_parents_hooks(world: World) -> None:
    world.hooks(SubagentStop=[entry(log_to(world.log, "echo 'also check the docs' >&2; exit 2"), "reviewer")])
    parent = await world.session(ScriptedModel([]))
    events: list[AgentEvent] = []
    go_on = await subagent_stopped(
        parent.state,
        agent_id="sub-1",
        agent_type="reviewer",
        agent_transcript_path="/t/sub-1.jsonl",
        stop_hook_active=False,
        emit=events.append,
    )
    assert go_on == "SubagentStop hook feedback:\nalso check the docs"
    [payload] = payloads(world.log)
    common_fields(payload, world, "SubagentStop")
    assert payload["session_id"] == parent.id
    assert (payload["agent_id"], payload["agent_type"], payload["stop_hook_active"]) == (
        "sub-1",
        "reviewer",
        False,
    )
    assert payload["agent_transcript_path"] == "/t/sub-1.jsonl"
    other = await subagent_stopped(
        parent.state,
        agent_id="sub-2",
        agent_type="explorer",
        agent_transcript_path="",
        stop_hook_active=False,
        emit=events.append,
    )
    assert other is None  # The matcher names the agent type.


async def test_a_subagents_runner_speaks_for_its_parent(project: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    runner = HookRunner(workspace=DiskWorkspace(project), session_id="sub-1")
    hooks, _ = hooks_by_event([Sourced({"PostToolUse": [entry(log_to(log))]}, "user", None)])
    runner.set_hooks(hooks)
    runner.set_subagent(
        agent_id="sub-1", agent_type="reviewer", parent_session_id="parent", parent_transcript_path="/p.jsonl"
    )
    await runner.post_tool_use("Read", {"file_path": "a"}, "toolu_1", {"success": True, "output": "x"})
    [payload] = payloads(log)
    assert (payload["session_id"], payload["transcript_path"]) == ("parent", "/p.jsonl")
    assert (payload["agent_id"], payload["agent_type"]) == ("sub-1", "reviewer")


# ---------------------------------------------------------------------------------------------
# Notification


async def test_a_permission_prompt_notifies(world: World) -> None:
    world.hooks(Notification=[entry(log_to(world.log), "permission_prompt")])
    model = ScriptedModel([Reply([ToolCall("Bash", {"command": "touch made.txt"})]), Reply([Text("ok")])])
    approver = ScriptedApprover(["reject_once"])
    await collect(await world.session(model, approver), "go")
    assert len(approver.asked) == 1
    [payload] = payloads(world.log)
    common_fields(payload, world, "Notification")
    assert payload["notification_type"] == "permission_prompt"
    assert "permission" in payload["message"] and "Bash" in payload["message"]


async def test_a_finished_turn_notifies_that_it_waits(world: World) -> None:
    world.hooks(Notification=[entry(log_to(world.log, "echo 'no display' >&2; exit 2"))])
    model = ScriptedModel([Reply([Text("ok")])])
    events = await collect(await world.session(model), "go")
    [payload] = payloads(world.log)
    assert payload["notification_type"] == "idle_prompt"
    assert payload["message"] == "agentls is waiting for your input"
    # Exit 2 cannot block a notification: its output is shown, before the turn's end.
    [shown] = [n for n in notices(events) if "Notification" in n.message]
    assert "no display" in shown.message
    assert events.index(shown) < len(events) - 1 and end_of(events).stop.kind == "end_turn"


# ---------------------------------------------------------------------------------------------
# PreCompact and SessionStart after a compaction


async def test_manual_compaction_runs_pre_compact_then_session_start_compact(world: World) -> None:
    world.hooks(
        PreCompact=[entry(log_to(world.log), "manual")],
        SessionStart=[
            entry(
                log_to(
                    world.log,
                    prints(
                        {
                            "hookSpecificOutput": {
                                "hookEventName": "SessionStart",
                                "additionalContext": "re-read TODO",
                            }
                        }
                    ),
                ),
                "compact",
            )
        ],
    )
    replies = [Reply([Text(f"answer {n} " + "words " * 200)]) for n in range(3)]
    model = ScriptedModel(
        [
            *replies,
            Reply([Text("<summary>The user asked three questions; all were answered.</summary>")]),
            Reply([Text("after")]),
        ]
    )
    session = await world.session(model)
    for n in range(3):
        await collect(session, f"question {n} " + "more " * 200)
    events: list[AgentEvent] = []
    outcome = await session.compact("keep the API notes", events.append)
    assert outcome.compacted, outcome.message
    before, after = payloads(world.log)
    common_fields(before, world, "PreCompact")
    assert (before["trigger"], before["custom_instructions"]) == ("manual", "keep the API notes")
    assert (after["hook_event_name"], after["source"]) == ("SessionStart", "compact")
    await collect(session, "next")
    assert any("re-read TODO" in t for t in texts(model.requests[-1].messages[-1]))


async def test_a_failing_pre_compact_hook_is_a_warning_and_does_not_block(world: World) -> None:
    world.hooks(PreCompact=[entry("echo broken; exit 1")])
    replies = [Reply([Text(f"answer {n} " + "words " * 200)]) for n in range(2)]
    model = ScriptedModel(
        [*replies, Reply([Text("<summary>The user asked three questions; all were answered.</summary>")])]
    )
    session = await world.session(model)
    for n in range(2):
        await collect(session, f"question {n} " + "more " * 200)
    events: list[AgentEvent] = []
    outcome = await session.compact(None, events.append)
    assert outcome.compacted, outcome.message
    assert any(n.level == "warning" and "PreCompact hook" in n.message for n in notices(events))


# ---------------------------------------------------------------------------------------------
# The black box


async def test_every_hook_run_is_in_the_black_box(world: World, tmp_path: Path) -> None:
    world.store = SessionStore(tmp_path / "sessions")
    world.hooks(
        SessionStart=[entry("true")],
        UserPromptSubmit=[entry("echo 'not now' >&2; exit 2")],
        Notification=[entry("exit 1")],
    )
    session = await world.session(ScriptedModel([]))
    await collect(session, "go")
    box = session.state.blackbox.path
    assert box is not None
    records = [json.loads(line) for line in box.read_text().splitlines()]
    hooks = [r for r in records if r["kind"] == "hook"]
    assert [(r["event"], r["outcome"]) for r in hooks] == [
        ("SessionStart", "ok"),
        ("UserPromptSubmit", "block"),
        ("Notification", "failed"),
    ]
    assert hooks[1]["exit_code"] == 2 and hooks[1]["reason"] == "not now"
    assert hooks[2]["matched"] == "idle_prompt"


async def test_pre_tool_use_continue_false_denies_the_call_and_ends_the_turn(world: World) -> None:
    world.hooks(PreToolUse=[entry(prints({"continue": False, "stopReason": "change freeze"}), "Bash")])
    model = ScriptedModel([Reply([ToolCall("Bash", {"command": "touch made.txt"})]), Reply([Text("no")])])
    approver = ScriptedApprover([])
    events = await collect(await world.session(model, approver), "go")
    assert len(model.requests) == 1 and approver.asked == []
    assert not (world.project / "made.txt").exists()
    assert end_of(events).stop.kind == "end_turn"
    assert any("ended the turn: change freeze" in n.message for n in notices(events))


async def test_a_cancel_during_post_tool_use_keeps_the_result_of_the_call_that_ran(
    world: World, tmp_path: Path
) -> None:
    started = tmp_path / "hook-started"
    world.hooks(PostToolUse=[entry(f"touch {q(started)}; sleep 30")])
    model = ScriptedModel([Reply([read_call(world)]), Reply([Text("never")])])
    session = await world.session(model)
    turn = session.run("read it")
    events: list[AgentEvent] = []

    async def cancel_when_the_hook_runs() -> None:
        for _ in range(2000):  # At most 20 s.
            if started.exists():
                break
            await asyncio.sleep(0.01)
        turn.cancel()

    canceller = asyncio.create_task(cancel_when_the_hook_runs())
    async with asyncio.timeout(20):
        events = [e async for e in turn.events()]
    await canceller
    assert end_of(events).stop.kind == "cancelled"
    [result] = [b for b in session.state.history[-1].content if isinstance(b, ToolResultBlock)]
    assert not result.is_error and "hello" in result.content

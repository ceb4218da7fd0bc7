"""PreToolUse command hooks: parsing their settings, running real `/bin/sh` hooks, and a whole session.

Hooks here are real shell commands run through a `DiskWorkspace`. Whether a hook ran at all is
checked through a marker file it writes (outside the project, so the project stays clean).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from agentls.core.config import AgentConfig
from agentls.core.events import Notice, PermissionDecided
from agentls.core.hooks import DEFAULT_TIMEOUT_S, CommandHook, HookRunner, pre_tool_use_hooks
from agentls.core.journal import MemoryJournal
from agentls.core.messages import ToolResultBlock
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.core.session import Session, SessionDeps
from agentls.policy.loader import SettingsSources
from agentls.policy.settings_levels import Sourced
from agentls.store.settings_files import TrustStore
from agentls.tools.bash import BashTool
from agentls.tools.edit import EditTool
from agentls.tools.read import ReadTool
from agentls.tools.registry import ToolRegistry
from agentls.workspace.disk import DiskWorkspace
from tests.core.fakes import ScriptedApprover, collect

# ---------------------------------------------------------------------------------------------
# Helpers


def hooks_setting(*groups: dict[str, Any]) -> dict[str, Any]:
    return {"hooks": {"PreToolUse": list(groups)}}


def group(matcher: str, *commands: str, timeout: float | None = None) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    for command in commands:
        entry: dict[str, Any] = {"type": "command", "command": command}
        if timeout is not None:
            entry["timeout"] = timeout
        entries.append(entry)
    return {"matcher": matcher, "hooks": entries}


def sourced(
    *groups: dict[str, Any], level: str = "user", path: Path | None = Path("/cfg/settings.json")
) -> Sourced:
    return Sourced(hooks_setting(*groups)["hooks"], level, path)


def answer(decision: str, reason: str = "") -> str:
    """A hook command printing a hookSpecificOutput answer."""
    out = {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }
    }
    return "printf '%s\\n' " + shlex.quote(json.dumps(out))


def touch(marker: Path) -> str:
    return f"touch {shlex.quote(str(marker))}"


def hook(command: str, matcher: str = "", timeout: float = DEFAULT_TIMEOUT_S) -> CommandHook:
    return CommandHook(matcher, command, timeout, "test settings")


def runner(project: Path, *hooks: CommandHook) -> HookRunner:
    return HookRunner(list(hooks), workspace=DiskWorkspace(project), session_id="sess-1")


async def run_bash(r: HookRunner, command: str = "ls", *, mode: str = "default") -> list[Any]:
    return await r.pre_tool_use("Bash", {"command": command}, "toolu_1", mode)


# ---------------------------------------------------------------------------------------------
# Parsing hook settings


@pytest.mark.parametrize(
    ("matcher", "hits", "misses"),
    [
        ("", ["Bash", "Edit", "mcp__github__create_issue"], []),
        ("*", ["Bash", "Read", "mcp__x__y"], []),
        ("Bash", ["Bash"], ["Bash2", "bash", "Edit", "BashX"]),
        ("Bash|Edit", ["Bash", "Edit"], ["Write", "Bash|Edit", "BashEdit", "Edi"]),
        ("Edit|MultiEdit|Write", ["Edit", "MultiEdit", "Write"], ["Read", "NotebookEdit"]),
        ("mcp__github__.*", ["mcp__github__create_issue"], ["mcp__gitlab__x", "Read", "xmcp__github__a"]),
        ("Notebook.*", ["NotebookEdit", "NotebookRead"], ["Edit", "MyNotebookEdit"]),
        ("(Read|Grep)", ["Read", "Grep"], ["Glob", "ReadX"]),
    ],
)
def test_matcher_forms(matcher: str, hits: list[str], misses: list[str]) -> None:
    [parsed], warnings = pre_tool_use_hooks([sourced(group(matcher, "true"))])
    assert warnings == []
    assert [t for t in hits if parsed.applies_to(t)] == hits
    assert [t for t in misses if parsed.applies_to(t)] == []


def test_missing_matcher_matches_every_tool() -> None:
    [parsed], warnings = pre_tool_use_hooks([sourced({"hooks": [{"type": "command", "command": "true"}]})])
    assert warnings == []
    assert parsed.matcher == ""
    assert parsed.applies_to("Bash") and parsed.applies_to("Anything")


def test_invalid_regex_matcher_is_a_warning_and_matches_nothing() -> None:
    hooks, warnings = pre_tool_use_hooks([sourced(group("Bash(", "true"))])
    [warning] = warnings
    assert "'Bash('" in warning and "not a valid regular expression" in warning
    assert "user settings (/cfg/settings.json)" in warning
    assert not any(h.applies_to(t) for h in hooks for t in ("Bash", "Bash(", "Edit"))
    assert not HookRunner(hooks, workspace=DiskWorkspace(Path("/")), session_id="s").any_for("Bash")


def test_hooks_of_every_level_are_collected_in_order_with_their_source() -> None:
    hooks, warnings = pre_tool_use_hooks(
        [
            sourced(group("Bash", "one", "two", timeout=5), level="managed", path=Path("/etc/m.json")),
            sourced(group("Edit", "three"), level="cli", path=None),
            sourced(group("", "four")),
        ]
    )
    assert warnings == []
    assert [(h.command, h.matcher, h.timeout_s) for h in hooks] == [
        ("one", "Bash", 5.0),
        ("two", "Bash", 5.0),
        ("three", "Edit", DEFAULT_TIMEOUT_S),
        ("four", "", DEFAULT_TIMEOUT_S),
    ]
    assert hooks[0].source == "managed settings (/etc/m.json)"
    assert hooks[2].source == "cli settings (the command line)"
    assert hooks[3].source == "user settings (/cfg/settings.json)"


def test_non_command_hooks_are_ignored_with_a_warning() -> None:
    hooks, warnings = pre_tool_use_hooks(
        [
            sourced(
                {
                    "matcher": "Bash",
                    "hooks": [
                        {"type": "prompt", "prompt": "Is this safe?"},
                        {"command": "no type"},
                        "just a string",
                        {"type": "command", "command": "kept"},
                    ],
                }
            )
        ]
    )
    assert [h.command for h in hooks] == ["kept"]
    assert len(warnings) == 3
    assert all("only `command` hooks are supported" in w for w in warnings)


@pytest.mark.parametrize("timeout", [0, -5, "10", True, None, [1]])
def test_a_bad_timeout_is_a_warning_and_the_default_is_used(timeout: object) -> None:
    [parsed], warnings = pre_tool_use_hooks(
        [sourced({"matcher": "Bash", "hooks": [{"type": "command", "command": "x", "timeout": timeout}]})]
    )
    [warning] = warnings
    assert "timeout must be a positive number" in warning
    assert parsed.timeout_s == DEFAULT_TIMEOUT_S


def test_a_fractional_timeout_is_kept() -> None:
    [parsed], warnings = pre_tool_use_hooks([sourced(group("Bash", "x", timeout=0.25))])
    assert warnings == [] and parsed.timeout_s == 0.25


@pytest.mark.parametrize(
    ("value", "expect"),
    [
        ({"PreToolUse": {"matcher": "Bash"}}, "hooks.PreToolUse must be a list"),
        ({"PreToolUse": [{"matcher": "Bash"}]}, "needs a `hooks` list"),
        ({"PreToolUse": [{"matcher": "Bash", "hooks": "true"}]}, "needs a `hooks` list"),
        ({"PreToolUse": ["Bash"]}, "needs a `hooks` list"),
        ({"PreToolUse": [{"matcher": 3, "hooks": []}]}, "matcher must be a string"),
        ({"PreToolUse": [{"hooks": [{"type": "command"}]}]}, "needs a `command` string"),
        ({"PreToolUse": [{"hooks": [{"type": "command", "command": "  "}]}]}, "needs a `command` string"),
        ({"PreToolUse": [{"hooks": [{"type": "command", "command": ["ls"]}]}]}, "needs a `command` string"),
    ],
)
def test_malformed_entries_are_warnings(value: dict[str, Any], expect: str) -> None:
    hooks, warnings = pre_tool_use_hooks([Sourced(value, "project", Path("/p/.agentls/settings.json"))])
    assert hooks == []
    [warning] = warnings
    assert expect in warning
    assert "project settings (/p/.agentls/settings.json)" in warning


def test_other_events_and_non_objects_are_not_pre_tool_use_hooks() -> None:
    other = Sourced({"PostToolUse": [group("", "x")], "Stop": [group("", "y")]}, "user", None)
    junk = Sourced(["not", "an", "object"], "user", None)
    assert pre_tool_use_hooks([other, junk]) == ([], [])


# ---------------------------------------------------------------------------------------------
# Running real hooks


async def test_exit_2_denies_with_the_hook_output_as_reason(project: Path) -> None:
    r = runner(project, hook("echo 'no rm here' >&2; exit 2"))
    [verdict] = await run_bash(r)
    assert verdict.decision == "deny"
    assert verdict.reason == "no rm here"
    assert verdict.problem is None


async def test_exit_2_without_output_still_denies(project: Path) -> None:
    [verdict] = await run_bash(runner(project, hook("exit 2")))
    assert verdict.decision == "deny"
    assert verdict.reason  # A default reason, never empty.


@pytest.mark.parametrize("decision", ["allow", "deny", "ask"])
async def test_exit_0_json_answers(project: Path, decision: str) -> None:
    [verdict] = await run_bash(runner(project, hook(answer(decision, f"because {decision}"))))
    assert verdict.decision == decision
    assert verdict.reason == f"because {decision}"
    assert verdict.problem is None


async def test_json_answer_after_log_lines_counts(project: Path) -> None:
    command = "echo 'checking the command...'; " + answer("deny", "not today")
    [verdict] = await run_bash(runner(project, hook(command)))
    assert (verdict.decision, verdict.reason) == ("deny", "not today")


async def test_json_answer_without_a_reason_gets_one(project: Path) -> None:
    command = "printf '%s' " + shlex.quote(json.dumps({"hookSpecificOutput": {"permissionDecision": "ask"}}))
    [verdict] = await run_bash(runner(project, hook(command)))
    assert verdict.decision == "ask"
    assert "ask" in verdict.reason


@pytest.mark.parametrize(
    ("output", "decision", "reason"),
    [
        ({"decision": "block", "reason": "legacy says no"}, "deny", "legacy says no"),
        ({"decision": "approve", "reason": "legacy says yes"}, "allow", "legacy says yes"),
    ],
)
async def test_legacy_decision_answers(
    project: Path, output: dict[str, str], decision: str, reason: str
) -> None:
    command = "printf '%s' " + shlex.quote(json.dumps(output))
    [verdict] = await run_bash(runner(project, hook(command)))
    assert (verdict.decision, verdict.reason, verdict.problem) == (decision, reason, None)


@pytest.mark.parametrize(
    "command",
    [
        "true",
        "echo 'just chatting'",
        "printf '%s' '[1, 2]'",
        "printf '%s' '{\"continue\": true}'",
        "printf '%s' '{\"decision\": \"undefined\"}'",
    ],
)
async def test_exit_0_without_an_answer_has_no_opinion(project: Path, command: str) -> None:
    [verdict] = await run_bash(runner(project, hook(command)))
    assert verdict.decision is None and verdict.problem is None


async def test_unknown_permission_decision_is_a_problem(project: Path) -> None:
    [verdict] = await run_bash(runner(project, hook(answer("maybe"))))
    assert verdict.decision is None
    assert verdict.problem is not None and "'maybe'" in verdict.problem


@pytest.mark.parametrize("status", [1, 3, 127])
async def test_other_exit_status_is_no_decision_and_a_problem(project: Path, status: int) -> None:
    [verdict] = await run_bash(runner(project, hook(f"echo 'hook broke'; exit {status}")))
    assert verdict.decision is None
    assert verdict.problem is not None
    assert f"exit status {status}" in verdict.problem
    if status != 127:
        assert "hook broke" in verdict.problem


async def test_exit_1_with_a_deny_answer_is_not_a_deny(project: Path) -> None:
    [verdict] = await run_bash(runner(project, hook(answer("deny", "x") + "; exit 1")))
    assert verdict.decision is None and verdict.problem is not None


async def test_a_hook_that_times_out_is_a_problem(project: Path, tmp_path: Path) -> None:
    marker = tmp_path / "after-sleep"
    r = runner(project, hook(f"sleep 30; {touch(marker)}; exit 2", timeout=0.3))
    [verdict] = await run_bash(r)
    assert verdict.decision is None
    assert verdict.problem == "timed out after 0.3 s"
    assert not marker.exists()


async def test_the_hook_gets_the_call_as_json_on_stdin(project: Path, tmp_path: Path) -> None:
    captured = tmp_path / "stdin.json"
    r = runner(project, hook(f"cat > {shlex.quote(str(captured))}"))
    tool_input = {"command": "rm -rf build", "description": "clean ünïcode"}
    verdicts = await r.pre_tool_use("Bash", tool_input, "toolu_42", "acceptEdits")
    assert [v.decision for v in verdicts] == [None]
    payload = json.loads(captured.read_text(encoding="utf-8"))
    assert payload == {
        "session_id": "sess-1",
        "transcript_path": "",
        "cwd": str(project),
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": tool_input,
        "tool_use_id": "toolu_42",
        "permission_mode": "acceptEdits",
    }


async def test_the_hook_runs_in_the_project_with_its_dir_in_the_env_and_no_secrets(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    monkeypatch.setenv("AGENTLS_TEST_PLAIN", "visible")
    out = tmp_path / "env.txt"
    command = (
        'printf "%s\\n" "$(pwd)" "$CLAUDE_PROJECT_DIR" "$AGENTLS_PROJECT_DIR" '
        f'"${{GITHUB_TOKEN:-unset}}" "$AGENTLS_TEST_PLAIN" > {shlex.quote(str(out))}'
    )
    await run_bash(runner(project, hook(command)))
    assert out.read_text().splitlines() == [str(project), str(project), str(project), "unset", "visible"]


async def test_a_deny_stops_later_hooks(project: Path, tmp_path: Path) -> None:
    first, later = tmp_path / "first", tmp_path / "later"
    r = runner(
        project,
        hook(touch(first)),
        hook("echo stop; exit 2"),
        hook(touch(later)),
        hook(answer("allow")),
    )
    verdicts = await run_bash(r)
    assert [v.decision for v in verdicts] == [None, "deny"]
    assert first.exists()
    assert not later.exists()


async def test_a_json_deny_stops_later_hooks_too(project: Path, tmp_path: Path) -> None:
    later = tmp_path / "later"
    verdicts = await run_bash(runner(project, hook(answer("deny", "no")), hook(touch(later))))
    assert [v.decision for v in verdicts] == ["deny"]
    assert not later.exists()


async def test_allow_and_ask_do_not_stop_later_hooks(project: Path) -> None:
    verdicts = await run_bash(runner(project, hook(answer("allow")), hook(answer("ask")), hook("exit 2")))
    assert [v.decision for v in verdicts] == ["allow", "ask", "deny"]


async def test_only_matching_hooks_run(project: Path, tmp_path: Path) -> None:
    bash_marker, edit_marker = tmp_path / "bash", tmp_path / "edit"
    r = runner(
        project, hook(touch(bash_marker), matcher="Bash"), hook(touch(edit_marker), matcher="Edit|Write")
    )
    assert r.any_for("Bash") and r.any_for("Write") and not r.any_for("Read")
    verdicts = await run_bash(r)
    assert len(verdicts) == 1 and verdicts[0].hook.matcher == "Bash"
    assert bash_marker.exists() and not edit_marker.exists()
    assert await r.pre_tool_use("Read", {"file_path": "x"}, "t", "default") == []


# ---------------------------------------------------------------------------------------------
# Through a whole session


class World:
    """A project, an isolated home and config directory, and a session factory over them."""

    def __init__(self, tmp_path: Path, project: Path) -> None:
        self.project = project
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.config = tmp_path / "config"
        self.marker = tmp_path / "hook-ran"
        self.trust = TrustStore(self.config / "trusted.json")

    @property
    def sources(self) -> SettingsSources:
        return SettingsSources(project=self.project, home=self.home, config=self.config, managed=())

    def user_settings(self, data: dict[str, Any]) -> None:
        write_json(self.config / "settings.json", data)

    def project_settings(self, data: dict[str, Any]) -> None:
        write_json(self.project / ".agentls" / "settings.json", data)

    async def session(
        self, model: ScriptedModel, approver: ScriptedApprover, mode: str = "default"
    ) -> Session:
        cfg = AgentConfig(model="test-model", permission_mode=mode, retry_base_delay_s=0.0)  # type: ignore[arg-type]
        deps = SessionDeps(
            config=cfg,
            model=model,
            workspace=DiskWorkspace(self.project),
            approver=approver,
            settings=self.sources,
            registry=ToolRegistry([BashTool(), EditTool(), ReadTool()]),
        )
        return await Session.start(deps)


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture
def world(tmp_path: Path, project: Path) -> World:
    return World(tmp_path, project)


def one_call(name: str, tool_input: dict[str, Any]) -> ScriptedModel:
    return ScriptedModel([Reply([ToolCall(name, tool_input)]), Reply([Text("ok")])])


def result_of(model: ScriptedModel) -> ToolResultBlock:
    [result] = [b for b in model.requests[1].messages[-1].content if isinstance(b, ToolResultBlock)]
    return result


def permission_records(session: Session) -> list[dict[str, Any]]:
    journal = session.state.journal
    assert isinstance(journal, MemoryJournal)
    return [r for r in journal.records if r["type"] == "permission"]


NO_SANDBOX = {"sandbox": {"enabled": False}}
"""Commands that a hook allows then really run; the sandbox is not what these tests are about."""


async def test_a_user_hook_that_exits_2_denies_the_bash_call(world: World) -> None:
    world.user_settings(
        {
            **NO_SANDBOX,
            **hooks_setting(group("Bash", f"{touch(world.marker)}; echo 'no shell for you' >&2; exit 2")),
        }
    )
    model = one_call("Bash", {"command": f"touch {world.project / 'made.txt'}"})
    approver = ScriptedApprover([])
    session = await world.session(model, approver)
    events = await collect(session, "go")
    result = result_of(model)
    assert result.is_error
    assert result.content.startswith("Permission denied: a PreToolUse hook blocked it: no shell for you")
    assert world.marker.exists()
    assert not (world.project / "made.txt").exists()
    assert approver.asked == []
    [record] = permission_records(session)
    assert record["tool"] == "Bash"
    assert (record["outcome"], record["stage"], record["by"]) == ("deny", "hook", "hook")
    [decided] = [e for e in events if isinstance(e, PermissionDecided)]
    assert (decided.outcome, decided.by, decided.stage) == ("deny", "hook", "hook")


async def test_a_hook_allow_skips_the_prompt_for_an_ordinary_ask(world: World) -> None:
    world.user_settings({**NO_SANDBOX, **hooks_setting(group("Bash", answer("allow", "hook vouches")))})
    model = one_call("Bash", {"command": "touch made.txt"})
    approver = ScriptedApprover([])
    session = await world.session(model, approver)
    await collect(session, "go")
    assert approver.asked == []
    assert not result_of(model).is_error
    assert (world.project / "made.txt").exists()
    [record] = permission_records(session)
    assert (record["outcome"], record["stage"], record["by"]) == ("allow", "hook", "hook")
    assert "hook vouches" in record["reason"]


async def test_without_a_hook_the_same_call_asks(world: World) -> None:
    """The control for the test above: `touch` really is an ordinary ask."""
    world.user_settings(NO_SANDBOX)
    model = one_call("Bash", {"command": "touch made.txt"})
    approver = ScriptedApprover(["reject_once"])
    await collect(await world.session(model, approver), "go")
    assert len(approver.asked) == 1
    assert not (world.project / "made.txt").exists()


async def test_a_hook_allow_does_not_skip_the_prompt_for_a_protected_path(world: World) -> None:
    git_config = world.project / ".git" / "config"
    git_config.parent.mkdir()
    git_config.write_text("[core]\n\tbare = false\n")
    world.user_settings(hooks_setting(group("", touch(world.marker) + "; " + answer("allow"))))
    model = ScriptedModel(
        [
            Reply([ToolCall("Read", {"file_path": str(git_config)})]),
            Reply(
                [ToolCall("Edit", {"file_path": str(git_config), "old_string": "false", "new_string": "1"})]
            ),
            Reply([Text("ok")]),
        ]
    )
    approver = ScriptedApprover(["reject_once"])
    session = await world.session(model, approver)
    await collect(session, "go")
    assert world.marker.exists()
    [asked] = approver.asked
    assert asked.call.tool == "Edit" and "protected" in asked.reason
    assert git_config.read_text() == "[core]\n\tbare = false\n"
    read, edit = permission_records(session)
    assert read["outcome"] == "allow"
    assert (edit["outcome"], edit["by"]) == ("deny", "user")


async def test_a_hook_allow_does_not_skip_the_prompt_of_an_ask_rule(world: World) -> None:
    world.user_settings(
        {
            **NO_SANDBOX,
            "permissions": {"ask": ["Bash(touch *)"]},
            **hooks_setting(group("Bash", touch(world.marker) + "; " + answer("allow"))),
        }
    )
    model = one_call("Bash", {"command": "touch made.txt"})
    approver = ScriptedApprover(["reject_once"])
    session = await world.session(model, approver)
    await collect(session, "go")
    assert world.marker.exists()
    [asked] = approver.asked
    assert "Bash(touch *)" in asked.reason
    assert not (world.project / "made.txt").exists()


async def test_a_hook_ask_forces_a_prompt_even_for_a_read_and_in_bypass_mode(world: World) -> None:
    (world.project / "notes.md").write_text("hello\n")
    world.user_settings(hooks_setting(group("Read", answer("ask", "double-check reads"))))
    model = one_call("Read", {"file_path": str(world.project / "notes.md")})
    approver = ScriptedApprover(["allow_once"])
    session = await world.session(model, approver, mode="bypassPermissions")
    await collect(session, "go")
    [asked] = approver.asked
    assert "double-check reads" in asked.reason
    assert not result_of(model).is_error


async def test_a_hook_deny_beats_another_hooks_allow(world: World) -> None:
    world.user_settings(
        hooks_setting(group("Read", answer("allow", "fine")), group("", answer("deny", "reads are off")))
    )
    (world.project / "notes.md").write_text("hello\n")
    model = one_call("Read", {"file_path": str(world.project / "notes.md")})
    session = await world.session(model, ScriptedApprover([]))
    await collect(session, "go")
    result = result_of(model)
    assert result.is_error and "reads are off" in result.content


async def test_a_hook_cannot_override_a_deny_rule_and_is_not_even_run(world: World) -> None:
    world.user_settings(
        {
            **NO_SANDBOX,
            "permissions": {"deny": ["Bash(rm *)"]},
            **hooks_setting(group("", touch(world.marker) + "; " + answer("allow"))),
        }
    )
    (world.project / "keep.txt").write_text("x")
    model = one_call("Bash", {"command": "rm keep.txt"})
    session = await world.session(model, ScriptedApprover([]))
    await collect(session, "go")
    result = result_of(model)
    assert result.is_error and "Bash(rm *)" in result.content
    assert (world.project / "keep.txt").exists()
    assert not world.marker.exists()
    [record] = permission_records(session)
    assert (record["stage"], record["by"]) == ("deny", "policy")


async def test_a_failing_hook_is_a_notice_and_the_call_asks_as_usual(world: World) -> None:
    world.user_settings({**NO_SANDBOX, **hooks_setting(group("Bash", "echo kaputt; exit 1"))})
    model = one_call("Bash", {"command": "touch made.txt"})
    approver = ScriptedApprover(["reject_once"])
    session = await world.session(model, approver)
    events = await collect(session, "go")
    [notice] = [e for e in events if isinstance(e, Notice) and "PreToolUse" in e.message]
    assert notice.level == "warning"
    assert "exit status 1" in notice.message and "kaputt" in notice.message
    assert len(approver.asked) == 1


async def test_hook_settings_warnings_reach_the_session_notices(world: World) -> None:
    world.user_settings(hooks_setting(group("Bash(", "true"), {"hooks": [{"type": "prompt"}]}))
    session = await world.session(ScriptedModel([Reply([Text("ok")])]), ScriptedApprover([]))
    assert any("not a valid regular expression" in n for n in session.notices)
    assert any("only `command` hooks" in n for n in session.notices)


def _hook_that_marks(world: World) -> dict[str, Any]:
    return hooks_setting(group("", touch(world.marker)))


async def _read_once(world: World) -> Session:
    (world.project / "notes.md").write_text("hello\n")
    model = one_call("Read", {"file_path": str(world.project / "notes.md")})
    session = await world.session(model, ScriptedApprover([]))
    await collect(session, "go")
    assert not result_of(model).is_error
    return session


async def test_hooks_of_an_untrusted_project_are_ignored(world: World) -> None:
    world.project_settings(_hook_that_marks(world))
    session = await _read_once(world)
    assert not world.marker.exists()
    assert any("hooks" in n and "not trusted" in n for n in session.notices)


async def test_the_same_hooks_in_user_settings_run(world: World) -> None:
    world.user_settings(_hook_that_marks(world))
    await _read_once(world)
    assert world.marker.exists()


async def test_hooks_of_a_trusted_project_run(world: World) -> None:
    world.project_settings(_hook_that_marks(world))
    world.trust.trust(world.project)
    await _read_once(world)
    assert world.marker.exists()


async def test_hooks_of_an_untrusted_local_settings_file_are_ignored(world: World) -> None:
    write_json(world.project / ".agentls" / "settings.local.json", _hook_that_marks(world))
    await _read_once(world)
    assert not world.marker.exists()


async def test_a_hook_added_to_the_settings_mid_session_runs_at_the_next_call(world: World) -> None:
    (world.project / "notes.md").write_text("hello\n")
    read = ToolCall("Read", {"file_path": str(world.project / "notes.md")})
    model = ScriptedModel([Reply([read]), Reply([Text("ok")]), Reply([read]), Reply([Text("ok")])])
    session = await world.session(model, ScriptedApprover([]))
    await collect(session, "first")
    assert not world.marker.exists()
    world.user_settings(_hook_that_marks(world))
    await collect(session, "second")
    assert world.marker.exists()

"""Subagents through the real CLI, the real SDK and the fake Messages API (issue 11, item 2).

The fake answers by looking at each request: the parent's requests carry agentls' own system
prompt, a subagent's carry its definition's, so concurrent requests get the right replies.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentls.core.agents import BUILT_IN
from tests.e2e.helpers import TIMEOUT_S, cli_argv, cli_env, parse_events
from tests.fakeapi import Delay, FakeMessagesAPI, Reply, Text, ToolCall
from tests.lsp.harness import result_text

pytestmark = pytest.mark.slow

EXPLORE_PROMPT = next(a.prompt for a in BUILT_IN if a.name == "explore")


def system_text(body: dict[str, Any]) -> str:
    system = body.get("system") or []
    return system if isinstance(system, str) else "".join(b.get("text", "") for b in system)


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t["name"] for t in body.get("tools", [])]


def last_user_text(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if block.get("type") == "text":
            parts.append(block["text"])
        elif block.get("type") == "tool_result":
            inner = block.get("content")
            parts.append(inner if isinstance(inner, str) else "".join(c.get("text", "") for c in inner or []))
    return "\n".join(parts)


def is_subagent(body: dict[str, Any]) -> bool:
    return "subagent" in system_text(body).split("\n", 1)[0]


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_argv(args),
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S * 2,
        check=False,
    )


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Callable[[str], dict[str, str]]]:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "app.py").write_text("def main():\n    return 42\n")
    home = tmp_path / "home"
    home.mkdir()

    def env(base_url: str) -> dict[str, str]:
        out = cli_env(tmp_path / "agentls", base_url)
        out["HOME"] = str(home)
        out["XDG_CONFIG_HOME"] = str(tmp_path / "config")
        return out

    return project, env


def test_explore_subagent_reports_back_and_the_parent_finishes(
    world: tuple[Path, Callable[[str], dict[str, str]]],
) -> None:
    project, env = world

    def respond(body: dict[str, Any]) -> Reply:
        if is_subagent(body):
            if len(body["messages"]) == 1:
                return Reply([ToolCall("Grep", {"pattern": "def main"})])
            return Reply([Text("EXPLORED: main() is in app.py and returns 42.")])
        if len(body["messages"]) == 1:
            task = {
                "description": "Find main",
                "prompt": "Where is main defined?",
                "subagent_type": "explore",
            }
            return Reply([ToolCall("Agent", task)])
        return Reply([Text("PARENT-DONE: " + last_user_text(body)[:80])])

    with FakeMessagesAPI([respond] * 4) as fake:
        done = run(["run", "where is main?", "--output-format", "stream-json"], project, env(fake.base_url))
    assert done.returncode == 0, done.stderr
    events = parse_events(done.stdout)
    subs = [b for b in fake.requests if is_subagent(b)]
    parents = [b for b in fake.requests if not is_subagent(b)]
    assert len(subs) == 2 and len(parents) == 2
    for body in subs:
        assert tool_names(body) == ["Read", "Glob", "Grep"]  # Read-only, in the parent's order.
        assert system_text(body).startswith(EXPLORE_PROMPT)
        assert body["messages"][0]["content"][0]["text"] == "Where is main defined?"
    assert "Agent" in tool_names(parents[0])
    assert "EXPLORED: main() is in app.py" in last_user_text(parents[1])
    end = events[-1]
    assert end["kind"] == "turn_ended" and end["stop"]["kind"] == "end_turn"
    assert end["text"].startswith("PARENT-DONE: EXPLORED")
    nested = [e for e in events if e["kind"] == "subagent"]
    assert nested and all(e["agent_type"] == "explore" and e["parent_call_id"] for e in nested)
    assert any(e["event"]["kind"] == "tool_call_started" and e["event"]["name"] == "Grep" for e in nested)
    # The session's totals are the parent's own requests plus the subagent's, to the token.
    parent_usage = [e["request"] for e in events if e["kind"] == "usage"]
    (sub_end,) = [e["event"] for e in nested if e["event"]["kind"] == "turn_ended"]
    for key in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
        assert end["usage"][key] == sum(u[key] for u in parent_usage) + sub_end["usage"][key], key
    assert end["requests"] == 2 and sub_end["requests"] == 2  # Each turn counts its own requests.
    # The subagent's transcript is linked from the parent's.
    transcript = Path(env(fake.base_url)["AGENTLS_HOME"]) / "sessions" / f"{events[0]['session_id']}.jsonl"
    links = [r for r in map(json.loads, transcript.read_text().splitlines()) if r["type"] == "subagent"]
    assert len(links) == 1 and Path(links[0]["transcript"]).is_file()


def test_a_background_agent_works_while_the_parent_goes_on_and_its_answer_reaches_the_parent(
    world: tuple[Path, Callable[[str], dict[str, str]]],
) -> None:
    """`run_in_background`: the Agent call returns at once; the parent reads a file meanwhile;
    the agent's answer reaches the parent as a notification; the CLI's turn ends after that."""
    project, env = world

    def respond(body: dict[str, Any]) -> Reply | Delay:
        if is_subagent(body):
            return Delay(Reply([Text("BG: main returns 42")]), before_s=1.5)
        said = last_user_text(body)
        if len(body["messages"]) == 1:
            task = {
                "description": "Dig",
                "prompt": "What does main return?",
                "subagent_type": "explore",
                "run_in_background": True,
            }
            return Reply([ToolCall("Agent", task)])
        if "<status>" in said:  # The notification (the Agent result only mentions the tag).
            return Reply([Text("PARENT-FINAL: " + said[said.index("<result>") :][:60])])
        if "in the background" in said:
            return Reply([ToolCall("Read", {"file_path": str(project / "app.py")})])
        return Reply([Text("Read it; waiting for the agent.")])

    with FakeMessagesAPI([respond] * 5) as fake:
        done = run(["run", "dig", "--output-format", "stream-json"], project, env(fake.base_url))
    assert done.returncode == 0, done.stderr
    events = parse_events(done.stdout)
    parents = [b for b in fake.requests if not is_subagent(b)]
    assert len(parents) == 4
    # The Read ran while the agent still worked: the parent's third request has no notification.
    assert "<status>" not in json.dumps(parents[2]["messages"][-1])
    assert "<status>completed</status>" in last_user_text(parents[3])
    end = events[-1]
    assert end["kind"] == "turn_ended" and end["stop"]["kind"] == "end_turn"
    assert end["text"].startswith("PARENT-FINAL: <result>\nBG: main returns 42")
    assert any(e["kind"] == "notice" and "Waiting for 1 background agent" in e["message"] for e in events)
    assert any(e["kind"] == "subagent" and e["event"]["kind"] == "turn_ended" for e in events)


def test_two_agent_calls_in_one_response_run_concurrently(
    world: tuple[Path, Callable[[str], dict[str, str]]],
) -> None:
    project, env = world
    started: dict[str, float] = {}

    def respond(body: dict[str, Any]) -> Any:
        if is_subagent(body):
            task = body["messages"][0]["content"][0]["text"]
            started.setdefault(task, time.monotonic())
            return Delay(Reply([Text(f"answer to {task}")]), before_s=1.0)
        if len(body["messages"]) == 1:
            calls = [
                ToolCall(
                    "Agent", {"description": f"task {n}", "prompt": f"TASK-{n}", "subagent_type": "plan"}
                )
                for n in (1, 2)
            ]
            return Reply(calls)
        return Reply([Text("both done")])

    with FakeMessagesAPI([respond] * 4) as fake:
        done = run(["run", "plan two things", "--output-format", "stream-json"], project, env(fake.base_url))

    assert done.returncode == 0, done.stderr
    assert set(started) == {"TASK-1", "TASK-2"}
    # Both subagents' requests started before either could have finished (each takes 1 s).
    assert abs(started["TASK-1"] - started["TASK-2"]) < 0.9, started
    finished = [e for e in parse_events(done.stdout) if e["kind"] == "tool_call_finished"]
    answers = sorted(e["output"].split("\n\nagentId: ")[0] for e in finished)
    assert answers == ["answer to TASK-1", "answer to TASK-2"]


def test_a_user_defined_agent_cannot_use_tools_its_definition_leaves_out(
    world: tuple[Path, Callable[[str], dict[str, str]]],
) -> None:
    project, env = world
    agents = project / ".claude" / "agents"
    agents.mkdir(parents=True)
    (agents / "reviewer.md").write_text(
        "---\nname: reviewer\ndescription: Reviews code for bugs\ntools: Read, Grep\n---\n"
        "You are the REVIEWER subagent. Read the code and report problems.\n"
    )
    (agents / "broken.md").write_text("---\nname: [unclosed\n---\nbody\n")

    def respond(body: dict[str, Any]) -> Reply:
        if "REVIEWER subagent" in system_text(body):
            if len(body["messages"]) == 1:
                edit = {"file_path": str(project / "app.py"), "old_string": "42", "new_string": "43"}
                return Reply([ToolCall("Edit", edit)])
            return Reply([Text("REVIEW: " + last_user_text(body)[:200])])
        if len(body["messages"]) == 1:
            task = {"description": "Review", "prompt": "Review app.py", "subagent_type": "reviewer"}
            return Reply([ToolCall("Agent", task)])
        return Reply([Text("done")])

    with FakeMessagesAPI([respond] * 4) as fake:
        trust = run(["trust", str(project)], project, env(fake.base_url))
        assert trust.returncode == 0, trust.stderr
        done = run(["run", "review", "--output-format", "stream-json"], project, env(fake.base_url))
    assert done.returncode == 0, done.stderr
    reviewer = [b for b in fake.requests if "REVIEWER subagent" in system_text(b)]
    assert tool_names(reviewer[0]) == ["Read", "Grep"]
    assert "Edit" in last_user_text(reviewer[1]) and "42" in (project / "app.py").read_text()
    events = parse_events(done.stdout)
    notices = " ".join(e.get("message", "") for e in events if e["kind"] == "notice")
    assert "broken.md" in notices  # The file that does not parse is skipped with a warning.
    parent_last = [b for b in fake.requests if "REVIEWER subagent" not in system_text(b)][-1]
    assert "REVIEW:" in last_user_text(parent_last)
    assert os.environ.get("HOME") != env(fake.base_url)["HOME"]


def host_processes(marker: str) -> list[str]:
    found = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, check=False)
    return found.stdout.split()


@pytest.mark.parametrize("kill", ["SIGINT", "SIGKILL"])
def test_stopping_the_parent_mid_subagent_stops_its_commands_and_resumes_without_rerunning(
    world: tuple[Path, Callable[[str], dict[str, str]]], kill: str
) -> None:
    """Cancelling (Ctrl-C) or killing the parent while its subagent runs a command: the command is
    gone; on resume the parent learns the subagent's id, continues it with `resume`, and the
    subagent goes on from its transcript: what it had already done is not run again."""
    import signal

    project, env = world
    marker = f"sleep 61.{os.getpid() % 1000}{len(kill)}"

    def respond(body: dict[str, Any]) -> Reply:
        messages = body["messages"]
        if is_subagent(body):
            if len(messages) == 1:
                return Reply([ToolCall("Bash", {"command": "echo ran >> once.txt"})])
            if "finish the task" in last_user_text(body):
                return Reply([Text("SUB-FINISHED after " + str(len(messages)) + " messages")])
            return Reply([ToolCall("Bash", {"command": marker})])
        if "carry on" in last_user_text(body):
            # The Agent call's result (interrupted or cancelled) names the agent to resume.
            said = json.dumps(messages[-1]["content"])
            agent_id = re.search(r"agentId: ([\w-]+)|resume: \\\"([\w-]+)", said)
            assert agent_id, said
            task = {
                "description": "Finish",
                "prompt": "finish the task",
                "subagent_type": "general-purpose",
                "resume": agent_id.group(1) or agent_id.group(2),
            }
            return Reply([ToolCall("Agent", task)])
        if len(messages) == 1:
            task = {"description": "Work", "prompt": "Do the work", "subagent_type": "general-purpose"}
            return Reply([ToolCall("Agent", task)])
        return Reply([Text("done: " + last_user_text(body)[:60])])

    with FakeMessagesAPI([respond] * 6) as fake:
        environ = env(fake.base_url)
        proc = subprocess.Popen(
            cli_argv(
                ["run", "work", "--output-format", "stream-json", "--permission-mode", "bypassPermissions"]
            ),
            env=environ,
            cwd=project,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        session = json.loads(proc.stdout.readline())["session_id"]
        deadline = time.monotonic() + TIMEOUT_S
        while not host_processes(marker):
            assert time.monotonic() < deadline and proc.poll() is None, "the subagent's command never started"
            time.sleep(0.05)
        proc.send_signal(getattr(signal, kill))
        rest, _ = proc.communicate(timeout=TIMEOUT_S)
        if kill == "SIGINT":
            assert proc.returncode == 130
            end = parse_events(rest)[-1]
            assert end["kind"] == "turn_ended" and end["stop"] == {"kind": "cancelled"}
        deadline = time.monotonic() + TIMEOUT_S  # A loaded CI machine once took over 10 s.
        while host_processes(marker):
            assert time.monotonic() < deadline, "the subagent's command outlived its parent"
            time.sleep(0.05)
        resumed = run(
            ["run", "carry on", "--resume", session, "--output-format", "stream-json"], project, environ
        )
    assert resumed.returncode == 0, resumed.stderr
    assert (project / "once.txt").read_text() == "ran\n"  # Not run again by the resume.
    parents = [b for b in fake.requests if not is_subagent(b)]
    interrupted = [
        block
        for message in parents[-2]["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    # The first Agent call: cancelled or interrupted, not re-run; its result names the agent.
    assert interrupted and interrupted[0]["is_error"]
    assert "agentId: " in result_text(interrupted[0]) or "resume:" in result_text(interrupted[0])
    # The resumed subagent saw its whole conversation: the finished Bash call's result, the
    # interrupted one, then the new instruction.
    resumed_sub = [b for b in fake.requests if is_subagent(b)][-1]
    assert last_user_text(resumed_sub).endswith("\nfinish the task")
    sub_results = [
        block
        for message in resumed_sub["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    assert len(sub_results) == 2 and not sub_results[0].get("is_error") and sub_results[1]["is_error"]
    end = parse_events(resumed.stdout)[-1]
    assert end["kind"] == "turn_ended" and end["text"].startswith("done: SUB-FINISHED after 5 messages")
    # Every request counts in the session's totals, to the token: the subagent's made before the
    # parent was stopped included (recorded in the parent's transcript as they happened).
    for key in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
        assert end["session_usage"][key] == sum(u[key] for u in fake.usages), key

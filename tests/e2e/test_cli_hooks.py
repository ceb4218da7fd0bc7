"""Hooks through `agentls run` as a real subprocess against the fake Messages API: a
UserPromptSubmit hook that exits 2 keeps the prompt from the API, SessionStart context reaches the
first request, and SessionEnd runs when the command ends."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import kinds, parse_events, run_cli
from tests.fakeapi import FakeMessagesAPI, Reply, Text

pytestmark = pytest.mark.slow


def command_hook(command: str, matcher: str | None = None) -> dict[str, Any]:
    group: dict[str, Any] = {"hooks": [{"type": "command", "command": command, "timeout": 20}]}
    if matcher is not None:
        group["matcher"] = matcher
    return group


def appends_stdin(log: Path) -> str:
    return f"cat >> {shlex.quote(str(log))}; echo >> {shlex.quote(str(log))}"


def payloads(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(prompt: str, hooks: dict[str, Any], tmp_path: Path, fake: FakeMessagesAPI) -> tuple[int, list[Any]]:
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir(exist_ok=True)
    done = run_cli(
        ["run", prompt, "--output-format", "stream-json", "--settings", json.dumps({"hooks": hooks})],
        home=home,
        base_url=fake.base_url,
        cwd=project,
    )
    return done.returncode, parse_events(done.stdout)


def test_user_prompt_submit_exit_2_blocks_the_prompt_before_any_request(tmp_path: Path) -> None:
    log = tmp_path / "prompt.log"
    hook = appends_stdin(log) + "; echo 'prompts about prod need a ticket number' >&2; exit 2"
    with FakeMessagesAPI([Reply([Text("never sent")])]) as fake:
        code, events = run("deploy to prod", {"UserPromptSubmit": [command_hook(hook)]}, tmp_path, fake)
    assert fake.requests == []
    assert code == 0
    [notice] = [e for e in events if e["kind"] == "notice" and "UserPromptSubmit" in e["message"]]
    assert notice["level"] == "warning"
    assert "prompts about prod need a ticket number" in notice["message"]
    assert kinds(events)[-1] == "turn_ended" and events[-1]["stop"]["kind"] == "end_turn"
    [payload] = payloads(log)
    assert payload["hook_event_name"] == "UserPromptSubmit" and payload["prompt"] == "deploy to prod"
    assert payload["session_id"] == events[0]["session_id"]
    assert payload["transcript_path"] == events[0]["transcript"]


def test_session_start_context_reaches_the_request_and_session_end_runs(tmp_path: Path) -> None:
    end_log = tmp_path / "end.log"
    context = {"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "Deploy freeze."}}
    hooks = {
        "SessionStart": [command_hook("printf '%s\\n' " + shlex.quote(json.dumps(context)), "startup")],
        "SessionEnd": [command_hook(appends_stdin(end_log))],
    }
    with FakeMessagesAPI([Reply([Text("Noted: no deploys.")])]) as fake:
        code, events = run("can I deploy?", hooks, tmp_path, fake)
    assert code == 0, events
    [request] = fake.requests
    [message] = request["messages"]
    sent = [b["text"] for b in message["content"] if b["type"] == "text"]
    assert len(sent) == 2 and "Deploy freeze." in sent[0] and sent[1] == "can I deploy?"
    [end] = payloads(end_log)
    assert end["hook_event_name"] == "SessionEnd" and end["reason"] == "other"
    assert end["session_id"] == events[0]["session_id"]

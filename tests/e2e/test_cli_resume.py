"""`agentls run --resume`: after a kill -9 in the middle of a tool call, and after a finished turn.

A killed session is repaired, never replayed: the interrupted call gets an error result telling
the model it was not run again, and nothing the call did happens twice.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentls.core.scripted import Reply, Text, ToolCall
from tests.e2e.helpers import file_lines, kill_group, live_cli, parse_events, run_cli, wait_until
from tests.fakeapi import FakeMessagesAPI

pytestmark = pytest.mark.slow

PROMPT = "Run the long job"
LONG_COMMAND = "echo $$ > pid.txt; echo ran >> marker.txt; sleep 60"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "agentls-home"


@pytest.fixture
def leftover_groups() -> Iterator[list[int]]:
    """Process groups a test left running on purpose (a SIGKILLed CLI cannot clean up)."""
    groups: list[int] = []
    yield groups
    for pgid in groups:
        kill_group(pgid)


@dataclass
class Crashed:
    session_id: str
    transcript: Path
    call_id: str
    call_input: dict[str, Any]


def _crash_mid_tool(
    project: Path, home: Path, leftover_groups: list[int], *, mid_stream: bool = False
) -> Crashed:
    """Start a turn whose Bash call runs for a minute, and SIGKILL the CLI while it runs.

    `mid_stream`: the fake holds back message_stop, so the kill also cuts off the response and
    only the transcript's partial assistant record knows the tool call.
    """
    reply = Reply(
        [Text("Starting."), ToolCall("Bash", {"command": LONG_COMMAND, "description": "long"})],
        delay_before_stop_s=60.0 if mid_stream else 0.0,
    )
    script = [reply]
    marker = project / "marker.txt"
    with (
        FakeMessagesAPI(script) as fake,
        live_cli(
            ["run", "--permission-mode", "bypassPermissions", "--output-format", "stream-json", PROMPT],
            home=home,
            base_url=fake.base_url,
            cwd=project,
            stderr_path=project.parent / "crash-stderr.txt",
        ) as cli,
    ):
        try:
            started = cli.wait_event(lambda e: e.get("kind") == "session_started").event
            call = cli.wait_event(lambda e: e.get("kind") == "tool_call_started").event
            cli.wait_event(lambda e: e.get("kind") == "tool_call_updated" and e["status"] == "running")
            wait_until(lambda: len(file_lines(marker)) == 1, what="the command to write marker.txt")
        finally:
            # The shell leads its own process group (pid.txt is written before marker.txt).
            pids = file_lines(project / "pid.txt")
            leftover_groups.extend(int(p) for p in pids)
        os.kill(cli.proc.pid, signal.SIGKILL)
        assert cli.wait_exit() == -signal.SIGKILL
        fake.assert_consumed()
    assert "turn_ended" not in cli.kinds()
    if mid_stream:
        assert "assistant_message" not in cli.kinds()  # The response never completed.
    assert call["name"] == "Bash"
    return Crashed(started["session_id"], Path(started["transcript"]), call["call_id"], call["input"])


def _capture(bodies: list[dict[str, Any]], text: str) -> Any:
    def step(body: dict[str, Any]) -> Reply:
        bodies.append(body)
        return Reply([Text(text)])

    return step


def _strip_cache(message: dict[str, Any]) -> dict[str, Any]:
    blocks = [{k: v for k, v in b.items() if k != "cache_control"} for b in message["content"]]
    return {"role": message["role"], "content": blocks}


@pytest.mark.parametrize(
    ("mid_stream", "torn"),
    [(False, False), (False, True), (True, False)],
    ids=["clean-kill", "torn-last-line", "killed-mid-stream"],
)
def test_resume_after_kill_tells_the_model_and_reruns_nothing(
    project: Path, home: Path, tmp_path: Path, leftover_groups: list[int], mid_stream: bool, torn: bool
) -> None:
    crashed = _crash_mid_tool(project, home, leftover_groups, mid_stream=mid_stream)
    assert crashed.transcript == home / "sessions" / f"{crashed.session_id}.jsonl"
    if torn:
        with open(crashed.transcript, "ab") as f:
            f.write(b'{"seq":9999,"type":"message","message":{"role":"assis')

    bodies: list[dict[str, Any]] = []
    with FakeMessagesAPI([_capture(bodies, "Resumed fine.")]) as fake:
        # Run from elsewhere without --cwd: the session remembers its directory.
        result = run_cli(
            ["run", "--resume", crashed.session_id, "Please continue"],
            home=home,
            base_url=fake.base_url,
            cwd=tmp_path,
        )
        fake.assert_consumed()
        assert fake.rejections == []
    assert result.returncode == 0, result.stderr
    assert "Resumed fine." in result.stdout
    assert "Traceback" not in result.stderr
    assert "interrupted" in result.stderr
    assert ("cut off" in result.stderr) is torn, result.stderr
    assert file_lines(project / "marker.txt") == ["ran"]  # The interrupted command did not run again.

    (body,) = bodies
    messages = [_strip_cache(m) for m in body["messages"]]
    assert messages[:2] == [
        {"role": "user", "content": [{"type": "text", "text": PROMPT}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Starting."},
                {"type": "tool_use", "id": crashed.call_id, "name": "Bash", "input": crashed.call_input},
            ],
        },
    ]
    assert len(messages) == 3
    repair = messages[2]
    assert repair["role"] == "user"
    first, second = repair["content"]
    assert first["type"] == "tool_result" and first["tool_use_id"] == crashed.call_id
    assert first["is_error"] is True
    assert "Interrupted" in first["content"] and "NOT run again" in first["content"]
    assert second == {"type": "text", "text": "Please continue"}

    if torn:
        # The torn fragment is now a line of its own: the next resume skips it and keeps the rest.
        again: list[dict[str, Any]] = []
        with FakeMessagesAPI([_capture(again, "Still fine.")]) as fake:
            result = run_cli(
                ["run", "--resume", crashed.session_id, "And again"],
                home=home,
                base_url=fake.base_url,
                cwd=tmp_path,
            )
            fake.assert_consumed()
        assert result.returncode == 0, result.stderr
        assert "Skipped 1 unreadable transcript line" in result.stderr
        assert "interrupted" not in result.stderr  # The repair was recorded; nothing is open now.
        history = [_strip_cache(m) for m in again[0]["messages"]]
        assert history[:3] == messages
        assert history[3:] == [
            {"role": "assistant", "content": [{"type": "text", "text": "Resumed fine."}]},
            {"role": "user", "content": [{"type": "text", "text": "And again"}]},
        ]
    assert file_lines(project / "marker.txt") == ["ran"]


def test_resume_a_finished_session_continues_the_conversation(project: Path, home: Path) -> None:
    with FakeMessagesAPI([Reply([Text("Hello there.")])]) as fake:
        first = run_cli(
            ["run", "--output-format", "stream-json", "Say hello"],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        fake.assert_consumed()
    assert first.returncode == 0, first.stderr
    started = parse_events(first.stdout)[0]
    assert started["kind"] == "session_started" and started["resumed"] is False
    session_id = started["session_id"]

    bodies: list[dict[str, Any]] = []
    with FakeMessagesAPI([_capture(bodies, "Still here.")]) as fake:
        second = run_cli(
            # A unique prefix of the id is enough.
            ["run", "--output-format", "stream-json", "--resume", session_id[:-3], "And now?"],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        fake.assert_consumed()
    assert second.returncode == 0, second.stderr
    events = parse_events(second.stdout)
    assert events[0]["kind"] == "session_started"
    assert events[0]["resumed"] is True and events[0]["session_id"] == session_id
    assert not any(e["kind"] == "notice" for e in events)
    assert events[-1]["kind"] == "turn_ended" and events[-1]["stop"]["kind"] == "end_turn"

    (body,) = bodies
    assert [_strip_cache(m) for m in body["messages"]] == [
        {"role": "user", "content": [{"type": "text", "text": "Say hello"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello there."}]},
        {"role": "user", "content": [{"type": "text", "text": "And now?"}]},
    ]
    assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}

"""`agentls run` as a real subprocess against the fake Messages API: the whole loop, the stream-json
protocol, tools starting before the response ends, bad tool input, user errors and exit codes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agentls.core.scripted import Reply, Text, Thinking, ToolCall
from tests.e2e.helpers import (
    TIMEOUT_S,
    Line,
    cli_env,
    kinds,
    live_cli,
    parse_events,
    run_cli,
)
from tests.e2e.sample import BUGGY_LINE, FIXED_LINE, make_buggy_project
from tests.fakeapi import FakeMessagesAPI, HttpError

pytestmark = pytest.mark.slow

TOOL_NAMES = {"Agent", "Read", "Write", "Edit", "Glob", "Grep", "Bash", "TodoWrite"}
FINAL_TEXT = "Fixed: all tests pass."


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "agentls-home"


def _last_tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    last = body["messages"][-1]
    assert last["role"] == "user"
    return [b for b in last["content"] if b.get("type") == "tool_result"]


def _fix_script(calc: Path) -> list[Any]:
    """Read calc.py, fix it, run pytest, then report; the last step checks pytest's output."""

    def report(body: dict[str, Any]) -> Reply:
        results = _last_tool_results(body)
        passed = bool(results) and "passed" in results[0]["content"] and not results[0]["is_error"]
        return Reply([Text(FINAL_TEXT if passed else "The tests still fail.")])

    return [
        Reply([Text("Let me look at calc.py."), ToolCall("Read", {"file_path": str(calc)})]),
        Reply(
            [ToolCall("Edit", {"file_path": str(calc), "old_string": BUGGY_LINE, "new_string": FIXED_LINE})]
        ),
        Reply([ToolCall("Bash", {"command": "python -m pytest -q", "description": "Run tests"})]),
        report,
    ]


def _pytest_in(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=cli_env(project, None),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def _assert_every_request_well_formed(requests: list[dict[str, Any]]) -> None:
    for n, body in enumerate(requests, start=1):
        assert {t["name"] for t in body["tools"]} == TOOL_NAMES, f"request {n}"
        assert len(body["tools"]) == len(TOOL_NAMES), f"request {n}"
        assert body["system"][0].get("cache_control") == {"type": "ephemeral"}, f"request {n}"
        last = body["messages"][-1]["content"]
        assert any("cache_control" in block for block in last), (
            f"request {n}: no cache marker on last message"
        )


def test_full_loop_fixes_the_sample_project(project: Path, home: Path) -> None:
    calc = make_buggy_project(project)
    assert _pytest_in(project).returncode != 0  # The bug is real.
    with FakeMessagesAPI(_fix_script(calc)) as fake:
        result = run_cli(
            [
                "run",
                "--cwd",
                str(project),
                "--permission-mode",
                "bypassPermissions",
                "--output-format",
                "text",
                "Fix the failing test",
            ],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        assert result.returncode == 0, result.stderr
        fake.assert_consumed()
        requests = list(fake.requests)

    assert FINAL_TEXT in result.stdout
    assert "Traceback" not in result.stderr
    assert FIXED_LINE in calc.read_text() and BUGGY_LINE not in calc.read_text()
    after = _pytest_in(project)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "1 passed" in after.stdout

    assert len(requests) == 4
    assert fake.rejections == []
    _assert_every_request_well_formed(requests)
    first = requests[0]["messages"]
    assert first == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Fix the failing test", "cache_control": {"type": "ephemeral"}}
            ],
        }
    ]
    read_result = _last_tool_results(requests[1])
    assert len(read_result) == 1 and not read_result[0]["is_error"]
    assert "     4\tdef add(a, b):" in read_result[0]["content"]
    assert f"     5\t    {BUGGY_LINE}" in read_result[0]["content"]
    edit_result = _last_tool_results(requests[2])
    assert len(edit_result) == 1 and not edit_result[0]["is_error"], edit_result
    pytest_result = _last_tool_results(requests[3])
    assert len(pytest_result) == 1 and not pytest_result[0]["is_error"], pytest_result
    assert "1 passed" in pytest_result[0]["content"]


def test_stream_json_reports_every_step_as_json(project: Path, home: Path) -> None:
    calc = make_buggy_project(project)
    with FakeMessagesAPI(_fix_script(calc)) as fake:
        result = run_cli(
            [
                "run",
                "--cwd",
                str(project),
                "--permission-mode",
                "bypassPermissions",
                "--output-format",
                "stream-json",
                "Fix the failing test",
            ],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        fake.assert_consumed()
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr

    events = parse_events(result.stdout)  # Every line is a valid event: nothing else on stdout.
    seen = kinds(events)
    for kind in (
        "session_started",
        "turn_started",
        "request_started",
        "text_delta",
        "tool_call_started",
        "tool_call_updated",
        "tool_call_finished",
        "assistant_message",
        "usage",
        "turn_ended",
    ):
        assert kind in seen, f"no {kind} in {seen}"
    assert seen[0] == "session_started"
    assert seen[-1] == "turn_ended"
    assert events[-1]["stop"]["kind"] == "end_turn"
    assert events[-1]["text"] == FINAL_TEXT
    assert events[-1]["requests"] == 4
    assert seen.count("request_started") == 4

    started = {e["call_id"]: e["name"] for e in events if e["kind"] == "tool_call_started"}
    assert sorted(started.values()) == ["Bash", "Edit", "Read"]
    running = {e["call_id"] for e in events if e["kind"] == "tool_call_updated" and e["status"] == "running"}
    assert running == set(started)
    finished = {e["call_id"]: e for e in events if e["kind"] == "tool_call_finished"}
    assert set(finished) == set(started)
    assert not any(e["is_error"] for e in finished.values())
    by_name = {e["name"]: e for e in finished.values()}
    assert "1 passed" in by_name["Bash"]["output"]
    assert by_name["Edit"]["diff"] and FIXED_LINE in by_name["Edit"]["diff"]
    text = "".join(e["text"] for e in events if e["kind"] == "text_delta")
    assert "Let me look at calc.py." in text and FINAL_TEXT in text


def test_a_tool_runs_before_the_response_ends(project: Path, home: Path) -> None:
    marker = project / "started.marker"
    marker_seen: list[bool] = []

    def on_line(line: Line) -> None:
        if line.event.get("kind") == "tool_call_finished":
            marker_seen.append(marker.exists())

    script = [
        Reply(
            [ToolCall("Bash", {"command": "touch started.marker", "description": "Touch a marker"})],
            delay_before_stop_s=2.0,
        ),
        Reply([Text("done")]),
    ]
    with (
        FakeMessagesAPI(script) as fake,
        live_cli(
            ["run", "--permission-mode", "bypassPermissions", "--output-format", "stream-json", "go"],
            home=home,
            base_url=fake.base_url,
            cwd=project,
            stderr_path=project.parent / "stderr.txt",
            on_line=on_line,
        ) as cli,
    ):
        finished = cli.wait_event(lambda e: e.get("kind") == "tool_call_finished")
        message = cli.wait_event(lambda e: e.get("kind") == "assistant_message")
        assert cli.wait_exit() == 0, cli.stderr()
        fake.assert_consumed()

    assert not finished.event["is_error"], finished.event
    assert marker_seen == [True]
    # The tool finished while the fake was still holding back message_stop (for 2 s).
    assert finished.at < message.at - 1.0, (finished.at, message.at)
    order = cli.kinds()
    assert order.index("tool_call_finished") < order.index("assistant_message")


def test_bad_tool_input_is_reported_to_the_model(project: Path, home: Path) -> None:
    script = [Reply([ToolCall("Read", {"file_path": 42, "bogus": True})]), Reply([Text("ok")])]
    with FakeMessagesAPI(script) as fake:
        result = run_cli(
            ["run", "--permission-mode", "bypassPermissions", "read something"],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        fake.assert_consumed()
        requests = list(fake.requests)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout
    (tool_result,) = _last_tool_results(requests[1])
    assert tool_result["is_error"] is True
    content = tool_result["content"]
    assert "Invalid input for tool Read" in content
    assert "file_path" in content and "bogus" in content


def _assert_clean_failure(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == ""
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("args", "api_key", "needles"),
    [
        pytest.param(["run", "hi"], None, ["ANTHROPIC_API_KEY"], id="missing-key"),
        pytest.param(["run", "--permission-mode", "nope", "hi"], "test-key", ["nope"], id="bad-flag"),
        pytest.param(["run", "--cwd", "/nonexistent", "hi"], "test-key", ["/nonexistent"], id="bad-cwd"),
        pytest.param(["run", "--resume", "nosuchid", "hi"], "test-key", ["nosuchid"], id="unknown-session"),
    ],
)
def test_usage_errors_exit_2_with_one_clear_line(
    project: Path, home: Path, args: list[str], api_key: str | None, needles: list[str]
) -> None:
    result = run_cli(args, home=home, base_url="http://127.0.0.1:9", cwd=project, api_key=api_key)
    _assert_clean_failure(result, 2, *needles)
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("agentls")]
    assert len(error_lines) == 1, result.stderr
    if args[1] != "--permission-mode":  # argparse adds its usage line; our own errors are one line.
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_unreachable_api_exits_1(project: Path, home: Path) -> None:
    start = time.monotonic()
    # Ten retries by default, backing off up to 30 s: four here, so the test takes seconds.
    fewer = '{"retry": {"maxRetries": 4}}'
    result = run_cli(
        ["run", "hi", "--settings", fewer], home=home, base_url="http://127.0.0.1:9", cwd=project
    )
    elapsed = time.monotonic() - start
    _assert_clean_failure(result, 1, "could not reach the API at http://127.0.0.1:9")
    assert "retry 4/4" in result.stderr  # The loop retried connection errors before giving up.
    assert elapsed < 20, f"took {elapsed:.1f} s"


def test_rejected_key_exits_1(project: Path, home: Path) -> None:
    with FakeMessagesAPI([HttpError.unauthorized()]) as fake:
        result = run_cli(["run", "hi"], home=home, base_url=fake.base_url, cwd=project)
        fake.assert_consumed()
        assert len(fake.requests) == 1  # Not retried: a bad key stays bad.
    _assert_clean_failure(result, 1, "authentication", "credentials")


def test_max_turns_stops_with_exit_3(project: Path, home: Path) -> None:
    (project / "a.py").write_text("x = 1\n")
    script = [Reply([ToolCall("Glob", {"pattern": "*.py"})])]
    with FakeMessagesAPI(script) as fake:
        result = run_cli(
            ["run", "--max-turns", "1", "--output-format", "stream-json", "list files"],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        fake.assert_consumed()
    assert result.returncode == 3, result.stderr
    events = parse_events(result.stdout)
    assert events[-1]["kind"] == "turn_ended"
    assert events[-1]["stop"] == {"kind": "max_turns", "limit": 1}
    (glob,) = [e for e in events if e["kind"] == "tool_call_finished"]
    assert not glob["is_error"] and "a.py" in glob["output"]


@pytest.mark.parametrize(
    ("flag", "expected", "max_tokens"),
    [
        ("adaptive", {"type": "adaptive"}, 32_000),
        ("20000", {"type": "enabled", "budget_tokens": 20_000}, 36_000),
    ],
)
def test_thinking_reaches_the_api(
    project: Path, home: Path, flag: str, expected: dict, max_tokens: int
) -> None:  # type: ignore[type-arg]
    script = [Reply([Thinking("Let me think."), Text("Thought about it.")])]
    with FakeMessagesAPI(script) as fake:
        result = run_cli(
            ["run", "--thinking", flag, "--output-format", "stream-json", "think"],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        fake.assert_consumed()
        body = fake.requests[0]
    assert result.returncode == 0, result.stderr
    assert body["thinking"] == expected and body["max_tokens"] == max_tokens
    events = parse_events(result.stdout)
    assert "".join(e["text"] for e in events if e["kind"] == "thinking_delta") == "Let me think."
    [message] = [e["message"] for e in events if e["kind"] == "assistant_message"]
    assert message["content"][0] == {
        "type": "thinking",
        "thinking": "Let me think.",
        "signature": "sig-scripted",
    }

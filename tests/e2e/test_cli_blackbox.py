"""The black box and the doctor (issue 10, item 19), through the real CLI and the fake API.

`agentls log SESSION` shows what the session did: start-up (settings files, tools, sandbox),
each request, retries and their causes, tool calls and permissions, the end. After `kill -9`
during a command, its last record says what was running. `agentls doctor` names what is wrong
with the installation and how to fix it.
"""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path
from typing import Any

import pytest

from agentls.core.blackbox import BlackBox, install_log_handler, read
from tests.e2e.helpers import live_cli, run_cli
from tests.fakeapi import FakeMessagesAPI, HttpError, Reply, Text, ToolCall

pytestmark = pytest.mark.slow
FAST_RETRY = json.dumps({"retry": {"baseDelay": "0.01s"}})
RUN_WAIT = ["run", "wait", "--output-format", "stream-json", "--permission-mode", "bypassPermissions"]


def log_records(home: Path, cwd: Path, session: str) -> list[dict[str, Any]]:
    done = run_cli(["log", session, "--json"], home=home, base_url=None, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def session_id(stdout: str) -> str:
    for line in stdout.splitlines():
        event = json.loads(line)
        if event["kind"] == "session_started":
            return str(event["session_id"])
    raise AssertionError("no session_started event")


def test_the_log_tells_the_story_of_a_turn(tmp_path: Path) -> None:
    project, home = tmp_path / "p", tmp_path / "h"
    project.mkdir()
    (project / "notes.txt").write_text("milk\n")
    script = [
        HttpError(529, "overloaded_error", "Overloaded"),
        Reply([ToolCall("Read", {"file_path": "notes.txt"})]),
        Reply([Text("You need milk.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        done = run_cli(
            ["run", "what do I need?", "--output-format", "stream-json", "--settings", FAST_RETRY],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
    assert done.returncode == 0, done.stderr
    sid = session_id(done.stdout)
    records = log_records(home, project, sid)
    kinds = [r["kind"] for r in records]
    start = records[0]
    assert start["kind"] == "session_started"
    assert start["cwd"] == str(project) and "Read" in start["tools"] and start["pid"] > 0
    assert "retrying" in kinds
    retry = records[kinds.index("retrying")]
    assert "529" in json.dumps(retry) or "overloaded" in json.dumps(retry).lower()
    assert kinds.index("tool_call_started") < kinds.index("tool_call_finished") < kinds.index("turn_ended")
    assert "text_delta" not in kinds  # Too chatty for a black box; the transcript has the text.
    assert records[-1]["kind"] == "turn_ended"
    text = run_cli(["log", sid[:12], "--tail", "2"], home=home, base_url=None, cwd=project)
    assert text.returncode == 0 and len(text.stdout.splitlines()) == 2
    assert "turn_ended" in text.stdout.splitlines()[-1]


def signal_during_bash(tmp_path: Path, sig: signal.Signals) -> tuple[Path, Path, str, int]:
    """Run a turn whose Bash command sleeps; send `sig` while it runs. Returns the project, the
    agentls home, the session id and the exit code."""
    project, home = tmp_path / "p", tmp_path / "h"
    project.mkdir()
    script = [Reply([ToolCall("Bash", {"command": "sleep 60"})]), Reply([Text("done")])]
    with (
        FakeMessagesAPI(script) as fake,
        live_cli(
            RUN_WAIT, home=home, base_url=fake.base_url, cwd=project, stderr_path=tmp_path / "err"
        ) as live,
    ):
        started = live.wait_event(lambda e: e.get("kind") == "session_started").event
        live.wait_event(lambda e: e.get("kind") == "tool_call_updated" and e.get("status") == "running")
        live.proc.send_signal(sig)
        code = live.wait_exit()
    return project, home, str(started["session_id"]), code


def test_after_kill_9_the_last_record_says_what_was_running(tmp_path: Path) -> None:
    project, home, sid, _code = signal_during_bash(tmp_path, signal.SIGKILL)
    records = log_records(home, project, sid)
    last = records[-1]
    assert last["kind"] == "tool_call_updated" and last["status"] == "running", last
    assert any(r["kind"] == "tool_call_started" and r["name"] == "Bash" for r in records)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_are_recorded_and_end_the_turn_cleanly(
    tmp_path: Path, sig: signal.Signals
) -> None:
    project, home, sid, code = signal_during_bash(tmp_path, sig)
    assert code == 130
    assert sorted(p.name for p in project.iterdir()) == [], "the sandbox left placeholders behind"
    records = log_records(home, project, sid)
    kinds = [r["kind"] for r in records]
    assert records[kinds.index("signal")]["signal"] == sig.name and kinds[-1] == "turn_ended"


def test_warnings_and_tracebacks_land_in_the_active_black_box(tmp_path: Path) -> None:
    box = BlackBox(tmp_path / "s.log")
    install_log_handler()
    logger = logging.getLogger("agentls.test.blackbox")
    with box.active():
        logger.info("not kept: below WARNING")
        logger.warning("disk %s is nearly full", "/x")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("the tool crashed")
    logger.warning("not kept: no session active")
    records = read(tmp_path / "s.log")
    assert [r["kind"] for r in records] == ["log", "internal_error"]
    assert records[0]["message"] == "disk /x is nearly full"
    assert "RuntimeError: boom" in records[1]["traceback"]


def test_a_black_box_stays_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import agentls.core.blackbox as blackbox

    monkeypatch.setattr(blackbox, "MAX_BYTES", 10_000)
    box = BlackBox(tmp_path / "s.log")
    for i in range(2000):
        box.write("tick", n=i, pad="x" * 50)
    sizes = [p.stat().st_size for p in tmp_path.iterdir()]
    assert len(sizes) == 2 and max(sizes) < 10_200
    records = read(tmp_path / "s.log")
    assert records[-1]["n"] == 1999 and records == sorted(records, key=lambda r: r["n"])


def test_an_unknown_session_is_a_clear_error(tmp_path: Path) -> None:
    done = run_cli(["log", "nope"], home=tmp_path / "h", base_url=None, cwd=tmp_path)
    assert done.returncode == 2 and "nope" in done.stderr


def test_doctor_names_what_to_fix(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / ".agentls").mkdir()
    (project / ".agentls" / "settings.json").write_text('{"permissions": {"allow": ["Bash(ls"]}}')
    bad = run_cli(
        ["doctor", "--cwd", str(project)], home=tmp_path / "h", base_url=None, cwd=project, api_key=None
    )
    assert bad.returncode == 1
    assert "FAIL  API key" in bad.stdout and "fix: export ANTHROPIC_API_KEY" in bad.stdout
    assert "Bash sandbox" in bad.stdout and "ripgrep" in bad.stdout and "open files" in bad.stdout
    good = run_cli(["doctor", "--cwd", str(project)], home=tmp_path / "h", base_url=None, cwd=project)
    assert "ok    API key" in good.stdout

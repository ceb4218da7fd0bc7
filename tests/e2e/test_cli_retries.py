"""`agentls run` against an overloaded fake API: `--fallback-model` (and a resume that keeps the
fallback), `--unattended` with `--deadline` and its exit code. Back-off is shortened with the
`retry` settings so the runs take seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentls.core.scripted import Reply, Text
from tests.e2e.helpers import kinds, parse_events, run_cli
from tests.fakeapi import FakeMessagesAPI, HttpError

pytestmark = pytest.mark.slow

MODEL = "claude-sonnet-5-5"
FALLBACK = "claude-haiku-4-5"
NO_WAIT = json.dumps({"retry": {"baseDelay": 0}})


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "agentls-home"


def test_fallback_model_takes_over_after_three_overloads_and_a_resume_keeps_it(
    project: Path, home: Path
) -> None:
    script = [HttpError.overloaded()] * 3 + [Reply([Text("Answered by the fallback.")])]
    with FakeMessagesAPI(script) as fake:
        result = run_cli(
            [
                "run",
                "hi",
                "--output-format",
                "stream-json",
                "--fallback-model",
                FALLBACK,
                "--settings",
                NO_WAIT,
            ],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        fake.assert_consumed()
        models = [r["model"] for r in fake.requests]
        assert result.returncode == 0, result.stderr
        events = parse_events(result.stdout)
        fake.add(Reply([Text("Still the fallback.")]))
        session_id = events[0]["session_id"]
        resumed = run_cli(
            ["run", "--resume", session_id, "again", "--settings", NO_WAIT],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        fake.assert_consumed()
        resumed_model = fake.requests[-1]["model"]
    assert models == [MODEL, MODEL, MODEL, FALLBACK]
    assert kinds(events).count("retrying") == 2
    [fallback] = [e for e in events if e["kind"] == "model_fallback"]
    assert (fallback["from_model"], fallback["to_model"], fallback["overloads"]) == (MODEL, FALLBACK, 3)
    assert events[-1]["kind"] == "turn_ended" and events[-1]["text"] == "Answered by the fallback."
    # The resumed session goes on with the fallback and says so.
    assert resumed.returncode == 0, resumed.stderr
    assert resumed_model == FALLBACK
    assert f"· {FALLBACK} ·" in resumed.stderr
    assert f"switched to the fallback model {FALLBACK}" in resumed.stderr
    assert resumed.stdout.strip() == "Still the fallback."


def test_the_text_output_says_the_model_was_switched(project: Path, home: Path) -> None:
    script = [HttpError.overloaded()] * 3 + [Reply([Text("ok")])]
    with FakeMessagesAPI(script) as fake:
        result = run_cli(
            ["run", "hi", "--fallback-model", FALLBACK, "--settings", NO_WAIT],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert "retry 1/10" in result.stderr and "retry 2/10" in result.stderr
    assert f"switched to the fallback model {FALLBACK} for the rest of the session" in result.stderr


def test_without_a_fallback_model_a_persistent_overload_fails_after_10_retries(
    project: Path, home: Path
) -> None:
    with FakeMessagesAPI([HttpError.overloaded()] * 11) as fake:
        result = run_cli(["run", "hi", "--settings", NO_WAIT], home=home, base_url=fake.base_url, cwd=project)
        fake.assert_consumed()
    assert result.returncode == 1
    assert "retry 10/10" in result.stderr and "error (overloaded)" in result.stderr


def test_unattended_gives_up_at_the_deadline_with_exit_code_4(project: Path, home: Path) -> None:
    settings = json.dumps({"retry": {"baseDelay": "0.1s"}})
    with FakeMessagesAPI([HttpError.overloaded()] * 50) as fake:
        result = run_cli(
            ["run", "hi", "--unattended", "--deadline", "3s", "--settings", settings],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        sent = len(fake.requests)
    assert result.returncode == 4, result.stderr
    assert "error (deadline): gave up at the deadline" in result.stderr
    assert 2 <= sent < 50  # Retried until the deadline, then stopped.
    assert "deadline in" in result.stderr


@pytest.mark.parametrize("deadline", ["soon", "0", "-1h"])
def test_a_bad_deadline_is_a_usage_error(project: Path, home: Path, deadline: str) -> None:
    result = run_cli(
        ["run", "hi", "--deadline", deadline], home=home, base_url="http://127.0.0.1:9", cwd=project
    )
    assert result.returncode == 2
    assert "--deadline" in result.stderr

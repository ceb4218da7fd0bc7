"""The terminal pieces: the approver's prompt and answers, the text and JSON renderers."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentls.cli.approver import RefusingApprover, TerminalApprover
from agentls.cli.main import main
from agentls.cli.render import TextRenderer, json_renderer
from agentls.core.errors import ErrorCause
from agentls.core.events import (
    EVENT_ADAPTER,
    Errored,
    MaxTurns,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnEnded,
)
from agentls.policy.decision import ApprovalRequest, CallFacts

REQUEST = ApprovalRequest(
    call_id="t1",
    call=CallFacts(
        tool="Bash",
        input={"command": "make"},
        read_only=False,
        edits_files=False,
        paths=(),
        summary="Bash: make",
    ),
    reason="Bash needs approval",
    diff="--- a/x\n+++ b/x\n",
)


async def _answer(text: str) -> tuple[str, str]:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, text.encode())
    os.close(write_fd)
    err = io.StringIO()
    with os.fdopen(read_fd) as stdin:
        response = await TerminalApprover(stdin=stdin, err=err).approve(REQUEST)
    return response.choice, err.getvalue()


@pytest.mark.parametrize(
    ("typed", "choice"),
    [
        ("y\n", "allow_once"),
        ("a\n", "allow_always"),
        ("n\n", "reject_once"),
        ("d\n", "reject_always"),
        ("maybe\nyes\n", "allow_once"),
        ("", "reject_once"),
    ],
)
async def test_terminal_approver_answers(typed: str, choice: str) -> None:
    got, shown = await _answer(typed)
    assert got == choice
    assert "Bash: make" in shown and "Bash needs approval" in shown and "+++ b/x" in shown
    if typed.startswith("maybe"):
        assert "not a choice: 'maybe'" in shown


async def test_refusing_approver_says_how_to_allow() -> None:
    err = io.StringIO()
    response = await RefusingApprover(err=err).approve(REQUEST)
    assert not response.allowed and response.message
    assert "--permission-mode" in err.getvalue()


def test_text_renderer_separates_answer_from_activity() -> None:
    out, err = io.StringIO(), io.StringIO()
    render = TextRenderer(out, err)
    render(TextDelta(text="Checking"))
    render(ToolCallStarted(call_id="t1", name="Bash", input={}, title="Bash: pytest"))
    render(ToolCallFinished(call_id="t1", name="Bash", is_error=False, output="....\n2 failed, 3 passed"))
    render(TextDelta(text="Two fail."))
    render(TurnEnded(session_id="s1", stop=MaxTurns(limit=3), requests=3))
    assert out.getvalue() == "Checking\nTwo fail.\n"
    lines = err.getvalue().splitlines()
    assert lines[0] == "● Bash: pytest"
    assert lines[1] == "  ⎿ 2 failed, 3 passed (+1 lines)"
    assert "stopped: max_turns (limit 3)" in err.getvalue()
    assert "agentls run --resume s1" in err.getvalue()


def test_text_renderer_reports_errors() -> None:
    err = io.StringIO()
    TextRenderer(io.StringIO(), err)(
        TurnEnded(session_id="s", stop=Errored(cause=ErrorCause(kind="authentication", message="bad key")))
    )
    assert "error (authentication): bad key" in err.getvalue()


def test_json_renderer_writes_one_parseable_event_per_line() -> None:
    out = io.StringIO()
    render = json_renderer(out)
    render(TextDelta(text="a\nb"))
    render(TurnEnded(session_id="s", stop=MaxTurns(limit=1)))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert [EVENT_ADAPTER.validate_json(line).kind for line in lines] == ["text_delta", "turn_ended"]
    assert json.loads(lines[0])["text"] == "a\nb"


@pytest.mark.parametrize("address", ["nope", "host:", ":80", "host:99999", "host:http"])
def test_bad_tcp_address_is_a_usage_error(capsys: pytest.CaptureFixture[str], address: str) -> None:
    assert main(["--tcp", address]) == 2
    assert "--tcp expects HOST:PORT" in capsys.readouterr().err


def test_sessions_lists_recorded_sessions(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    assert main(["sessions"]) == 0
    assert "no sessions" in capsys.readouterr().out
    assert main(["demo", "--dir", str(project / "demo")]) == 0
    capsys.readouterr()
    assert main(["sessions"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 1 and "scripted-demo" in listed[0] and str(project / "demo") in listed[0]
    # The demo really fixed the sample project.
    check = subprocess.run(
        [sys.executable, "-m", "unittest", "-q"],
        cwd=project / "demo",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
    assert "text.split()" in (project / "demo" / "textstats.py").read_text()


def test_thinking_option_parses_and_rejects(capsys: pytest.CaptureFixture[str]) -> None:
    from agentls.cli.main import _parser

    assert _parser().parse_args(["run", "x", "--thinking", "adaptive"]).thinking.type == "adaptive"
    assert _parser().parse_args(["run", "x", "--thinking", "4096"]).thinking.budget_tokens == 4096
    for bad in ("512", "lots"):
        with pytest.raises(SystemExit) as exit_info:
            _parser().parse_args(["run", "x", "--thinking", bad])
        assert exit_info.value.code == 2
    assert "at least 1024" in capsys.readouterr().err


def test_config_keeps_room_to_answer_after_thinking() -> None:
    from pydantic import ValidationError

    from agentls.core.config import AgentConfig
    from agentls.core.model import ThinkingConfig

    with pytest.raises(ValidationError, match="must be below max_tokens"):
        AgentConfig(model="m", max_tokens=4000, thinking=ThinkingConfig(budget_tokens=4000))

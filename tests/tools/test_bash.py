"""BashTool: schema, output formatting, timeouts, cancellation and the scrubbed environment."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from agentls.tools.base import FileReadState, ToolContext, ToolEnv, ToolLimits
from agentls.tools.bash import BashInput, BashTool, format_result, is_secret_env_name, scrubbed_env
from agentls.workspace.port import ProcessResult

TOOL = BashTool()


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


async def run(ctx: ToolContext, **raw: object) -> tuple[str, bool]:
    out = await TOOL.call(TOOL.parse(dict(raw)), ctx)
    return out.content, out.is_error


def test_schema_matches_claude_code() -> None:
    schema = TOOL.input_schema()
    assert set(schema["properties"]) == {"command", "timeout", "description"}
    assert schema["required"] == ["command"]
    assert schema["additionalProperties"] is False
    assert TOOL.name == "Bash" and TOOL.destructive and not TOOL.read_only


def test_input_validation() -> None:
    with pytest.raises(ValidationError):
        TOOL.parse({"command": "ls", "timeout": 600_001})
    with pytest.raises(ValidationError):
        TOOL.parse({"command": "ls", "timeout": 0})
    with pytest.raises(ValidationError):
        TOOL.parse({"command": "x" * 100_001})
    with pytest.raises(ValidationError):
        TOOL.parse({"command": "ls", "cwd": "/"})


def test_summary_and_description(project: Path) -> None:
    assert TOOL.summary(BashInput(command="ls -la\necho hi"), Path("/p")) == "Bash: ls -la …"
    assert TOOL.summary(BashInput(command="x" * 200), Path("/p")).endswith("…")
    assert len(TOOL.summary(BashInput(command="x" * 200), Path("/p"))) == len("Bash: ") + 80
    assert TOOL.summary(BashInput(command="pytest -q", description="Runs the test suite"), Path("/p")) == (
        "Bash: Runs the test suite"
    )
    text = TOOL.description(ToolEnv(root=project))
    assert str(project) in text and "120 s" in text and "600 s" in text and "30000" in text
    assert "Grep" in text and "Glob" in text and "Read" in text


async def test_runs_in_workspace_root(tool_ctx: ToolContext, project: Path) -> None:
    assert await run(tool_ctx, command="pwd") == (str(project), False)


async def test_fresh_shell_each_call(tool_ctx: ToolContext) -> None:
    await run(tool_ctx, command="cd /; export FOO=1")
    content, _ = await run(tool_ctx, command='pwd; echo "[$FOO]"')
    assert content.splitlines()[1] == "[]"
    assert content.splitlines()[0] != "/"


async def test_nonzero_exit_is_data_not_error(tool_ctx: ToolContext) -> None:
    content, is_error = await run(tool_ctx, command="echo failing test >&2; exit 2")
    assert content == "failing test\nExit code 2"
    assert not is_error


async def test_no_output(tool_ctx: ToolContext) -> None:
    assert await run(tool_ctx, command="true") == ("(no output)", False)
    assert await run(tool_ctx, command="false") == ("(no output)\nExit code 1", False)


async def test_stdin_is_empty_and_prompts_are_disabled(tool_ctx: ToolContext) -> None:
    content, _ = await run(tool_ctx, command='cat; echo "$GIT_TERMINAL_PROMPT $PAGER $GIT_PAGER"')
    assert content == "0 cat cat"


async def test_timeout_is_an_error_and_kills_children(tool_ctx: ToolContext) -> None:
    started = time.monotonic()
    content, is_error = await run(
        tool_ctx, command="sleep 300 & echo $!; setsid sleep 300 & echo $!; wait", timeout=300
    )
    assert time.monotonic() - started < 5
    assert is_error
    assert "timed out after 0.3 s" in content and "killed" in content
    pids = [int(w) for w in content.split() if w.isdigit()]
    assert len(pids) == 2
    assert not any(alive(p) for p in pids)


async def test_timeout_is_capped_by_limits(project: Path, disk_ws: object) -> None:
    limits = ToolLimits(bash_max_timeout_ms=200)
    ctx = ToolContext(workspace=disk_ws, read_state=FileReadState(), limits=limits, env_for_subprocess={})  # type: ignore[arg-type]
    content, is_error = await run(ctx, command="sleep 5", timeout=600_000)
    assert is_error and "0.2 s" in content


async def test_cancellation_kills_children(tool_ctx: ToolContext, project: Path) -> None:
    pid_file = project / "pids"
    command = f"sleep 300 & echo $! >> {pid_file}; sleep 300 & echo $! >> {pid_file}; wait"
    task = asyncio.create_task(TOOL.call(BashInput(command=command), tool_ctx))
    for _ in range(250):
        if pid_file.exists() and len(pid_file.read_text().split()) == 2:
            break
        await asyncio.sleep(0.02)
    pids = [int(w) for w in pid_file.read_text().split()]
    assert len(pids) == 2 and all(alive(p) for p in pids)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if not any(alive(p) for p in pids):
            break
        await asyncio.sleep(0.02)
    assert not any(alive(p) for p in pids)


async def test_output_cap_keeps_head_and_tail(project: Path, disk_ws: object) -> None:
    ctx = ToolContext(
        workspace=disk_ws,  # type: ignore[arg-type]
        read_state=FileReadState(),
        limits=ToolLimits(bash_output_chars=100),
        env_for_subprocess=dict(os.environ),
    )
    content, is_error = await run(ctx, command="echo FIRST; seq 1 10000; echo LAST")
    assert not is_error
    assert content.startswith("FIRST\n1\n2\n")
    assert content.endswith("9999\n10000\nLAST")
    assert "characters of output omitted" in content


async def test_secrets_are_not_passed(monkeypatch: pytest.MonkeyPatch, disk_ws: object) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake-value-123")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-fake-token-456")
    monkeypatch.setenv("MY_SERVICE_PASSWORD", "hunter2-fake")
    monkeypatch.setenv("SSH_AUTH_SOCK", "/tmp/fake-agent.sock")
    monkeypatch.setenv("AGENTLS_TEST_MARKER", "visible")
    ctx = ToolContext(workspace=disk_ws, read_state=FileReadState())  # type: ignore[arg-type]
    content, _ = await run(ctx, command="env")
    for secret in ("sk-ant-fake-value-123", "ghp-fake-token-456", "hunter2-fake", "fake-agent.sock"):
        assert secret not in content
    assert "AGENTLS_TEST_MARKER=visible" in content
    assert "PATH=" in content


def test_scrubbed_env_rules() -> None:
    base = {
        "PATH": "/bin",
        "HOME": "/home/u",
        "LANG": "C.UTF-8",
        "LC_ALL": "C",
        "TERM": "xterm",
        "USER": "u",
        "SHELL": "/bin/bash",
        "TMPDIR": "/tmp",
        "PYTHONPATH": "x",
        "VIRTUAL_ENV": "/v",
        "GIT_AUTHOR_NAME": "A",
        "TOKENIZERS_PARALLELISM": "false",
        "OPENAI_API_KEY": "s",
        "npm_token": "s",
        "AWS_PROFILE": "s",
        "AWS_SECRET_ACCESS_KEY": "s",
        "ANTHROPIC_BASE_URL": "s",
        "GH_HOST": "s",
        "DB_PASSWD": "s",
        "CLIENT_SECRET": "s",
        "GOOGLE_APPLICATION_CREDENTIALS": "s",
        "STRIPE_KEY": "s",
        "SSH_AUTH_SOCK": "s",
        "GITLAB_PAT": "s",
    }
    kept = scrubbed_env(base)
    assert set(kept) == {
        "PATH",
        "HOME",
        "LANG",
        "LC_ALL",
        "TERM",
        "USER",
        "SHELL",
        "TMPDIR",
        "PYTHONPATH",
        "VIRTUAL_ENV",
        "GIT_AUTHOR_NAME",
        "TOKENIZERS_PARALLELISM",
    }
    assert is_secret_env_name("anthropic_auth_token")


def test_format_result_signal() -> None:
    result = ProcessResult(exit_code=-11, output="boom\n")
    assert format_result(result, 1000) == "boom\nKilled by signal 11 (SIGSEGV)"

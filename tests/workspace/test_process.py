"""run_process: capped output, timeouts, cancellation, and no process left behind."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from agentls.workspace.port import ProcessSpec, WorkspaceError
from agentls.workspace.process import run_process

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def spec(command: str, cwd: Path, timeout_s: float = 10.0, **kw: object) -> ProcessSpec:
    return ProcessSpec(["/bin/sh", "-c", command], cwd, dict(os.environ), timeout_s, **kw)  # type: ignore[arg-type]


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for init to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


async def assert_all_gone(pids: list[int]) -> None:
    assert pids
    for _ in range(100):  # SIGKILL delivery is asynchronous; allow a moment before judging.
        if not any(alive(p) for p in pids):
            break
        await asyncio.sleep(0.02)
    assert [p for p in pids if alive(p)] == []


def pids_in(output: str) -> list[int]:
    return [int(word) for word in output.split() if word.isdigit()]


async def test_exit_code_and_interleaved_output(tmp_path: Path) -> None:
    result = await run_process(spec("echo out; echo err >&2; echo out2; exit 3", tmp_path))
    assert result.exit_code == 3
    assert result.output == "out\nerr\nout2\n"
    assert not result.timed_out
    assert result.truncated_chars == 0
    assert result.duration_s >= 0


async def test_cwd_env_and_stdin(tmp_path: Path) -> None:
    s = ProcessSpec(
        ["/bin/sh", "-c", 'pwd; echo "$FOO"; cat'],
        tmp_path,
        {"FOO": "bar", "PATH": "/usr/bin:/bin"},
        5,
        stdin=b"in\n",
    )
    result = await run_process(s)
    assert result.output == f"{tmp_path}\nbar\nin\n"


async def test_large_stdin_with_large_output_does_not_deadlock(tmp_path: Path) -> None:
    data = b"x" * 1_000_000 + b"\n"
    result = await run_process(spec("cat; cat /dev/null", tmp_path, stdin=data, output_limit=100))
    assert result.exit_code == 0
    assert result.truncated_chars == len(data) - 100


async def test_output_cap_keeps_head_and_tail(tmp_path: Path) -> None:
    result = await run_process(
        spec(
            "echo START; i=0; while [ $i -lt 5000 ]; do echo line$i; i=$((i+1)); done; echo END",
            tmp_path,
            output_limit=200,
        )
    )
    assert result.output.startswith("START\nline0\n")
    assert result.output.endswith("line4999\nEND\n")
    assert f"[... {result.truncated_chars} characters of output omitted ...]" in result.output
    total = len("START\n") + sum(len(f"line{i}\n") for i in range(5000)) + len("END\n")
    assert result.truncated_chars == total - 200


async def test_invalid_utf8_is_replaced(tmp_path: Path) -> None:
    result = await run_process(spec(r"printf 'a\377b\n'", tmp_path))
    assert result.output == "a\ufffdb\n"


async def test_timeout_kills_background_children(tmp_path: Path) -> None:
    started = time.monotonic()
    result = await run_process(
        spec("sleep 300 & echo $!; sleep 300 & echo $!; wait", tmp_path, timeout_s=0.5)
    )
    assert result.timed_out and result.exit_code is None
    assert time.monotonic() - started < 5
    pids = pids_in(result.output)
    assert len(pids) == 2
    await assert_all_gone(pids)


async def test_timeout_kills_setsid_children(tmp_path: Path) -> None:
    result = await run_process(
        spec("setsid sleep 300 & echo $!; sleep 300 & echo $!; wait", tmp_path, timeout_s=0.5)
    )
    assert result.timed_out
    await assert_all_gone(pids_in(result.output))


async def test_term_ignoring_process_is_killed(tmp_path: Path) -> None:
    result = await run_process(
        spec("trap '' TERM; echo $$; while :; do sleep 0.05; done", tmp_path, timeout_s=0.3)
    )
    assert result.timed_out
    await assert_all_gone(pids_in(result.output))


async def test_background_child_holding_pipe_does_not_hang(tmp_path: Path) -> None:
    started = time.monotonic()
    result = await run_process(spec("sleep 300 & echo $!; echo done", tmp_path, timeout_s=30))
    assert time.monotonic() - started < 5
    assert result.exit_code == 0 and not result.timed_out
    assert "done" in result.output
    await assert_all_gone(pids_in(result.output))


async def test_double_forked_daemon_holding_pipe_is_killed_after_exit(tmp_path: Path) -> None:
    started = time.monotonic()
    result = await run_process(spec("(setsid sh -c 'echo $$; exec sleep 300' &); echo parent done", tmp_path))
    assert time.monotonic() - started < 5
    assert result.exit_code == 0 and "parent done" in result.output
    await assert_all_gone(pids_in(result.output))


async def test_process_closing_stdout_still_times_out(tmp_path: Path) -> None:
    result = await run_process(spec("echo $$; exec >&- 2>&-; sleep 300", tmp_path, timeout_s=0.5))
    assert result.timed_out
    await assert_all_gone(pids_in(result.output))


async def test_cancellation_kills_everything_and_propagates(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    command = f"sleep 300 & echo $! >> {pid_file}; setsid sleep 300 & echo $! >> {pid_file}; wait"
    task = asyncio.create_task(run_process(spec(command, tmp_path, timeout_s=60)))
    deadline = time.monotonic() + 5
    while len(pid_file.read_text().split() if pid_file.exists() else []) < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_all_gone(pids_in(pid_file.read_text()))


async def test_missing_program_is_a_workspace_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="Cannot run"):
        await run_process(ProcessSpec([str(tmp_path / "nope")], tmp_path, {}, 5))

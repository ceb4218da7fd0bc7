"""Cancelling `agentls run` (Ctrl-C or SIGTERM) during a Bash call: the turn ends as cancelled, the
CLI exits 130, and no process the command started outlives it."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentls.core.scripted import Reply, ToolCall
from tests.e2e.helpers import file_lines, host_pids, kill_pids, live_cli, process_gone, wait_until
from tests.fakeapi import FakeMessagesAPI

pytestmark = pytest.mark.slow

# Two background sleeps and the shell itself; each writes a line to pids.txt as soon as it exists,
# because the tool's output is only reported when the command ends. The pids are the sandbox's
# own, so the host's are found by the unusual sleep duration (MARKER).
MARKER = "sleep 3011"
COMMAND = f"{MARKER} & echo $! >> pids.txt; {MARKER} & echo $! >> pids.txt; echo $$ >> pids.txt; wait"


@pytest.fixture
def pids_left(project: Path) -> Iterator[Path]:
    """pids.txt of the test; whatever still runs the marker is killed at teardown, should the test fail."""
    path = project / "pids.txt"
    yield path
    kill_pids(host_pids(MARKER))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cancel_during_bash_kills_everything_it_started(
    project: Path, tmp_path: Path, pids_left: Path, sig: signal.Signals
) -> None:
    script = [Reply([ToolCall("Bash", {"command": COMMAND, "description": "Sleep in the background"})])]
    with (
        FakeMessagesAPI(script) as fake,
        live_cli(
            [
                "run",
                "--permission-mode",
                "bypassPermissions",
                "--output-format",
                "stream-json",
                "wait a while",
            ],
            home=tmp_path / "agentls-home",
            base_url=fake.base_url,
            cwd=project,
            stderr_path=tmp_path / "stderr.txt",
        ) as cli,
    ):
        cli.wait_event(lambda e: e.get("kind") == "tool_call_updated" and e["status"] == "running")
        wait_until(lambda: len(file_lines(pids_left)) == 3)
        pids = host_pids(MARKER)
        assert len(pids) >= 3, pids  # The two sleeps and the shell (and bwrap, in the sandbox).

        os.kill(cli.proc.pid, sig)
        code = cli.wait_exit()
        fake.assert_consumed()

    assert code == 130, cli.stderr()
    assert "Traceback" not in cli.stderr()
    events = cli.events()
    assert all(line.event for line in cli.lines), "stdout must hold only JSON events"
    assert events[-1]["kind"] == "turn_ended"
    assert events[-1]["stop"] == {"kind": "cancelled"}
    (finished,) = [e for e in events if e["kind"] == "tool_call_finished"]
    assert finished["is_error"] is True
    assert "Cancelled" in finished["output"]

    wait_until(lambda: all(process_gone(pid) for pid in pids), timeout=5.0, what=f"pids {pids} to exit")

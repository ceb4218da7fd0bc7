"""How `agentls` starts and ends (cli/startup.py): the quick exit keeps what a normal exit keeps,
and the garbage collector is never left off."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentls.cli.main import main


def test_the_quick_exit_runs_the_exit_hooks_and_flushes_the_streams(tmp_path: Path) -> None:
    marker = tmp_path / "hook-ran"
    script = textwrap.dedent(
        f"""
        import atexit, sys
        from agentls.cli.startup import exit_now
        atexit.register(lambda: open({str(marker)!r}, "w").write("yes"))
        sys.stdout.write("buffered, no newline")  # Piped: block-buffered, not yet written.
        sys.stderr.write("and on stderr")
        exit_now(3)
        print("never")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert done.stdout == "buffered, no newline"
    assert done.stderr == "and on stderr"
    assert marker.read_text() == "yes"


def test_the_entry_point_exits_with_mains_code() -> None:
    # (The conftest took the API key out of the environment: `run` refuses with code 2.)
    done = subprocess.run(
        [sys.executable, "-m", "agentls", "run", "hi"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "ANTHROPIC_API_KEY is not set" in done.stderr


def test_run_leaves_the_collector_on_when_it_fails_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert gc.isenabled()
    assert main(["run", "hi"]) == 2  # No key: refused before the SDK is imported.
    assert gc.isenabled()


def test_other_commands_give_the_collector_back_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The entry point holds it for `run` (cli/launch.py); any other command lets it go first."""
    gc.disable()
    try:
        assert main(["sessions"]) == 0
        assert gc.isenabled()
    finally:
        gc.enable()

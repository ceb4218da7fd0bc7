"""Running `agentls` as a real subprocess against the fake Messages API, and reading what it says.

Every wait here polls a condition against a deadline, so a hang fails the test instead of
blocking the run, and nothing synchronises on a bare sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentls.core.events import EVENT_ADAPTER

TIMEOUT_S = 30.0
"""Upper bound for any single wait on the CLI: generous, so only a real hang trips it."""

VENV_BIN = Path(sys.executable).parent


def cli_env(home: Path, base_url: str | None, *, api_key: str | None = "test-key") -> dict[str, str]:
    """The environment for a CLI run: this one, plus the fake API, a private home and the venv first
    on PATH (so `python -m pytest` inside the Bash tool finds pytest)."""
    env = dict(os.environ)
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS"):
        env.pop(name, None)
    if api_key is not None:
        env["ANTHROPIC_API_KEY"] = api_key
    if base_url is not None:
        env["ANTHROPIC_BASE_URL"] = base_url
    env["AGENTLS_HOME"] = str(home)
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def cli_argv(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "agentls", *args]


def run_cli(
    args: Sequence[str],
    *,
    home: Path,
    base_url: str | None,
    cwd: Path,
    api_key: str | None = "test-key",
    timeout: float = TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """Run `agentls ARGS` to completion with stdin closed."""
    return subprocess.run(
        cli_argv(args),
        env=cli_env(home, base_url, api_key=api_key),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def parse_events(stdout: str) -> list[dict[str, Any]]:
    """Every stdout line as a JSON event; fails if any line is not one (stream-json is JSON only)."""
    events = []
    for line in stdout.splitlines():
        events.append(parse_event_line(line))
    return events


def parse_event_line(line: str) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except ValueError:
        raise AssertionError(f"stdout line is not JSON: {line!r}") from None
    assert isinstance(event, dict) and "kind" in event, f"not an event: {line!r}"
    EVENT_ADAPTER.validate_json(line)  # Also a valid `AgentEvent`, not just JSON with a kind.
    return event


def kinds(events: Sequence[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in events]


def wait_until(condition: Callable[[], Any], *, timeout: float = TIMEOUT_S, what: str = "condition") -> Any:
    """Poll `condition` until it returns something truthy; return that, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def file_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


# --- A CLI process whose stream-json output is read while it runs ---------------------------------


@dataclass
class Line:
    at: float
    """`time.monotonic()` when the line was read."""
    text: str
    event: dict[str, Any]


@dataclass
class LiveCli:
    """`agentls ARGS` running in the background: stdout is read line by line on a thread (with the
    time each line arrived), stderr goes to a file so neither pipe can fill up and stall it."""

    proc: subprocess.Popen[str]
    stderr_path: Path
    lines: list[Line] = field(default_factory=list)
    on_line: Callable[[Line], None] | None = None
    _queue: queue.Queue[Line | None] = field(default_factory=queue.Queue)
    _thread: threading.Thread | None = None

    @classmethod
    def start(
        cls,
        args: Sequence[str],
        *,
        home: Path,
        base_url: str,
        cwd: Path,
        stderr_path: Path,
        on_line: Callable[[Line], None] | None = None,
    ) -> LiveCli:
        with open(stderr_path, "w", encoding="utf-8") as err:
            proc = subprocess.Popen(
                cli_argv(args),
                env=cli_env(home, base_url),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                bufsize=1,
            )
        live = cls(proc, stderr_path, on_line=on_line)
        live._thread = threading.Thread(target=live._read, name="agentls-stdout", daemon=True)
        live._thread.start()
        return live

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            text = raw.rstrip("\n")
            line = Line(time.monotonic(), text, parse_event_line(text) if text.startswith("{") else {})
            if self.on_line is not None:
                self.on_line(line)
            self._queue.put(line)
        self._queue.put(None)

    def _drain(self, timeout: float) -> bool:
        """Move lines read so far into `lines`; False once stdout has closed."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return True
        while True:
            if item is None:
                self._queue.put(None)  # Keep the end marker for later calls.
                return False
            self.lines.append(item)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return True

    def wait_event(self, match: Callable[[dict[str, Any]], bool], *, timeout: float = TIMEOUT_S) -> Line:
        """The first line (already read or still to come) whose event satisfies `match`."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for line in self.lines[seen:]:
                if match(line.event):
                    return line
            seen = len(self.lines)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for an event; got {self.kinds()}\n{self.stderr()}")
            if not self._drain(min(remaining, 0.1)) and seen == len(self.lines):
                raise AssertionError(
                    f"agentls closed stdout without the event; got {self.kinds()}\n{self.stderr()}"
                )

    def wait_exit(self, timeout: float = TIMEOUT_S) -> int:
        code = self.proc.wait(timeout=timeout)
        if self._thread is not None:
            self._thread.join(timeout)
        while self._drain(0):
            pass
        return code

    def events(self) -> list[dict[str, Any]]:
        return [line.event for line in self.lines]

    def kinds(self) -> list[str]:
        return [e.get("kind", "?") for e in self.events()]

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Kill the CLI if it is still running (test cleanup)."""
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=TIMEOUT_S)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@contextlib.contextmanager
def live_cli(*args: Any, **kwargs: Any) -> Iterator[LiveCli]:
    live = LiveCli.start(*args, **kwargs)
    try:
        yield live
    finally:
        live.stop()


# --- Processes ---------------------------------------------------------------------------------------


def process_gone(pid: int) -> bool:
    """True if `pid` no longer runs: no /proc entry, or a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    # The state follows the command name, which is in parentheses and may itself contain ')'.
    state = stat[stat.rfind(")") + 2 :].split(" ", 1)[0]
    return state in ("Z", "X")


def kill_group(pgid: int) -> None:
    """SIGKILL a process group left behind by a test (cleanup; missing groups are fine)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def host_pids(marker: str) -> list[int]:
    """Live processes whose command line contains `marker`, as the host sees them.

    Commands run in the Bash sandbox's own pid namespace, so the pids they print (`$$`, `$!`) are
    not host pids; tests find their processes by a marker in the command line instead.
    """
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and not process_gone(int(entry.name)):
            found.append(int(entry.name))
    return found


def kill_pids(pids: Sequence[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)

"""Starting the test MCP server (`servers/echo_server.py`) and checking its processes are gone.

Every wait is bounded: a server that does not listen or a process that does not die fails the
test instead of hanging it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ECHO_SERVER = Path(__file__).parent / "servers" / "echo_server.py"
WAIT_S = 30.0


def echo_entry(pid_file: Path | None = None, **extra: Any) -> dict[str, Any]:
    """A stdio entry for the echo server (`extra` adds or overrides keys, e.g. `timeout`)."""
    entry: dict[str, Any] = {"type": "stdio", "command": sys.executable, "args": [str(ECHO_SERVER)]}
    if pid_file is not None:
        entry["env"] = {"ECHO_PID_FILE": str(pid_file)}
    return {**entry, **extra}


def pids(pid_file: Path) -> list[int]:
    try:
        return [int(line) for line in pid_file.read_text().split()]
    except FileNotFoundError:
        return []


def running(pid: int) -> bool:
    """In the process table and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def wait_gone(pid: int, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while running(pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"MCP server process {pid} is still running after {timeout:g} s")
        time.sleep(0.05)


def wait_for(condition: Any, timeout: float = WAIT_S, what: str = "a condition") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)
    return value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def http_server(mode: str = "--http") -> Iterator[str]:
    """The echo server on 127.0.0.1 (`--http`: streamable HTTP at /mcp; `--sse`: SSE at /sse),
    in a subprocess; yields its URL once it listens, and stops it afterwards."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ECHO_SERVER), mode, str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def listening() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"the test MCP server exited with {proc.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
            return False

        wait_for(listening, what=f"the MCP server to listen on port {port}")
        yield f"http://127.0.0.1:{port}/{'mcp' if mode == '--http' else 'sse'}"
    finally:
        proc.kill()
        proc.wait(timeout=WAIT_S)


def server_env() -> dict[str, str]:
    """The environment a test server gets: this one without pytest's variables."""
    env = dict(os.environ)
    env.pop("PYTEST_CURRENT_TEST", None)
    return env

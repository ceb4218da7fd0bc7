"""`python -m agentls` on raw pipes: write any bytes, read framed messages back.

For tests of what the server does with the bytes themselves (framing, malformed JSON-RPC, the fast
`initialize`), where a real client library would refuse to send them. A thread frames the server's
stdout into a queue; `stderr` goes to a file.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

WAIT_S = 60.0
"""Upper bound for one wait: generous, so only a hang trips it."""


def frame(message: Any) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def initialize(capabilities: dict[str, Any], msg_id: int | str = 1, **params: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": msg_id,
        "method": "initialize",
        "params": {"processId": None, "rootUri": None, "capabilities": capabilities, **params},
    }


def request(msg_id: int | str, method: str, params: Any = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def notification(method: str, params: Any = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return message


class Server:
    """`python -m agentls` on pipes; a thread frames its stdout into a queue."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.stderr_path = cwd / "stderr.log"
        with self.stderr_path.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agentls"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=cwd,
                env=env,
            )
        self.received: list[dict[str, Any]] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            length = None
            while (line := self.proc.stdout.readline()) not in (b"\r\n", b""):
                if line.startswith(b"Content-Length: "):
                    length = int(line.split(b":")[1])
            if not line or length is None:
                self._queue.put(None)
                return
            self._queue.put(json.loads(self.proc.stdout.read(length)))

    def send(self, *messages: Any, raw: bytes = b"") -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(raw + b"".join(map(frame, messages)))
        self.proc.stdin.flush()

    def next_message(self, timeout: float = WAIT_S) -> dict[str, Any]:
        message = self._queue.get(timeout=timeout)
        assert message is not None, f"the server closed stdout; stderr:\n{self.stderr()}"
        self.received.append(message)
        return message

    def response(self, msg_id: int | str | None, timeout: float = WAIT_S) -> dict[str, Any]:
        """The next response to `msg_id` (collecting everything received meanwhile)."""
        while True:
            message = self.next_message(timeout)
            if message.get("id") == msg_id and "method" not in message:
                return message

    def finish(self) -> int:
        """Wait for exit and collect everything the server still wrote."""
        code = self.proc.wait(timeout=WAIT_S)
        while (message := self._queue.get(timeout=WAIT_S)) is not None:
            self.received.append(message)
        return code

    def responses_to(self, msg_id: int | str | None) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("id") == msg_id and "method" not in m]

    def rss_kib(self) -> int:
        """Resident memory of the server process, from /proc."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS in /proc status")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(timeout=10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


def server_env(**overrides: str) -> dict[str, str]:
    """The test's environment, with the fast start on unless `overrides` turn it off."""
    environ = {k: v for k, v in os.environ.items() if k != "AGENTLS_NO_FAST_START"}
    return {**environ, **overrides}

"""Running `emacs -nw` under a pseudo-terminal and typing into it as a user would.

The elisp driver reports events (JSON lines) to a file; `EmacsSession.wait_event` polls that
file against a deadline, and `type` writes keys to the terminal. The terminal's output is
drained on a thread (Emacs would block on a full pty otherwise) and kept for failure messages.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WAIT_S = 200.0
"""Upper bound for one wait: generous for a shared, slow machine; only a hang trips it."""


def _controlling_tty() -> None:
    """In the child: a new session whose controlling terminal is the pty (Emacs opens /dev/tty)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class EmacsSession:
    def __init__(self, argv: list[str], *, cwd: Path, env: dict[str, str], events: Path) -> None:
        self.events_path = events
        self.seen: list[dict[str, Any]] = []
        self._read_upto = 0
        self.screen = bytearray()
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.master = master
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            preexec_fn=_controlling_tty,
            close_fds=True,
        )
        os.close(slave)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self.started = time.monotonic()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.screen.extend(data)
            if len(self.screen) > 2_000_000:
                del self.screen[:1_000_000]

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode("utf-8"))

    def _read_events(self) -> None:
        if not self.events_path.exists():
            return
        data = self.events_path.read_bytes()
        # Only whole lines: the driver may be mid-write.
        end = data.rfind(b"\n") + 1
        for line in data[self._read_upto : end].splitlines():
            if line.strip():
                self.seen.append(json.loads(line))
        self._read_upto = max(self._read_upto, end)

    def wait_event(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        what: str,
        *,
        start: int = 0,
        within: float = WAIT_S,
        nudge: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """The first event at index >= start that matches; fails with the whole story otherwise.
        With `nudge`, those keys are typed twice a second meanwhile (a user moving around)."""
        deadline = time.monotonic() + within
        next_nudge = time.monotonic() + 0.2
        while True:
            if nudge is not None and time.monotonic() >= next_nudge:
                self.type(nudge)
                next_nudge = time.monotonic() + 0.5
            self._read_events()
            for index in range(start, len(self.seen)):
                event = self.seen[index]
                if predicate(event):
                    return index, event
                if event.get("event") == "done" and not predicate(event):
                    raise AssertionError(f"Emacs finished while waiting for {what}\n{self.report()}")
            if self.proc.poll() is not None:
                self._read_events()
                if not any(predicate(e) for e in self.seen[start:]):
                    raise AssertionError(
                        f"Emacs exited ({self.proc.returncode}) while waiting for {what}\n{self.report()}"
                    )
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {within:g} s waiting for {what}\n{self.report()}")
            time.sleep(0.05)

    def done(self) -> dict[str, Any] | None:
        self._read_events()
        for event in self.seen:
            if event.get("event") == "done":
                return event
        return None

    def report(self) -> str:
        self._read_events()
        states = [e for e in self.seen if e.get("event") == "state"]
        done = self.done() or (states[-1] if states else {})
        shown = [e for e in self.seen if e.get("event") not in ("done", "state")]
        screen = self.screen[-4000:].decode("utf-8", "replace")
        return "\n".join(
            [
                f"emacs exit code: {self.proc.poll()} after {time.monotonic() - self.started:.1f} s",
                f"events: {json.dumps(shown, ensure_ascii=False)}",
                f"result: ok={done.get('ok')} why={done.get('why')!r} ({len(states)} state reports)",
                f"buffer:\n{done.get('buffer', '(not reported)')}",
                f"*Messages* (tail):\n{str(done.get('messages', ''))[-4000:]}",
                f"eglot events (tail):\n{str(done.get('eglot_events', ''))[-8000:]}",
                f"terminal output (tail, raw):\n{screen}",
            ]
        )

    def close(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        with contextlib.suppress(OSError):
            os.close(self.master)
        self._reader.join(5)

"""The black box: a per-session log of what the agent was doing, apart from the transcript.

The transcript holds the conversation, for resuming it. The black box holds the story of the
process around it, for finding out what went wrong: start-up and what was loaded (settings files,
the tool pool, the sandbox), each API request, retries and their causes, model fallbacks,
compactions, tool calls and permission decisions, signals received, and every warning or internal
error with its traceback. `agentls log SESSION` prints it.

Written so that after a crash the last record says what was happening: a record is appended
*before* the work it announces (`request_started`, `tool_call_started`) and flushed to the kernel
at once (a killed process loses nothing; only a power cut could). The file is opened per write,
never held, and kept under `MAX_BYTES` by keeping one previous generation (`.log.1`). Writing
never raises: a black box that cannot be written must not take the agent down with it.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import threading
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentls.core.events import AgentEvent

log = logging.getLogger(__name__)

SUFFIX = ".log"
MAX_BYTES = 8 * 1024 * 1024
_MAX_FIELD = 400
"""Longest string kept in a field; file contents and tool outputs belong in the transcript."""

_QUIET = frozenset({"text_delta", "thinking_delta", "assistant_message", "usage", "plan_updated"})
"""Events too frequent or too bulky to be worth a record (the transcript has them)."""
_BULKY = frozenset({"output", "diff", "old_text", "new_text", "text", "input", "preview", "todos"})


def path_for(transcript: Path) -> Path:
    """`<session id>.log` next to the transcript `<session id>.jsonl`."""
    return transcript.with_suffix(SUFFIX)


class BlackBox:
    """One session's black box; `BlackBox(None)` writes nothing (sessions kept in memory)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, kind: str, **fields: Any) -> None:
        if self.path is None:
            return
        record = {"t": datetime.now(UTC).isoformat(timespec="milliseconds"), "kind": kind}
        record.update({k: _small(v) for k, v in fields.items()})
        try:
            line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        except (TypeError, ValueError) as e:
            line = json.dumps({"t": record["t"], "kind": kind, "unserialisable": str(e)}) + "\n"
        data = line.encode("utf-8", "backslashreplace")
        with self._lock:
            try:
                self._rotate_if_full()
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
            except OSError as e:
                log.warning("could not write the black box %s: %s", self.path, e)

    def _rotate_if_full(self) -> None:
        assert self.path is not None
        try:
            if self.path.stat().st_size < MAX_BYTES:
                return
        except FileNotFoundError:
            return
        self.path.replace(self.path.with_name(self.path.name + ".1"))

    def event(self, event: AgentEvent) -> None:
        """The record of one agent event, if it is one worth keeping."""
        if event.kind in _QUIET:
            return
        self.write(event.kind, **_summary(event))

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Within the block (and the tasks it starts), warnings and errors logged anywhere also
        land in this black box, tracebacks included."""
        token = _CURRENT.set(self)
        try:
            yield
        finally:
            _CURRENT.reset(token)


def _summary(event: AgentEvent) -> dict[str, Any]:
    data = event.model_dump(mode="json")
    data.pop("kind", None)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in _BULKY:
            if isinstance(value, str) and value:
                out[f"{key}_chars"] = len(value)
            continue
        out[key] = value
    return out


def _small(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= _MAX_FIELD else value[: _MAX_FIELD - 1] + "…"
    if isinstance(value, dict):
        return {k: _small(v) for k, v in list(value.items())[:50]}
    if isinstance(value, list | tuple):
        return [_small(v) for v in list(value)[:50]]
    return value


_CURRENT: contextvars.ContextVar[BlackBox | None] = contextvars.ContextVar("agentls_blackbox", default=None)


class _ToCurrentBlackBox(logging.Handler):
    """Warnings and errors logged while a session's work runs go to its black box too."""

    def emit(self, record: logging.LogRecord) -> None:
        box = _CURRENT.get()
        if box is None or record.name == __name__:
            return
        fields: dict[str, Any] = {"logger": record.name, "level": record.levelname}
        try:
            fields["message"] = record.getMessage()
        except Exception:  # A bad format string in someone's log call.
            fields["message"] = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            fields["traceback"] = "".join(traceback.format_exception(*record.exc_info))[-4000:]
        box.write("internal_error" if record.exc_info else "log", **fields)


_handler_installed = False
_install_lock = threading.Lock()


def install_log_handler() -> None:
    """Route WARNING and above to the active session's black box (idempotent)."""
    global _handler_installed
    with _install_lock:
        if _handler_installed:
            return
        handler = _ToCurrentBlackBox(level=logging.WARNING)
        logging.getLogger().addHandler(handler)
        _handler_installed = True


def current() -> BlackBox | None:
    return _CURRENT.get()


def read(path: Path) -> list[dict[str, Any]]:
    """The records of a black box, the previous generation first; torn or foreign lines skipped."""
    records: list[dict[str, Any]] = []
    for part in (path.with_name(path.name + ".1"), path):
        try:
            lines = part.read_bytes().splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                if isinstance(value, dict) and "kind" in value:
                    records.append(value)
    return records


def render(record: dict[str, Any]) -> str:
    """One record as a line for a person: time, kind, then the fields."""
    rest = {k: v for k, v in record.items() if k not in ("t", "kind", "traceback")}
    fields = " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in rest.items())
    line = f"{record.get('t', '?')} {record['kind']}" + (f" {fields}" if fields else "")
    if tb := record.get("traceback"):
        line += "\n" + "\n".join("    " + t for t in str(tb).rstrip().splitlines())
    return line

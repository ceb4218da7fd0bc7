"""Turning `AgentEvent`s into terminal output: human text, or one JSON object per line.

Text mode writes the assistant's words to stdout and everything else (tool activity, retries,
notices) to stderr, so `agentls run ... > answer.txt` captures just the answer.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from agentls.core.events import (
    AgentEvent,
    Notice,
    PermissionDecided,
    PlanUpdated,
    Retrying,
    SessionStarted,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnEnded,
)

Renderer = Callable[[AgentEvent], None]

_STATUS = {"completed": "[x]", "in_progress": "[~]", "pending": "[ ]"}


def json_renderer(out: TextIO | None = None) -> Renderer:
    def render(event: AgentEvent) -> None:
        stream = out or sys.stdout
        stream.write(event.model_dump_json() + "\n")
        stream.flush()

    return render


class TextRenderer:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._mid_line = False
        self._thinking = False
        self._titles: dict[str, str] = {}

    def __call__(self, event: AgentEvent) -> None:
        match event:
            case TextDelta():
                self._thinking = False
                self._out.write(event.text)
                self._out.flush()
                self._mid_line = not event.text.endswith("\n")
            case ThinkingDelta():
                if not self._thinking:
                    self._note("(thinking…)")
                    self._thinking = True
            case SessionStarted():
                verb = "resumed" if event.resumed else "session"
                self._note(f"{verb} {event.session_id} · {event.model} · {event.cwd}")
            case ToolCallStarted():
                self._titles[event.call_id] = event.title or event.name
                self._note(f"● {event.title or event.name}")
            case ToolCallFinished():
                if not (event.name == "TodoWrite" and not event.is_error):  # The plan is printed already.
                    self._note(f"  ⎿ {_result_line(event)}")
            case PermissionDecided() if event.outcome == "deny" and event.by != "user":
                self._note(f"  ⎿ denied: {event.reason}")
            case PlanUpdated():
                self._note("Plan:\n" + "\n".join(f"  {_STATUS[t.status]} {t.content}" for t in event.todos))
            case Retrying():
                self._note(
                    f"(API {event.cause.kind}: {event.cause.message}; retry {event.attempt} "
                    f"in {event.delay_s:.1f}s)"
                )
            case Notice():
                self._note(f"{event.level}: {event.message}")
            case TurnEnded():
                self._end(event)
            case _:
                pass

    def _end(self, event: TurnEnded) -> None:
        if self._mid_line:
            self._out.write("\n")
            self._out.flush()
            self._mid_line = False
        stop = event.stop
        if stop.kind == "error":
            self._note(f"error ({stop.cause.kind}): {stop.cause.message}")
        elif stop.kind != "end_turn":
            detail = f" (limit {stop.limit})" if stop.kind == "max_turns" else ""
            self._note(f"stopped: {stop.kind}{detail}")
        u = event.usage
        self._note(
            f"[{event.requests} request(s) · {u.total_input} in ({u.cache_read_input_tokens} cached) / "
            f'{u.output_tokens} out · resume with: agentls run --resume {event.session_id} "..."]'
        )

    def _note(self, text: str) -> None:
        if self._mid_line:
            self._out.write("\n")
            self._out.flush()
            self._mid_line = False
        self._err.write(text + "\n")
        self._err.flush()


def _result_line(event: ToolCallFinished) -> str:
    lines = [line for line in event.output.strip().splitlines() if line.strip()] or [""]
    # A command's verdict is at the end of its output (`OK`, `2 failed`, `Exit code 1`).
    shown = lines[-1] if event.name == "Bash" else lines[0]
    more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
    return f"{'error: ' if event.is_error else ''}{shown[:160]}{more}"

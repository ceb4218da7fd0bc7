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
    CommandOutput,
    Compacted,
    CompactionStarted,
    ModelFallback,
    Notice,
    PermissionDecided,
    PlanUpdated,
    RetryHeartbeat,
    Retrying,
    SessionStarted,
    SubagentEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnEnded,
)
from agentls.core.retry import format_duration
from agentls.store.jsonl import json_text

Renderer = Callable[[AgentEvent], None]


def make_renderer(output_format: str) -> Renderer:
    return json_renderer() if output_format == "stream-json" else TextRenderer()


def json_renderer(out: TextIO | None = None) -> Renderer:
    def render(event: AgentEvent) -> None:
        stream = out or sys.stdout
        # Not `model_dump_json`: it refuses the lone surrogates a non-UTF-8 file's text carries;
        # they are shown as U+FFFD (the transcript keeps them).
        stream.write(json_text(event.model_dump(mode="json"), lossless=False) + "\n")
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
            case PlanUpdated():
                self._note("Plan:\n" + "\n".join(f"  {t.checkbox_line()}" for t in event.todos))
            case CompactionStarted():
                self._note(f"(compacting the context: asking the model for a {event.tier}…)")
            case Compacted():
                self._note(f"(context {event.tier}: {event.message})")
            case CommandOutput():
                self._command_output(event)
            case SubagentEvent():
                self._subagent(event, "  │ ")
            case TurnEnded():
                self._end(event)
            case _:
                if isinstance(event, ToolCallStarted):
                    self._titles[event.call_id] = event.title or event.name
                if (line := _work_line(event)) is not None:
                    self._note(line)

    def _subagent(self, wrapped: SubagentEvent, bar: str) -> None:
        """A subagent's work, indented under its Agent call: its tool calls, denials, warnings and
        how it ended (with what it cost). Its text is its answer, which the Agent call shows."""
        event = wrapped.event
        if isinstance(event, SubagentEvent):
            self._subagent(event, bar + "│ ")
        elif isinstance(event, TurnEnded):
            self._note(f"{bar}[{wrapped.agent_type} {event.stop.kind} · {usage_line(event, brief=True)}]")
        elif (line := _work_line(event)) is not None:
            self._note(bar + line)

    def _command_output(self, event: CommandOutput) -> None:
        """A slash command's answer is the answer: stdout (a failure goes to stderr)."""
        if event.level == "error":
            self._note(f"error: {event.text}")
            return
        if self._mid_line:
            self._out.write("\n")
        self._out.write(event.text.rstrip("\n") + "\n")
        self._out.flush()
        self._mid_line = False

    def _end(self, event: TurnEnded) -> None:
        if self._mid_line:
            self._out.write("\n")
            self._out.flush()
            self._mid_line = False
        stop = event.stop
        if stop.kind == "error":
            self._note(f"error ({stop.cause.kind}): {stop.cause.message}")
        elif stop.kind in ("budget_exceeded", "context_overflow"):
            self._note(f"stopped: {stop.kind}: {stop.message}")
        elif stop.kind != "end_turn":
            detail = f" (limit {stop.limit})" if stop.kind == "max_turns" else ""
            self._note(f"stopped: {stop.kind}{detail}")
        self._note(f'[{usage_line(event)} · resume with: agentls run --resume {event.session_id} "..."]')

    def _note(self, text: str) -> None:
        if self._mid_line:
            self._out.write("\n")
            self._out.flush()
            self._mid_line = False
        self._err.write(text + "\n")
        self._err.flush()


def api_line(event: Retrying | RetryHeartbeat | ModelFallback) -> str:
    """One line about an API failure being handled: a retry, a heartbeat, a switch of model."""
    if isinstance(event, Retrying):
        return retry_line(event)
    if isinstance(event, RetryHeartbeat):
        return heartbeat_line(event)
    return f"({event.message})"


def retry_line(event: Retrying) -> str:
    """`(API overloaded: …; retry 3/10 in 2.0s)`; a long wait says so first, and what asked for it."""
    cause = event.cause
    of = f"/{event.max_retries}" if event.max_retries is not None else ""
    line = f"(API {cause.kind}: {cause.message}; retry {event.attempt}{of} in "
    line += format_duration(event.delay_s)
    if event.deadline_in_s is not None:
        line += f"; deadline in {format_duration(max(event.deadline_in_s, 0.0))}"
    line += ")"
    if event.long_wait:
        why = "the API asked to wait (retry-after)" if cause.retry_after_s is not None else "backing off"
        line = f"waiting {format_duration(event.delay_s)} before retrying: {why} " + line
    return line


def heartbeat_line(event: RetryHeartbeat) -> str:
    """`(still waiting to retry the API (overloaded): retry 12 in 3m10s; deadline in 1h20m)`."""
    line = (
        f"(still waiting to retry the API ({event.cause.kind}): retry {event.attempt} in "
        f"{format_duration(event.remaining_s)}"
    )
    if event.deadline_in_s is not None:
        line += f"; deadline in {format_duration(max(event.deadline_in_s, 0.0))}"
    return line + ")"


def usage_line(event: TurnEnded, *, brief: bool = False) -> str:
    """Tokens, cache share, cost and context fill, e.g. `3 requests · 41,200 tokens in (93% from
    cache) / 820 out · $0.0213 · context 14% of 200,000`. `brief`: without the context fill (a
    subagent's, whose context is gone once it has answered)."""
    u = event.usage
    parts = [
        f"{event.requests} request(s)",
        f"{u.total_input:,} tokens in ({u.cache_share:.0%} from cache) / {u.output_tokens:,} out",
    ]
    if event.cost_usd is not None:
        cost = f"${event.cost_usd:.4f}"
        if event.session_cost_usd is not None and event.session_cost_usd > event.cost_usd + 5e-5:
            cost += f" (session ${event.session_cost_usd:.4f})"
        parts.append(cost)
    else:
        parts.append("cost unknown (no price for this model)")
    if event.context_window and not brief:
        share = event.context_tokens / event.context_window
        parts.append(f"context {share:.0%} of {event.context_window:,}")
    return " · ".join(parts)


def _work_line(event: AgentEvent) -> str | None:
    """The line a tool call, a denial, API trouble or a warning gets; None for other events."""
    match event:
        case ToolCallStarted():
            return f"● {event.title or event.name}"
        case ToolCallFinished() if not (event.name == "TodoWrite" and not event.is_error):
            return f"  ⎿ {_result_line(event)}"  # The plan is printed already.
        case PermissionDecided() if event.outcome == "deny" and event.by != "user":
            return f"  ⎿ denied: {event.reason}"
        case Retrying() | RetryHeartbeat() | ModelFallback():
            return api_line(event)
        case Notice():
            return f"{event.level}: {event.message}"
        case _:
            return None


def _result_line(event: ToolCallFinished) -> str:
    lines = [line for line in event.output.strip().splitlines() if line.strip()] or [""]
    # A command's verdict is at the end of its output (`OK`, `2 failed`, `Exit code 1`).
    shown = lines[-1] if event.name == "Bash" else lines[0]
    more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
    return f"{'error: ' if event.is_error else ''}{shown[:160]}{more}"

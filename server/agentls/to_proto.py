"""Core events and values to their wire shapes: ACP `session/update` payloads and stop reasons.

This is the only place that knows the ACP names; the core's types are never serialised as-is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentls.core.commands.custom import CommandInfo
from agentls.core.events import (
    AgentEvent,
    CheckpointTaken,
    CommandOutput,
    Compacted,
    CompactionStarted,
    ModelFallback,
    PlanUpdated,
    RetryHeartbeat,
    Retrying,
    StopReason,
    SubagentEvent,
    ToolCallFinished,
    ToolCallStarted,
    ToolCallUpdated,
    UsageUpdated,
)
from agentls.core.messages import Message, TextBlock, ThinkingBlock, ToolResultBlock, ToolUseBlock
from agentls.core.records import CompactionRecord
from agentls.policy.decision import ApprovalChoice, ApprovalRequest, ApprovalResponse, PermissionMode

TOOL_KINDS = {
    "Read": "read",
    "Write": "edit",
    "Edit": "edit",
    "Glob": "search",
    "Grep": "search",
    "Bash": "execute",
    "Agent": "think",
    "TodoWrite": "think",
}
"""ACP `ToolKind`s: clients pick icons and risk styling from these."""

ACP_STOP_REASONS = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "max_turns": "max_turn_requests",
    "refusal": "refusal",
    "cancelled": "cancelled",
    "error": "error",
    "budget_exceeded": "budget_exceeded",
    "context_overflow": "context_overflow",
}
"""ACP's stop reasons, plus ours where ACP has none (an error, a budget, an overflow): the
`agentls/prompt` response then also says what happened (`stop_details`)."""


PERMISSION_OPTIONS: tuple[tuple[ApprovalChoice, str], ...] = (
    ("allow_once", "Allow once"),
    ("allow_always", "Always allow"),
    ("reject_once", "Reject"),
    ("reject_always", "Always reject"),
)
"""ACP's four permission options (their ids are also their kinds), with the names shown."""
_CHOICES = {choice for choice, _ in PERMISSION_OPTIONS}


def permission_request(session_id: str, request: ApprovalRequest) -> dict[str, Any]:
    """`session/request_permission`'s params (`agentls/requestPermission` in the LSP server)."""
    call = request.call
    content: list[dict[str, Any]] = [{"type": "content", "content": {"type": "text", "text": request.reason}}]
    if request.diff:
        content.append(
            {"type": "content", "content": {"type": "text", "text": f"```diff\n{request.diff}```"}}
        )
    return {
        "sessionId": session_id,
        "toolCall": {
            "toolCallId": request.call_id,
            "title": call.summary,
            "kind": TOOL_KINDS.get(call.tool, "other"),
            "status": "pending",
            "rawInput": call.input,
            "content": content,
        },
        "options": [
            {"optionId": choice, "name": name, "kind": choice} for choice, name in PERMISSION_OPTIONS
        ],
    }


def permission_answer(answer: Any) -> ApprovalResponse:
    """The client's answer; anything but a known option selected (a dismissal, a cancel, garbage)
    is a rejection."""
    outcome = answer.get("outcome") if isinstance(answer, dict) else None
    if isinstance(outcome, dict) and outcome.get("outcome") == "selected":
        option = outcome.get("optionId")
        if option in _CHOICES:
            return ApprovalResponse(option)
    return ApprovalResponse("reject_once", "(the prompt was dismissed)")


def stop_reason(stop: StopReason) -> str:
    return ACP_STOP_REASONS[stop.kind]


def stop_details(stop: StopReason) -> dict[str, Any]:
    """Fields the `agentls/prompt` response carries besides `stopReason`."""
    if stop.kind == "error":
        return {"error": stop.cause.model_dump()}
    if stop.kind == "budget_exceeded":
        budget = {"kind": stop.budget, "spent": stop.spent, "limit": stop.limit, "projected": stop.projected}
        return {"budget": budget, "message": stop.message}
    if stop.kind == "context_overflow":
        return {
            "context": {"tokens": stop.tokens, "size": stop.window, "attempts": stop.attempts},
            "message": stop.message,
        }
    return {}


def text_chunk(kind: str, text: str) -> dict[str, Any]:
    return {"sessionUpdate": kind, "content": {"type": "text", "text": text}}


def tool_call(event: ToolCallStarted) -> dict[str, Any]:
    update: dict[str, Any] = {
        "sessionUpdate": "tool_call",
        "toolCallId": event.call_id,
        "title": event.title or event.name,
        "kind": TOOL_KINDS.get(event.name, "other"),
        "status": "pending",
        "rawInput": event.input,
    }
    path = event.input.get("file_path") or event.input.get("path")
    if isinstance(path, str):
        update["locations"] = [{"path": path}]
    return update


def nested(event: SubagentEvent) -> list[dict[str, Any]]:
    """A subagent's tool calls as tool calls of the parent session, nested under the Agent call
    that runs the subagent: ids made unique per subagent, titles prefixed with the agent type, and
    `_meta.agentls.parentToolCallId` for clients that draw them as children."""
    inner = event.event
    if isinstance(inner, SubagentEvent):  # Deeper nesting: flattened under the outermost call.
        updates = nested(inner)
    elif isinstance(inner, ToolCallStarted):
        updates = [tool_call(inner)]
        updates[0]["title"] = f"{event.agent_type} › {updates[0]['title']}"
    elif isinstance(inner, ToolCallUpdated):
        updates = [tool_call_status(inner)]
    elif isinstance(inner, ToolCallFinished):
        updates = [tool_call_done(inner)]
    else:
        return []
    for update in updates:
        meta = update.setdefault("_meta", {}).setdefault("agentls", {})
        meta.setdefault("parentToolCallId", event.parent_call_id)
        meta.setdefault("agentId", event.agent_id)
        meta.setdefault("agentType", event.agent_type)
        update["toolCallId"] = f"{event.agent_id}:{update['toolCallId']}"
    return updates


def tool_call_status(event: ToolCallUpdated) -> dict[str, Any]:
    # ACP has no "awaiting permission" status: the permission request itself says so.
    status = "in_progress" if event.status == "running" else "pending"
    return {"sessionUpdate": "tool_call_update", "toolCallId": event.call_id, "status": status}


def tool_call_done(event: ToolCallFinished) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if event.path is not None and event.new_text is not None:
        content.append(
            {"type": "diff", "path": event.path, "oldText": event.old_text, "newText": event.new_text}
        )
    content.append({"type": "content", "content": {"type": "text", "text": event.output}})
    raw: dict[str, Any] = {"isError": event.is_error, "durationMs": round(event.duration_ms, 1)}
    if event.note is not None:
        raw["note"] = event.note
    return {
        "sessionUpdate": "tool_call_update",
        "toolCallId": event.call_id,
        "status": "failed" if event.is_error else "completed",
        "content": content,
        "rawOutput": raw,
    }


def plan(event: PlanUpdated) -> dict[str, Any]:
    return {
        "sessionUpdate": "plan",
        "entries": [{"content": t.content, "priority": "medium", "status": t.status} for t in event.todos],
    }


def money(amount: float | None) -> dict[str, Any] | None:
    return None if amount is None else {"amount": round(amount, 6), "currency": "USD"}


def usage(event: UsageUpdated) -> dict[str, Any]:
    """ACP's `usage_update {used, size, cost}` (context tokens used, window, session cost), plus
    the tokens of the request that just ended and the session's totals."""
    update = context_usage(event.context_tokens, event.context_window, event.session_cost_usd)
    update["request"] = event.request.model_dump()
    update["session"] = event.session.model_dump()
    update["requestCost"] = money(event.request_cost_usd)
    update["purpose"] = event.purpose
    return update


def context_usage(used: int, size: int, cost: float | None) -> dict[str, Any]:
    update: dict[str, Any] = {"sessionUpdate": "usage_update", "used": used, "size": size}
    if cost is not None:
        update["cost"] = money(cost)
    return update


def compaction_started(event: CompactionStarted) -> dict[str, Any]:
    update = _compaction("started", event.tier, event.trigger, event.tokens, event.context_window)
    return update | {"message": f"compacting the context ({event.tier})"}


def compaction(event: Compacted) -> dict[str, Any]:
    update = _compaction("completed", event.tier, event.trigger, event.tokens_before, event.context_window)
    return update | {"tokensAfter": event.tokens_after, "message": event.message, "summary": event.summary}


def command_output(event: CommandOutput) -> dict[str, Any]:
    """Ours: what a slash command said (`/cost`, `/context`, …) or did (`/clear`: `data.cleared`)."""
    return {
        "sessionUpdate": "command_output",
        "command": event.command,
        "text": event.text,
        "level": event.level,
        "data": event.data,
    }


def model_fallback(event: ModelFallback) -> dict[str, Any]:
    return {
        "sessionUpdate": "model_fallback",
        "fromModel": event.from_model,
        "toModel": event.to_model,
        "overloads": event.overloads,
        "message": event.message,
    }


def api_retry(event: Retrying | RetryHeartbeat) -> dict[str, Any]:
    """A failed API call that will be retried (`heartbeat: false`, as the wait starts), or, in
    unattended mode, a heartbeat while waiting. `longWait`: the wait is worth telling the user."""
    cause = event.cause
    update: dict[str, Any] = {
        "sessionUpdate": "api_retry",
        "attempt": event.attempt,
        "reason": cause.kind,
        "error": cause.message,
        "retryAfter": cause.retry_after_s,
        "deadlineIn": _seconds(event.deadline_in_s),
    }
    if isinstance(event, Retrying):
        wait = "the API asked to wait" if cause.retry_after_s is not None else "backing off"
        of = f" of {event.max_retries}" if event.max_retries is not None else ""
        return update | {
            "heartbeat": False,
            "delay": _seconds(event.delay_s),
            "maxRetries": event.max_retries,
            "model": event.model,
            "longWait": event.long_wait,
            "message": f"API {cause.kind}: retry {event.attempt}{of} in {_wait_text(event.delay_s)}"
            + (f" ({wait})" if event.long_wait else ""),
        }
    return update | {
        "heartbeat": True,
        "delay": _seconds(event.remaining_s),
        "waited": _seconds(event.waited_s),
        "longWait": True,
        "message": f"still waiting to retry the API ({cause.kind}): retry {event.attempt} in "
        f"{_wait_text(event.remaining_s)}",
    }


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _wait_text(seconds: float) -> str:
    whole = round(seconds)
    if seconds < 10:
        return f"{seconds:.1f} s"
    return f"{whole} s" if whole < 120 else f"{whole // 60} min {whole % 60} s"


def _recorded_compaction(record: CompactionRecord) -> dict[str, Any]:
    update = _compaction("completed", record.tier, record.trigger, record.tokens_before, record.window)
    message = f"{record.tier}: {record.tokens_before:,} → {record.tokens_after:,} tokens of {record.window:,}"
    return update | {"tokensAfter": record.tokens_after, "message": message, "summary": record.summary}


def _compaction(status: str, tier: str, trigger: str, before: int, size: int) -> dict[str, Any]:
    return {
        "sessionUpdate": "compaction",
        "status": status,
        "tier": tier,
        "trigger": trigger,
        "tokensBefore": before,
        "size": size,
    }


def checkpoint(n: int, kind: str, label: str) -> dict[str, Any]:
    """agentls' own update: a checkpoint to rewind to; a prompt's belongs to the latest user
    message (sent after it when a conversation is replayed)."""
    return {"sessionUpdate": "checkpoint", "checkpoint": n, "kind": kind, "label": label}


def history_updates(
    history: list[Message],
    compactions: Sequence[tuple[int, CompactionRecord]] = (),
    checkpoints: Sequence[tuple[int, int, str]] = (),
) -> list[dict[str, Any]]:
    """A stored conversation as the updates a client would have seen (for `agentls/loadSession`),
    with each compaction where it happened (after that many messages) and each prompt's
    checkpoint after its message (`checkpoints`: message index, number, label)."""
    out: list[dict[str, Any]] = []
    pending = sorted(compactions, key=lambda c: c[0])
    marks = {index: (n, label) for index, n, label in checkpoints}
    for index, message in enumerate(history):
        while pending and pending[0][0] <= index:
            out.append(_recorded_compaction(pending.pop(0)[1]))
        for block in message.content:
            if isinstance(block, TextBlock):
                kind = "user_message_chunk" if message.role == "user" else "agent_message_chunk"
                out.append(text_chunk(kind, block.text))
            elif isinstance(block, ThinkingBlock):
                out.append(text_chunk("agent_thought_chunk", block.thinking))
            elif isinstance(block, ToolUseBlock):
                out.append(
                    tool_call(
                        ToolCallStarted(
                            call_id=block.id, name=block.name, input=block.input, title=block.name
                        )
                    )
                )
            elif isinstance(block, ToolResultBlock):
                out.append(
                    tool_call_done(
                        ToolCallFinished(
                            call_id=block.tool_use_id, name="", output=block.content, is_error=block.is_error
                        )
                    )
                )
        if index in marks:
            out.append(checkpoint(marks[index][0], "prompt", marks[index][1]))
    out.extend(_recorded_compaction(record) for _, record in pending)
    return out


def updates_for(event: AgentEvent, cost: float | None) -> list[dict[str, Any]]:
    """The session updates an event makes (text and thought chunks are the caller's: a front end
    may join them); `cost` is the session's cost as last reported, for the meter after a
    compaction."""
    match event:
        case ToolCallStarted():
            return [tool_call(event)]
        case ToolCallUpdated():
            return [tool_call_status(event)]
        case ToolCallFinished():
            return [tool_call_done(event)]
        case PlanUpdated():
            return [plan(event)]
        case SubagentEvent():
            return nested(event)
        case Retrying() | RetryHeartbeat():
            return [api_retry(event)]
        case ModelFallback():
            return [model_fallback(event)]
        case UsageUpdated():
            return [usage(event)]
        case CommandOutput():
            return [command_output(event)]
        case CheckpointTaken():
            return [checkpoint(event.n, event.checkpoint_kind, event.label)]
        case CompactionStarted():
            return [compaction_started(event)]
        case Compacted():
            # What the model sees shrank: the meter follows at once.
            return [
                compaction(event),
                context_usage(event.tokens_after, event.context_window, cost),
            ]
        case _:
            return []


def prompt_text(blocks: Sequence[Mapping[str, Any]]) -> str:
    """A prompt's content blocks as the one text the core takes: text as it is, a mention
    (`resource_link`) as an `@uri` line, an embedded text resource quoted under its uri; blocks the
    agent cannot take (images, audio, binary resources) are named, not dropped silently."""
    parts: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind == "resource_link":
            parts.append(f"@{block.get('uri', '')}")
        elif kind == "resource" and isinstance(resource := block.get("resource"), Mapping):
            if "text" in resource:
                parts.append(f"@{resource.get('uri', '')}:\n```\n{resource['text']}\n```")
            else:
                parts.append(f"[a binary resource, not readable here: {resource.get('uri', '')}]")
        else:
            parts.append(f"[{kind or 'unknown'} content, not supported by agentls]")
    return "\n".join(parts)


def available_commands(infos: Sequence[CommandInfo]) -> dict[str, Any]:
    """ACP's `available_commands_update`: the session's slash commands."""
    commands: list[dict[str, Any]] = []
    for info in infos:
        command: dict[str, Any] = {"name": info.name, "description": info.description}
        if info.argument_hint:
            command["input"] = {"hint": info.argument_hint}
        commands.append(command)
    return {"sessionUpdate": "available_commands_update", "availableCommands": commands}


SESSION_MODES: tuple[tuple[PermissionMode, str, str], ...] = (
    ("default", "Ask", "Ask before edits and commands the rules do not allow"),
    ("acceptEdits", "Accept edits", "Edit files in the workspace without asking; ask before commands"),
    ("plan", "Plan", "Read and plan only: no edits, no commands that change anything"),
    ("bypassPermissions", "Bypass permissions", "Do everything without asking (deny rules still hold)"),
)
"""The permission modes an ACP client can switch between (`session/set_mode`)."""


def session_modes(current: str) -> dict[str, Any]:
    return {
        "currentModeId": current,
        "availableModes": [
            {"id": mode, "name": name, "description": text} for mode, name, text in SESSION_MODES
        ],
    }


def current_mode(mode: str) -> dict[str, Any]:
    return {"sessionUpdate": "current_mode_update", "currentModeId": mode}

"""The built-in commands that do not start a model turn: what each says, and what `/clear` and
`/model` change. Each returns a `CommandOutput` (text for people, `data` for programs)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agentls.core.agents import load_catalog
from agentls.core.commands.registry import CommandRegistry
from agentls.core.context.catalog import model_info
from agentls.core.context.tokens import MESSAGE_OVERHEAD, block_tokens, fixed_tokens
from agentls.core.events import CommandOutput, PlanUpdated
from agentls.core.fallback import ForeignThinking
from agentls.core.messages import (
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from agentls.core.model import ToolSpec
from agentls.core.records import ClearedRecord, ModelSwitchRecord
from agentls.core.session_hooks import conversation_restarted, session_ended
from agentls.core.skills.host import SessionSkills
from agentls.policy.loader import SettingsSources
from agentls.tools.base import FileReadState
from agentls.tools.skill import SKILL

if TYPE_CHECKING:
    from agentls.core.commands.runs import Emit
    from agentls.core.state import SessionState


def _now() -> str:
    return datetime.now(UTC).isoformat()


def settings_sources(state: SessionState) -> SettingsSources:
    """The session's settings files (its own, or the project's defaults when a test set a policy)."""
    if state.permissions is not None:
        return state.permissions.sources
    return SettingsSources(project=state.tool_ctx.workspace.root)


# --- /cost -------------------------------------------------------------------------------------------


def cost(state: SessionState) -> CommandOutput:
    spending = state.spending
    u = spending.usage
    total_cost = spending.session_cost
    lines = [
        f"Session cost: ${total_cost:.4f}"
        if total_cost is not None
        else f"Session cost: unknown (agentls has no price for {state.config.model})",
        f"Tokens in: {u.total_input:,} ({u.input_tokens:,} uncached, {u.cache_read_input_tokens:,} read "
        f"from the cache, {u.cache_creation_input_tokens:,} written to it; {u.cache_share:.0%} from cache)",
        f"Tokens out: {u.output_tokens:,}",
    ]
    budget = spending.budget
    if budget.max_usd is not None:
        lines.append(f"Budget: ${spending.cost_usd:.4f} of ${budget.max_usd:.2f}")
    if budget.max_tokens is not None:
        lines.append(f"Token budget: {u.total:,} of {budget.max_tokens:,}")
    lines.append(f"Model: {state.config.model} (the totals include compaction requests and subagents)")
    data: dict[str, Any] = {
        "costUsd": None if total_cost is None else round(total_cost, 6),
        "usage": u.model_dump(),
        "model": state.config.model,
        "budget": {"maxUsd": budget.max_usd, "maxTokens": budget.max_tokens},
    }
    return CommandOutput(command="cost", text="\n".join(lines), data=data)


# --- /context ----------------------------------------------------------------------------------------


def context_breakdown(state: SessionState) -> dict[str, Any]:
    """What the next request would carry, by kind: estimates (`tokens.py`) scaled by the meter's
    calibration, and the meter's own total (measured where the API said)."""
    ctx = state.context
    history = state.history
    ratio = ctx.meter.ratio
    specs: tuple[ToolSpec, ...] = state.current_tool_specs(reload=False)
    kinds: dict[str, int] = {
        "system": fixed_tokens(state.system, ()),
        "tools": fixed_tokens((), specs),
        "compacted": 0,
        "user": 0,
        "assistant": 0,
        "thinking": 0,
        "toolCalls": 0,
        "toolResults": 0,
    }
    start = 0
    if ctx.base is not None and history:
        kinds["compacted"] = ctx.tokens.of(history[0])
        start = 1
    for message in history[start:]:
        kinds["user" if message.role == "user" else "assistant"] += MESSAGE_OVERHEAD
        for block in message.content:
            tokens = block_tokens(block)
            if isinstance(block, ToolResultBlock):
                kinds["toolResults"] += tokens
            elif isinstance(block, ToolUseBlock):
                kinds["toolCalls"] += tokens
            elif isinstance(block, ThinkingBlock | RedactedThinkingBlock):
                kinds["thinking"] += tokens
            elif isinstance(block, TextBlock):
                kinds["user" if message.role == "user" else "assistant"] += tokens
    scaled = {k: round(v * ratio) for k, v in kinds.items()}
    settings = ctx.settings
    return {
        "model": state.config.model,
        "tokens": ctx.fill(history),
        "window": ctx.meter.window,
        "windowSource": ctx.meter.source,
        "byKind": scaled,
        "tools": len(specs),
        "toolPool": tool_pool(spec.name for spec in specs),
        "messages": len(history),
        "calibration": round(ratio, 3),
        "autoCompactPercent": settings.auto_compact_percent if settings.auto_compact else None,
        "memory": memory_listing(state),
        "skills": skills_listing(state, specs),
        "deferredTools": sorted(state.deferral.hidden()) if state.deferral is not None else [],
    }


def tool_pool(names: Iterable[str]) -> dict[str, Any]:
    """The tools the model sees, by where they come from: agentls itself, or an MCP server."""
    builtin: list[str] = []
    servers: dict[str, list[str]] = {}
    for name in names:
        if name.startswith("mcp__") and name.count("__") >= 2:
            _, server, tool = name.split("__", 2)
            servers.setdefault(server, []).append(tool)
        else:
            builtin.append(name)
    return {"builtin": builtin, "mcp": servers}


def memory_listing(state: SessionState) -> list[dict[str, Any]]:
    """The memory files loaded so far: in the system prompt, or brought in later."""
    if state.memory is None:
        return []
    return [
        {
            "path": str(item.path),
            "scope": item.scope,
            "tokens": item.tokens,
            "importedBy": str(item.imported_by) if item.imported_by else None,
            "atStart": item.at_start,
        }
        for item in state.memory.listing()
    ]


_LABELS = {
    "system": "System prompt",
    "tools": "Tool definitions",
    "compacted": "Compacted earlier conversation",
    "user": "Your messages",
    "assistant": "The agent's messages",
    "thinking": "Thinking",
    "toolCalls": "Tool calls",
    "toolResults": "Tool results",
}


def context(state: SessionState) -> CommandOutput:
    data = context_breakdown(state)
    window, used = data["window"], data["tokens"]
    by_kind: dict[str, int] = data["byKind"]

    def share(tokens: int) -> str:
        return f"{tokens / window:6.1%}" if window else ""

    lines = [
        f"Context: {used:,} of {window:,} tokens ({used / window:.0%}) · {data['model']}" if window else ""
    ]
    for key, label in _LABELS.items():
        tokens = by_kind[key]
        if key == "compacted" and not tokens:
            continue
        extra = f" ({data['tools']})" if key == "tools" else ""
        lines.append(f"  {label + extra:<32} {tokens:>10,} {share(tokens)}")
    free = max(window - used, 0)
    lines.append(f"  {'Free':<32} {free:>10,} {share(free)}")
    lines.append(
        f"By kind: estimates ({data['messages']} messages; calibrated ×{data['calibration']} against the "
        "API's counts); the total is what the API measured plus what was added since."
    )
    pool = data["toolPool"]
    lines.append(f"Tools: {', '.join(pool['builtin']) or 'none'}")
    for server, tools in pool["mcp"].items():
        lines.append(f"  MCP {server}: {', '.join(tools)}")
    if data["deferredTools"]:
        lines.append(
            f"  Deferred (not sent until ToolSearch loads them): {len(data['deferredTools'])} MCP tools"
        )
    lines += memory_lines(data["memory"])
    lines += skills_lines(data["skills"])
    if data["autoCompactPercent"] is not None and window:
        at = window * data["autoCompactPercent"] // 100
        lines.append(
            f"The conversation is summarised automatically at {data['autoCompactPercent']}% ({at:,} tokens)."
        )
    return CommandOutput(command="context", text="\n".join(line for line in lines if line), data=data)


def skills_listing(state: SessionState, specs: tuple[ToolSpec, ...]) -> dict[str, Any]:
    """The skills the model sees listed (in the Skill tool's description, so inside "Tool
    definitions"), and what that list costs."""
    skills = state.tool_ctx.skills
    if not isinstance(skills, SessionSkills) or not any(spec.name == SKILL for spec in specs):
        return {"tokens": 0, "listed": [], "leftOut": [], "shortened": False}
    listing = skills.listing
    return {
        "tokens": round(listing.tokens * state.context.meter.ratio),
        "listed": list(listing.listed),
        "leftOut": list(listing.left_out),
        "shortened": listing.shortened,
    }


def skills_lines(skills: dict[str, Any]) -> list[str]:
    if not skills["listed"] and not skills["leftOut"]:
        return []
    count = len(skills["listed"])
    line = f"Skills listing (part of the tool definitions): {skills['tokens']:,} tokens, {count} skills"
    if skills["leftOut"]:
        line += f" ({len(skills['leftOut'])} left out to stay within its budget)"
    elif skills["shortened"]:
        line += " (descriptions shortened to stay within its budget)"
    return [line + "."]


def memory_lines(memory: list[dict[str, Any]]) -> list[str]:
    if not memory:
        return ["Memory files: none (CLAUDE.md, AGENTS.md, .claude/rules/*.md)."]
    lines = ["Memory files (≈ tokens):"]
    for item in memory:
        where = "" if item["atStart"] else " · loaded later"
        via = f" · imported by {item['importedBy']}" if item["importedBy"] else ""
        lines.append(f"  {item['tokens']:>8,}  {item['path']} ({item['scope']}{where}{via})")
    return lines


# --- /model ------------------------------------------------------------------------------------------


def model(state: SessionState, arguments: str) -> CommandOutput:
    current = state.config.model
    wanted = arguments.split()[0] if arguments.split() else ""
    if not wanted:
        info = model_info(current)
        lines = [f"Model: {current}", f"Context window: {state.context.meter.window:,} tokens"]
        if info.prices is None:
            lines.append("Price: unknown to agentls (costs are not counted)")
        if state.config.fallback_model:
            lines.append(f"Fallback model: {state.config.fallback_model}")
        lines.append("Switch with /model NAME.")
        data = {"model": current, "fallbackModel": state.config.fallback_model, "switched": False}
        return CommandOutput(command="model", text="\n".join(lines), data=data)
    if wanted == current:
        return CommandOutput(
            command="model", text=f"Already using {current}.", data={"model": current, "switched": False}
        )
    state.switch_model(wanted)
    state.journal.write(ModelSwitchRecord(from_model=current, model=wanted, at=_now()), sync=True)
    info = model_info(wanted)
    text = f"Switched from {current} to {wanted} for the rest of the session."
    if info.match == "default":
        text += (
            f" agentls does not know {wanted}: its price is unknown (costs are not counted) and its "
            f"context window is taken as {state.context.meter.window:,} tokens. If the name is wrong, "
            "the next request fails; switch again with /model."
        )
    return CommandOutput(
        command="model", text=text, data={"model": wanted, "fromModel": current, "switched": True}
    )


# --- /clear ------------------------------------------------------------------------------------------


async def clear(state: SessionState, emit: Emit) -> CommandOutput:
    """The conversation starts over; the transcript keeps the old one and records the clear, so a
    resumed session starts from here too. The session's spending, model and permission answers stay.
    As in Claude Code, SessionEnd hooks run with the reason `clear`, then SessionStart hooks with
    the source `clear`."""
    await session_ended(state, "clear", emit)
    messages = len(state.history)
    tokens = state.context.fill(state.history)
    state.journal.write(ClearedRecord(at=_now()), sync=True)
    state.history = []
    state.context.restore(None, set(), state.history, None)
    state.foreign_thinking = ForeignThinking()
    state.tool_ctx.read_state = FileReadState()  # Files read before must be read again to be edited.
    if state.todos:
        state.todos = ()
        emit(PlanUpdated(todos=()))
    await conversation_restarted(state, "clear", emit)
    text = (
        f"Conversation cleared ({messages} messages, about {tokens:,} tokens); the next prompt starts "
        "afresh in this session. The transcript keeps the earlier conversation."
    )
    return CommandOutput(
        command="clear",
        text=text,
        data={"cleared": True, "messages": messages, "tokensBefore": tokens},
    )


# --- /permissions, /agents, /help -------------------------------------------------------------------


async def permissions(state: SessionState) -> CommandOutput:
    sources = settings_sources(state)
    from agentls.core.permission_report import format_report, permission_report  # Rarely used.

    report = await asyncio.to_thread(permission_report, sources, mode=state.policy.mode, limit=10)
    return CommandOutput(command="permissions", text=format_report(report).rstrip(), data=report)


def agent_types(state: SessionState) -> list[dict[str, str]]:
    """The agent types a session can start (`core/agents.py`'s catalog): built-in, the user's,
    and in a trusted workspace the project's."""
    sources = settings_sources(state)
    trusted, _ = sources.trusted()
    catalog = load_catalog(sources.project, sources.home, sources.config, trusted=trusted)
    return [
        {"name": a.name, "description": a.description, "source": a.source} for a in catalog.agents.values()
    ]


def agents(state: SessionState) -> CommandOutput:
    types = agent_types(state)
    has_tool = "Agent" in state.registry
    if not types:
        text = "No subagents yet."
    else:
        lines = [f"Agent types ({len(types)}):"]
        lines += [f"  {t['name']}: {t['description']} ({t['source']})" for t in types]
        if not has_tool:
            lines.append("This session has no Agent tool, so it cannot start them.")
        text = "\n".join(lines)
    return CommandOutput(command="agents", text=text, data={"agents": types, "agentTool": has_tool})


def help_text(registry: CommandRegistry) -> CommandOutput:
    lines = ["Commands (type /name, then arguments; //text sends /text as a prompt):"]
    for info in registry.infos():
        hint = f" {info.argument_hint}" if info.argument_hint else ""
        lines.append(f"  /{info.name}{hint}: {info.description} ({info.label})")
    lines += [f"warning: {w}" for w in registry.warnings]
    data = {"commands": [i.to_json() for i in registry.infos()], "warnings": list(registry.warnings)}
    return CommandOutput(command="help", text="\n".join(lines), data=data)


async def compact(state: SessionState, instructions: str, emit: Emit) -> CommandOutput:
    """As `Session.compact` (the run holds the session busy meanwhile)."""
    outcome = await state.context.compact(state.history, instructions or None, emit, state.spending.check)
    if outcome.compacted:
        await conversation_restarted(state, "compact", emit)  # As `Session.compact`.
    window = state.context.meter.window
    data = {
        "compacted": outcome.compacted,
        "tokensBefore": outcome.tokens_before,
        "tokensAfter": outcome.tokens_after,
        "size": window,
    }
    if outcome.compacted:
        return CommandOutput(command="compact", text=f"Context {outcome.message}.", data=data)
    return CommandOutput(
        command="compact", text=f"Not compacted: {outcome.message}.", data=data, level="error"
    )

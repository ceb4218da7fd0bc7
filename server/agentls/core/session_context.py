"""Wires a session's context manager and spending to the session: its requests, its workspace,
its hooks and its settings. Part of building a session (see `session._build_state`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agentls.core.context.budget import Spending
from agentls.core.context.catalog import model_info
from agentls.core.context.manager import ContextDeps, ContextManager, EventSink
from agentls.core.context.meter import ContextMeter
from agentls.core.context.settings import BudgetConfig, ContextConfig, resolve_budget, resolve_context
from agentls.core.context.tokens import fixed_tokens
from agentls.core.events import CompactionTrigger, Notice
from agentls.core.messages import Message
from agentls.core.model import ModelRequest, ToolSpec
from agentls.core.state import SessionState
from agentls.policy.settings_levels import Sourced
from agentls.workspace.port import WorkspaceError

CHECK_MAX_BYTES = 4 * 1024 * 1024
"""Files larger than this are not read to see whether they changed: 'unknown' is good enough."""


def resolve_settings(
    context: ContextConfig,
    budget: BudgetConfig,
    context_levels: Sequence[Sourced],
    budget_levels: Sequence[Sourced],
) -> tuple[ContextConfig, BudgetConfig, list[str]]:
    resolved_context, warnings = resolve_context(context, context_levels)
    resolved_budget, budget_warnings = resolve_budget(budget, budget_levels)
    return resolved_context, resolved_budget, [*warnings, *budget_warnings]


def new_spending(model: str, budget: BudgetConfig) -> Spending:
    return Spending(prices=model_info(model).prices, budget=budget)


def attach_context(state: SessionState, settings: ContextConfig, transcript: Path | None) -> None:
    info = model_info(state.config.model)
    if settings.window is not None:
        meter = ContextMeter(settings.window, "setting")
    else:
        meter = ContextMeter(info.context_window, info.match)
    fixed = _FixedTokens(state)

    def request_for(messages: Sequence[Message], points: tuple[tuple[int, int], ...]) -> ModelRequest:
        cfg = state.config
        return ModelRequest(
            model=cfg.model,
            system=state.system,
            messages=tuple(state.foreign_thinking.apply(messages)),
            tools=state.current_tool_specs(),
            max_tokens=cfg.max_tokens,
            thinking=cfg.thinking,
            cache_points=points,
            idle_timeout_s=cfg.idle_timeout_s,
        )

    async def file_check(paths: Sequence[str]) -> dict[str, bool | None]:
        out: dict[str, bool | None] = {}
        workspace = state.tool_ctx.workspace
        for raw in paths:
            path = Path(raw)
            seen = state.tool_ctx.read_state.seen_version(path)
            try:
                stat = await workspace.stat(path)
                if stat is None:
                    out[raw] = True  # Deleted since.
                elif seen is None or stat.size > CHECK_MAX_BYTES:
                    out[raw] = None
                else:
                    out[raw] = (await workspace.read(path)).version != seen
            except (WorkspaceError, OSError):
                out[raw] = None
        return out

    async def pre_compact(
        trigger: CompactionTrigger, instructions: str | None, emit: EventSink
    ) -> str | None:
        hooks = state.permissions.hooks if state.permissions is not None else None
        if hooks is None or not hooks.has("PreCompact", trigger):
            return None
        results = await hooks.pre_compact(trigger, instructions, str(transcript or ""))
        for level, text in results.notices():
            emit(Notice(level=level, message=text))
        if results.stop is not None:
            return results.stop or "a PreCompact hook said not to continue"
        return results.block_reason

    state.context = ContextManager(
        settings,
        meter,
        ContextDeps(
            model=state.model,
            journal=state.journal,
            spending=state.spending,
            request_for=request_for,
            fixed_tokens=fixed,
            root=state.tool_ctx.workspace.root,
            transcript=str(transcript or ""),
            todos=lambda: state.todos,
            file_check=file_check,
            pre_compact=pre_compact,
        ),
    )


class _FixedTokens:
    """The system prompt and tool definitions' tokens, recounted only when the tool set changes."""

    def __init__(self, state: SessionState) -> None:
        self._state = state
        self._specs: tuple[ToolSpec, ...] | None = None
        self._tokens = 0

    def __call__(self) -> int:
        # Called several times per request: the settings files were looked at for the request.
        specs = self._state.current_tool_specs(reload=False)
        if specs != self._specs:
            self._specs, self._tokens = specs, fixed_tokens(self._state.system, specs)
        return self._tokens

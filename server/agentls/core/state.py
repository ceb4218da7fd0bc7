"""The mutable state of one session, shared by its turns (one turn at a time)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from agentls.core.assembler import Assembler
from agentls.core.background import BackgroundAgents
from agentls.core.blackbox import BlackBox
from agentls.core.checkpoints.tracker import Checkpoints
from agentls.core.config import AgentConfig
from agentls.core.context.budget import Spending
from agentls.core.context.catalog import model_info
from agentls.core.context.manager import ContextManager
from agentls.core.deferred_tools.deferral import ToolDeferral
from agentls.core.events import AgentEvent, Notice
from agentls.core.fallback import ForeignThinking
from agentls.core.journal import Journal
from agentls.core.mcp_pool import McpPool
from agentls.core.memory import SessionMemory
from agentls.core.messages import Message
from agentls.core.model import Model, SystemBlock, TokenUsage, ToolSpec
from agentls.core.permissions import SessionPermissions
from agentls.core.records import PartialAssistantRecord
from agentls.core.retry import Clock, SystemClock
from agentls.core.tool_exec import SessionGrants, ToolRunner
from agentls.core.turn_scope import LivePolicy, TurnScope
from agentls.policy.decision import Approver, CallFacts, PermissionPolicy
from agentls.policy.tool_scope import ToolScope
from agentls.tools.base import TodoItem, ToolContext
from agentls.tools.registry import ToolRegistry


@dataclass
class SessionState:
    session_id: str
    config: AgentConfig
    model: Model
    system: tuple[SystemBlock, ...]
    registry: ToolRegistry
    tool_specs: tuple[ToolSpec, ...]
    tool_ctx: ToolContext
    policy: PermissionPolicy
    approver: Approver
    journal: Journal
    spending: Spending
    history: list[Message] = field(default_factory=list)
    """The context the model sees: the conversation as compaction shaped it (the transcript
    keeps every message)."""
    todos: tuple[TodoItem, ...] = ()
    """The todo list as TodoWrite last set it."""
    context: ContextManager = field(init=False)
    """Set by the session factory once the state exists (its requests are built from it)."""
    grants: SessionGrants = field(default_factory=SessionGrants)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("agentls.session"))
    remember: Callable[[CallFacts, bool], str] | None = None
    """Persists an "always" answer as a rule; returns a sentence saying where."""
    permissions: SessionPermissions | None = None
    """Settings-driven permissions (None when a test supplies its own policy)."""
    clock: Clock = field(default_factory=SystemClock)
    """Retry back-off, heartbeats and the deadline run on this (tests inject a fake)."""
    blackbox: BlackBox = field(default_factory=lambda: BlackBox(None))
    """The session's black box (`blackbox.py`); set by the session factory."""
    foreign_thinking: ForeignThinking = field(default_factory=ForeignThinking)
    """Thinking blocks of a model the session no longer talks to: left out of requests."""
    pending_context: list[str] = field(default_factory=list)
    """Text waiting for the model, sent with the next user message: context from SessionStart
    hooks (`session_hooks.py`), memory files loaded as the agent went deeper (`memory.py`)."""
    memory: SessionMemory | None = None
    refresh_system: Callable[[], Awaitable[None]] | None = None
    """Re-reads the system prompt's dynamic part (the memory files, git): after a compaction."""
    background: BackgroundAgents | None = None
    """Its background subagents and their notifications waiting for the model."""
    mcp: McpPool | None = None
    """The session's MCP servers and their tools (top-level sessions; `mcp_pool.py`)."""
    checkpoints: Checkpoints | None = None
    """What the agent changed since each prompt (top-level sessions with a transcript, shared
    with their subagents; `checkpoints/`)."""
    deferral: ToolDeferral | None = None
    """Which MCP tools' definitions the requests leave out until ToolSearch loads them (sessions
    with MCP tools, unless tool search is off; `deferred_tools/`)."""
    is_subagent: bool = False
    """A subagent's session: it fires no SessionStart, SessionEnd, UserPromptSubmit, Stop or idle
    Notification hooks (its parent fires SubagentStop, see `HookRunner.subagent_stop`)."""
    turn_scope: TurnScope = field(default_factory=TurnScope)
    """Narrowing installed during the current turn (a loaded skill's `allowed-tools`)."""

    @property
    def usage(self) -> TokenUsage:
        """The session's token totals (every request, compaction requests included)."""
        return self.spending.usage

    def current_tool_specs(self, *, reload: bool = True) -> tuple[ToolSpec, ...]:
        """The tools the model may see now: a bare deny rule (possibly just reloaded) hides one.
        `reload=False` skips looking at the settings files (once per request is enough)."""
        if reload and self.permissions is not None:
            self.permissions.refresh()
        hidden = self.policy.hidden_tools(spec.name for spec in self.tool_specs)
        if self.deferral is not None:
            hidden |= self.deferral.hidden()  # Not loaded yet: ToolSearch finds them.
        return tuple(spec for spec in self.tool_specs if spec.name not in hidden)

    async def sync_tools(self, emit: Callable[[AgentEvent], None]) -> None:
        """Before a request: the MCP servers' tools join the pool as they are now (waiting for
        servers still starting), and the user hears what happened to the servers."""
        if self.mcp is None:
            return
        for level, text in await self.mcp.refresh():
            emit(Notice(level=level, message=text))
        registry, specs = self.mcp.pool()
        if self.deferral is not None:
            registry, specs = self.deferral.view(registry, specs, self.context.meter.window)
            for text in self.deferral.take_notices():
                emit(Notice(level="info", message=text))
        self.registry, self.tool_specs = registry, specs

    def switch_model(self, model: str) -> None:
        """Talk to `model` from the next request on (the fallback model): its prices and context
        window apply, and the thinking blocks written so far stay out of its requests."""
        self.foreign_thinking.add(self.history)
        self.config = self.config.model_copy(update={"model": model})
        info = model_info(model)
        self.spending.prices = info.prices
        self.context.meter.model_changed(info.context_window, info.match)

    def narrow_turn(self, scope: ToolScope) -> None:
        """Only what `scope` allows (as well), from now until the turn ends (`end_turn_scope`)."""
        self.policy = self.turn_scope.narrow(self.policy, scope)

    def end_turn_scope(self) -> None:
        self.policy = self.turn_scope.end(self.policy)

    def new_runner(self, emit: Callable[[AgentEvent], None]) -> ToolRunner:
        deferral = self.deferral
        # The tools this request leaves out, as they are now: a call to one is not run (even if a
        # ToolSearch of the same response loads it: the model wrote it without the schema).
        unavailable = functools.partial(deferral.refusal, deferral.hidden()) if deferral else None
        return ToolRunner(
            registry=self.registry,
            ctx=self.tool_ctx,
            # Read at each decision: a skill loaded by one call of a response narrows the next ones.
            policy=LivePolicy(lambda: self.policy),
            approver=self.approver,
            grants=self.grants,
            emit=emit,
            journal=self.journal,
            remember=self.remember,
            hooks=self.permissions.hooks if self.permissions else None,
            concurrency=self.config.read_only_concurrency,
            on_plan=self._plan_changed,
            on_files=self._files_touched if self.memory is not None else None,
            unavailable=unavailable,
            checkpoints=self.checkpoints,
            agent=self.session_id if self.is_subagent else "",
        )

    async def _files_touched(self, paths: tuple[Path, ...], emit: Callable[[AgentEvent], None]) -> None:
        """The agent read or edited `paths`: memory files they bring in wait for the model."""
        if self.memory is None:
            return
        text, warnings = await self.memory.touched(paths)
        if text is not None:
            self.pending_context.append(text)
        if text is not None or warnings:
            loaded = [str(f.path) for f in self.memory.later]
            self.blackbox.write("memory_loaded", later=loaded, warnings=warnings)
        for warning in warnings:
            emit(Notice(level="warning", message=f"Memory: {warning}"))

    def _plan_changed(self, todos: tuple[TodoItem, ...]) -> None:
        self.todos = todos

    def record_partial(self, assembler: Assembler) -> None:
        self.journal.write(
            PartialAssistantRecord(message_id=assembler.message_id, content=assembler.message().content)
        )

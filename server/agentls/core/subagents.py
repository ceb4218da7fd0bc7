"""Subagents: the core's side of the Agent tool.

A subagent is a session of its own, built by the same `Session.start` as any other, and run as a
nested turn of the same core: its own conversation, system prompt (the agent definition's), tool
pool (the parent's tools, narrowed by the definition, never widened) and transcript
(`subagents/<parent id>/<agent id>.jsonl` in the session store, linked from the parent's by a
`subagent` record). What it shares with its parent:

- the workspace, the settings files (the same permission rules) and the approver, so its
  permission prompts reach the same user in the same place; its mode is the parent's, or the
  definition's if that is stricter (`agents.tightened`); prompts of concurrent subagents are asked
  one at a time;
- the spending: every request it makes also counts in the parent session's totals and is checked
  against the parent's budgets (`Spending.parent`);
- cancellation: cancelling the parent's turn cancels the Agent call, which cancels the nested turn
  and its tools (a background agent is stopped when its turn ends, `core/background.py`).

Every result ends with the agent's id; `resume` continues that agent from its own transcript
(`Session.resume`), so what it finished is not run again.

Its events reach the parent's consumer wrapped in `SubagentEvent` (tagged with the subagent's id
and the Agent call). Runaways stop at a depth of `MAX_DEPTH` (a subagent at that depth has no Agent
tool) and at `MAX_PER_SESSION` subagents per session; at most `MAX_CONCURRENT` run at once.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from agentls.core.agents import AgentCatalog, AgentDefinition, tightened
from agentls.core.background import BackgroundAgents, Status
from agentls.core.events import AgentEvent, SubagentEvent, TurnEnded
from agentls.core.model import TokenUsage
from agentls.core.records import SubagentRecord
from agentls.core.session_hooks import hooks_of, subagent_stopped
from agentls.policy.decision import ApprovalRequest, ApprovalResponse, Approver
from agentls.policy.tool_scope import ScopedPolicy, ToolScope
from agentls.store.sessions import SessionStore
from agentls.tools.agent import AgentInput, SubagentReport, resume_hint
from agentls.tools.base import ToolContext
from agentls.tools.registry import ToolRegistry
from agentls.tools.tool_search import TOOL_SEARCH

if TYPE_CHECKING:
    from agentls.core.checkpoints.tracker import Checkpoints
    from agentls.core.context.budget import Spending
    from agentls.core.session import Session, SessionDeps
    from agentls.core.state import SessionState

MAX_DEPTH = 2
MAX_PER_SESSION = 25
MAX_CONCURRENT = 4
MAX_STOP_HOOK_ROUNDS = 10
"""SubagentStop hooks that keep blocking get a subagent this many turns, then its answer stands."""


@dataclass(frozen=True)
class ParentLink:
    """What a subagent session gets from the session that started it."""

    spending: Spending
    depth: int
    instructions: str
    """The agent definition's prompt: the subagent's system prompt."""
    catalog: AgentCatalog
    """The parent's agent types (read once per top-level session, not per subagent)."""
    scope: ToolScope | None = None
    """The tool scope the parent's turn runs under (a command's `allowed-tools`), if any: it
    holds for the subagent too."""
    checkpoints: Checkpoints | None = None
    """The top-level session's checkpoints: a subagent's changes are recorded there."""


class _ParentApprover:
    """The parent's approver, for one subagent: asked by one subagent at a time (a terminal shows
    one prompt), with the call named as front ends know it (`<agent id>:<call id>`, the id its
    tool call updates carry)."""

    def __init__(self, inner: Approver, lock: asyncio.Lock, agent_id: str) -> None:
        self._inner, self._lock, self._agent_id = inner, lock, agent_id

    async def approve(self, request: ApprovalRequest) -> ApprovalResponse:
        async with self._lock:
            return await self._inner.approve(replace(request, call_id=f"{self._agent_id}:{request.call_id}"))


class Subagents:
    def __init__(
        self,
        parent: SessionState,
        deps: SessionDeps,
        catalog: AgentCatalog,
        depth: int,
        background: BackgroundAgents,
    ) -> None:
        self._parent = parent
        self._background = background
        self._deps = deps
        self._catalog = catalog
        self._depth = depth
        self._started = 0
        self._running = asyncio.Semaphore(MAX_CONCURRENT)
        self._asking = asyncio.Lock()
        self._types: dict[str, str] = {}
        """agentId -> agent type of every subagent this session has run (they can be resumed)."""
        self._running_ids: set[str] = set()
        self._in_memory: dict[str, Session] = {}
        """Subagents of a session without a store: kept (at most `MAX_PER_SESSION`) to resume."""

    def types(self) -> Sequence[tuple[str, str]]:
        return [(a.name, a.description) for a in self._catalog.agents.values()]

    def remember(self, records: Sequence[SubagentRecord]) -> None:
        """Subagents an earlier run of this session started (from its transcript): they can be
        resumed."""
        for record in records:
            self._types[record.agent_id] = record.agent_type

    async def run(self, args: AgentInput, ctx: ToolContext) -> SubagentReport:
        if args.resume is not None:
            agent_type = self._types.get(args.resume)
            known = ", ".join(self._types) or "none yet"
            if agent_type is None:
                return SubagentReport(
                    f"No agent of this session has the agentId {args.resume!r} (known: {known}).", True
                )
            if args.resume in self._running_ids:
                return SubagentReport(f"The agent {args.resume} is still running; wait for its result.", True)
        else:
            agent_type = args.subagent_type
        agent = self._catalog.get(agent_type)
        if agent is None:
            known = ", ".join(self._catalog.names())
            return SubagentReport(f"Unknown subagent_type {agent_type!r}. Available: {known}.", True)
        if self._started >= MAX_PER_SESSION:
            return SubagentReport(
                f"This session has run {MAX_PER_SESSION} subagents, the most it may; do the rest yourself.",
                True,
            )
        self._started += 1
        session = await self._open(agent, args)
        if isinstance(session, SubagentReport):
            return session
        background = bool(args.run_in_background)
        if self._parent.checkpoints is not None:  # Its changes can be rewound on their own.
            await self._parent.checkpoints.begin(
                "subagent", f"before the {agent.name} agent: {args.description}"
            )
        record = self._begin(session, agent, args, ctx.call_id or "", background)
        work = self._work(session, agent, args.prompt, record, ctx.emit)
        if background:
            self._background.start(record, _as_notification(work))
            return SubagentReport(
                f"Started the {agent.name} agent in the background. Its answer will come to you in a "
                "<task-notification> when it finishes (this turn does not end before that); go on "
                "with other work meanwhile, and do not guess its result.\n\n"
                f"agentId: {session.id}"
            )
        if ctx.if_cancelled is not None:
            ctx.if_cancelled(resume_hint(agent.name, session.id))
        return await work

    async def _open(self, agent: AgentDefinition, args: AgentInput) -> Session | SubagentReport:
        """A new subagent session, or the one `args.resume` names, continued from its transcript
        (its finished tool calls answered from there, an interrupted one marked so)."""
        from agentls.core.session import Session

        if args.resume is not None and args.resume in self._in_memory:
            return self._in_memory[args.resume]
        agent_id = args.resume or (
            self._deps.store.new_id() if self._deps.store is not None else f"mem-{secrets.token_hex(6)}"
        )
        deps = self._sub_deps(agent, args.model, agent_id)
        if isinstance(deps, SubagentReport):
            return deps
        if args.resume is None:
            return await Session.start(deps, session_id=agent_id)
        try:
            return await Session.resume(deps, agent_id)
        except (LookupError, OSError, ValueError) as err:
            return SubagentReport(f"The agent {agent_id} cannot be resumed: {err}", True)

    def _begin(
        self, session: Session, agent: AgentDefinition, args: AgentInput, call_id: str, background: bool
    ) -> SubagentRecord:
        """The subagent is about to work: linked from the parent's transcript, its hooks told
        whose it is."""
        parent = self._parent
        self._types[session.id] = agent.name
        self._running_ids.add(session.id)
        record = SubagentRecord(
            call_id=call_id,
            agent_id=session.id,
            agent_type=agent.name,
            transcript=str(session.transcript) if session.transcript else None,
            background=background,
        )
        parent.journal.write(record, sync=True)
        parent.blackbox.write(
            "subagent_resumed" if args.resume else "subagent_started",
            call_id=call_id,
            agent_id=session.id,
            agent_type=agent.name,
            background=background,
        )
        parent_hooks = hooks_of(parent)
        if (hooks := hooks_of(session.state)) is not None:
            # Its tool hooks see the parent session, as in Claude Code, plus the agent's id and type.
            hooks.set_subagent(
                agent_id=session.id,
                agent_type=agent.name,
                parent_session_id=parent.session_id,
                parent_transcript_path=parent_hooks.transcript_path if parent_hooks else "",
            )
        return record

    async def _work(
        self,
        session: Session,
        agent: AgentDefinition,
        prompt: str | None,
        record: SubagentRecord,
        emit: Callable[[Any], None] | None,
    ) -> SubagentReport:
        """The subagent's turn (and the ones SubagentStop hooks ask for), its events passed on
        tagged; at most `MAX_CONCURRENT` at once."""
        parent = self._parent

        def tagged(event: AgentEvent) -> None:
            if emit is not None:
                emit(
                    SubagentEvent(
                        agent_id=session.id, parent_call_id=record.call_id, agent_type=agent.name, event=event
                    )
                )

        end: TurnEnded | None = None
        spent = _Spent()
        stop_hook_active = False
        try:
            async with self._running:
                # SubagentStop hooks (the parent's) may send the subagent on with a new prompt.
                for _ in range(MAX_STOP_HOOK_ROUNDS):
                    if prompt is None:
                        break
                    async for event in session.run(prompt).events():
                        if isinstance(event, TurnEnded):
                            end = event
                            spent.add(event)
                        tagged(event)
                    if end is None or end.stop.kind != "end_turn":
                        break
                    prompt = await subagent_stopped(
                        parent,
                        agent_id=session.id,
                        agent_type=agent.name,
                        agent_transcript_path=str(session.transcript or ""),
                        stop_hook_active=stop_hook_active,
                        emit=tagged,
                    )
                    stop_hook_active = True
        finally:
            self._running_ids.discard(session.id)
            if session.transcript is None:
                self._in_memory[session.id] = session  # Nothing on disk to resume it from.
            else:
                session.close()
        return replace(_report(agent, session.id, end), note=spent.line(agent.name))

    def _sub_deps(
        self, agent: AgentDefinition, model: str | None, agent_id: str
    ) -> SessionDeps | SubagentReport:
        from agentls.core.session import SessionDeps

        parent, deps = self._parent, self._deps
        model_name = model or agent.model or parent.config.model
        if model_name == parent.config.model:
            model_client = parent.model
        elif deps.model_for is not None:
            model_client = deps.model_for(model_name)
        else:
            return SubagentReport(f"The model {model_name!r} is not available for subagents here.", True)
        config = parent.config.model_copy(
            update={
                "model": model_name,
                "permission_mode": tightened(parent.policy.mode, agent.permission_mode),
                "max_turns": agent.max_turns or parent.config.max_turns,
            }
        )
        store = (
            SessionStore(deps.store.root / "subagents" / parent.session_id)
            if deps.store is not None
            else None
        )
        return SessionDeps(
            config=config,
            model=model_client,
            workspace=deps.workspace,
            approver=_ParentApprover(deps.approver, self._asking, agent_id),
            policy=deps.policy,
            settings=deps.settings,
            registry=self._tools(agent),
            store=store,
            subprocess_env=deps.subprocess_env,
            clock=deps.clock,
            model_for=deps.model_for,
            parent=ParentLink(
                parent.spending,
                self._depth + 1,
                agent.prompt,
                self._catalog,
                scope=parent.policy.scope if isinstance(parent.policy, ScopedPolicy) else None,
                checkpoints=parent.checkpoints,
            ),
        )

    def _tools(self, agent: AgentDefinition) -> ToolRegistry:
        """The parent's tools (those it may see), narrowed by the definition; no Agent at the
        deepest level."""
        parent = self._parent
        hidden = parent.policy.hidden_tools(parent.registry.names())
        keep = [
            tool
            for tool in parent.registry.tools()
            if tool.name not in hidden
            and tool.name != TOOL_SEARCH  # Its own deferral decides: it has all the MCP tools.
            and (agent.tools is None or tool.name in agent.tools)
            and tool.name not in agent.disallowed_tools
            and not (tool.name == "Agent" and self._depth + 1 >= MAX_DEPTH)
        ]
        return ToolRegistry(keep)


@dataclass
class _Spent:
    """What one run of a subagent used, over all its turns (SubagentStop hooks may add some)."""

    requests: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost_usd: float | None = 0.0

    def add(self, end: TurnEnded) -> None:
        self.requests += end.requests
        self.usage = self.usage + end.usage
        known = self.cost_usd is not None and end.cost_usd is not None
        self.cost_usd = (self.cost_usd or 0.0) + (end.cost_usd or 0.0) if known else None

    def line(self, agent_type: str) -> str:
        """E.g. `explore agent: 2 requests · 1,234 tokens in, 56 out · $0.0123`."""
        u = self.usage
        tokens_in = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens
        plural = "" if self.requests == 1 else "s"
        cost = "" if self.cost_usd is None else f" · ${self.cost_usd:.4f}"
        return (
            f"{agent_type} agent: {self.requests} request{plural} · "
            f"{tokens_in:,} tokens in, {u.output_tokens:,} out{cost}"
        )


async def _as_notification(work: Coroutine[Any, Any, SubagentReport]) -> tuple[Status, str]:
    report = await work
    return ("failed" if report.is_error else "completed"), report.text


def _report(agent: AgentDefinition, agent_id: str, end: TurnEnded | None) -> SubagentReport:
    """Its answer, or why there is none, and its id (to resume it: Claude Code's `agentId:` line)."""
    tail = f"\n\nagentId: {agent_id}"
    if end is None:
        return SubagentReport(f"The {agent.name} agent was cancelled before it answered.{tail}", True)
    text = end.text.strip()
    if end.stop.kind == "end_turn":
        return SubagentReport((text or f"The {agent.name} agent finished without a final message.") + tail)
    said = f" Its last message: {text}" if text else ""
    return SubagentReport(f"The {agent.name} agent stopped early ({end.stop.kind}).{said}{tail}", True)

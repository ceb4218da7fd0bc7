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
  and its tools.

Its events reach the parent's consumer wrapped in `SubagentEvent` (tagged with the subagent's id
and the Agent call). Runaways stop at a depth of `MAX_DEPTH` (a subagent at that depth has no Agent
tool) and at `MAX_PER_SESSION` subagents per session; at most `MAX_CONCURRENT` run at once.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from agentls.core.agents import AgentCatalog, AgentDefinition, tightened
from agentls.core.events import AgentEvent, SubagentEvent, TurnEnded
from agentls.core.records import SubagentRecord
from agentls.core.session_hooks import hooks_of, subagent_stopped
from agentls.policy.decision import ApprovalRequest, ApprovalResponse, Approver
from agentls.store.sessions import SessionStore
from agentls.tools.agent import AgentInput, SubagentReport
from agentls.tools.registry import ToolRegistry

if TYPE_CHECKING:
    from agentls.core.context.budget import Spending
    from agentls.core.session import SessionDeps
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
    def __init__(self, parent: SessionState, deps: SessionDeps, catalog: AgentCatalog, depth: int) -> None:
        self._parent = parent
        self._deps = deps
        self._catalog = catalog
        self._depth = depth
        self._started = 0
        self._running = asyncio.Semaphore(MAX_CONCURRENT)
        self._asking = asyncio.Lock()

    def types(self) -> Sequence[tuple[str, str]]:
        return [(a.name, a.description) for a in self._catalog.agents.values()]

    async def run(self, args: AgentInput, call_id: str, emit: Callable[[Any], None] | None) -> SubagentReport:
        agent = self._catalog.get(args.subagent_type)
        if agent is None:
            known = ", ".join(self._catalog.names())
            return SubagentReport(f"Unknown subagent_type {args.subagent_type!r}. Available: {known}.", True)
        if self._started >= MAX_PER_SESSION:
            return SubagentReport(
                f"This session has started {MAX_PER_SESSION} subagents, the most it may; "
                "do the rest yourself.",
                True,
            )
        self._started += 1
        async with self._running:
            return await self._run(agent, args, call_id, emit)

    async def _run(
        self, agent: AgentDefinition, args: AgentInput, call_id: str, emit: Callable[[Any], None] | None
    ) -> SubagentReport:
        from agentls.core.session import Session

        agent_id = (
            self._deps.store.new_id() if self._deps.store is not None else f"mem-{secrets.token_hex(6)}"
        )
        deps = self._sub_deps(agent, args.model, agent_id)
        if isinstance(deps, SubagentReport):
            return deps
        session = await Session.start(deps, session_id=agent_id)
        parent = self._parent
        parent.journal.write(
            SubagentRecord(
                call_id=call_id,
                agent_id=session.id,
                agent_type=agent.name,
                transcript=str(session.transcript) if session.transcript else None,
            ),
            sync=True,
        )
        parent.blackbox.write("subagent_started", call_id=call_id, agent_id=session.id, agent_type=agent.name)
        parent_hooks = hooks_of(parent)
        if (hooks := hooks_of(session.state)) is not None:
            # Its tool hooks see the parent session, as in Claude Code, plus the agent's id and type.
            hooks.set_subagent(
                agent_id=session.id,
                agent_type=agent.name,
                parent_session_id=parent.session_id,
                parent_transcript_path=parent_hooks.transcript_path if parent_hooks else "",
            )

        def tagged(event: AgentEvent) -> None:
            if emit is not None:
                emit(
                    SubagentEvent(
                        agent_id=session.id, parent_call_id=call_id, agent_type=agent.name, event=event
                    )
                )

        end: TurnEnded | None = None
        prompt: str | None = args.prompt
        stop_hook_active = False
        try:
            # SubagentStop hooks (the parent's) may send the subagent on with a new prompt.
            for _ in range(MAX_STOP_HOOK_ROUNDS):
                if prompt is None:
                    break
                async for event in session.run(prompt).events():
                    if isinstance(event, TurnEnded):
                        end = event
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
            session.close()
        return _report(agent, end)

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
            parent=ParentLink(parent.spending, self._depth + 1, agent.prompt, self._catalog),
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
            and (agent.tools is None or tool.name in agent.tools)
            and tool.name not in agent.disallowed_tools
            and not (tool.name == "Agent" and self._depth + 1 >= MAX_DEPTH)
        ]
        return ToolRegistry(keep)


def _report(agent: AgentDefinition, end: TurnEnded | None) -> SubagentReport:
    if end is None:
        return SubagentReport(f"The {agent.name} agent was cancelled before it answered.", True)
    text = end.text.strip()
    if end.stop.kind == "end_turn":
        return SubagentReport(text or f"The {agent.name} agent finished without a final message.")
    said = f" Its last message: {text}" if text else ""
    return SubagentReport(f"The {agent.name} agent stopped early ({end.stop.kind}).{said}", True)

"""A session: configuration, history and transcript, and the one entry point `run(prompt)`.

Sessions start fresh or resume from their transcript. Only one turn runs at a time; a second
`run` while one is active raises `SessionBusy` (front ends decide whether to queue).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agentls import __version__
from agentls.core.agents import AgentCatalog, load_catalog
from agentls.core.api_settings import apply_api_settings
from agentls.core.background import BackgroundAgents
from agentls.core.blackbox import BlackBox, install_log_handler
from agentls.core.blackbox import path_for as blackbox_path
from agentls.core.checkpoints.recording import CheckpointedWorkspace
from agentls.core.checkpoints.timeline import timeline
from agentls.core.checkpoints.tracker import CallTag, Checkpoints
from agentls.core.commands.dispatch import dispatch
from agentls.core.commands.runs import Run
from agentls.core.config import AgentConfig
from agentls.core.context.catalog import model_info
from agentls.core.context.manager import Outcome
from agentls.core.deferred_tools.deferral import ToolDeferral, deferrable
from agentls.core.deferred_tools.setting import search_setting
from agentls.core.events import AgentEvent, Notice, SessionStarted
from agentls.core.journal import FileJournal, Journal, MemoryJournal
from agentls.core.loop import Turn
from agentls.core.mcp_pool import McpPool
from agentls.core.mcp_port import McpStart, McpStarter
from agentls.core.memory import SessionMemory
from agentls.core.memory_files import Places
from agentls.core.messages import Message
from agentls.core.model import Model, SystemBlock, TokenUsage, ToolSpec
from agentls.core.permissions import SessionPermissions
from agentls.core.prompt import build_system_prompt, git_facts
from agentls.core.records import CompactionRecord, HeaderRecord, MessageRecord, ResumedRecord, UsageRecord
from agentls.core.retry import Clock, SystemClock
from agentls.core.session_context import attach_context, new_spending, resolve_settings
from agentls.core.session_hooks import conversation_restarted, session_ended, session_started
from agentls.core.skills.catalog import SkillCatalog, load_skills
from agentls.core.skills.host import SessionSkills
from agentls.core.skills.listing import SkillListing, listing_budget, skill_listing
from agentls.core.state import SessionState
from agentls.core.subagents import ParentLink, Subagents
from agentls.policy.decision import Approver, PermissionPolicy
from agentls.policy.loader import SettingsSources
from agentls.policy.tool_scope import ScopedPolicy
from agentls.store.blobs import BlobStore
from agentls.store.jsonl import read_jsonl
from agentls.store.sessions import SessionStore, checkpoint_contents
from agentls.store.settings_files import config_home
from agentls.tools.base import FileReadState, TodoItem, ToolContext, ToolEnv, ToolLimits

if TYPE_CHECKING:
    from agentls.core.checkpoints.rewinding import RewindOutcome, RewindPart
    from agentls.core.replay import Replayed
from agentls.tools.registry import ToolRegistry, builtin_tools
from agentls.tools.skill import SKILL
from agentls.workspace.port import Workspace
from agentls.workspace.sandbox import sweep_leftovers
from agentls.workspace.tree_scan import TreeScanner


class SessionBusy(RuntimeError):
    """A turn is already running in this session."""


@dataclass(frozen=True)
class SessionDeps:
    """What a front end supplies to start or resume a session."""

    config: AgentConfig
    model: Model
    workspace: Workspace
    approver: Approver
    policy: PermissionPolicy | None = None
    """Overrides the settings-driven engine (tests); then there is no sandbox, hooks or saved rules."""
    settings: SettingsSources | None = None
    """Where the permission settings come from; None: the workspace's project, the user's files."""
    registry: ToolRegistry | None = None
    store: SessionStore | None = None
    """None keeps the transcript in memory only."""
    subprocess_env: dict[str, str] | None = None
    clock: Clock | None = None
    """Time for retry back-off, heartbeats and deadlines; None: the real one."""
    model_for: Callable[[str], Model] | None = None
    """A client for another model (a subagent may name one); None: only `model` is available."""
    parent: ParentLink | None = None
    mcp: McpStarter | None = None
    """Starts the session's MCP servers (the factory's; None: none, as in tests). A subagent uses
    its parent's servers through the tools it inherits, and starts none."""
    """Set for a subagent's session: what it gets from the session that started it."""


@dataclass(frozen=True)
class DisplayHistory:
    messages: list[Message]
    compactions: list[tuple[int, CompactionRecord]] = field(default_factory=list)
    checkpoints: list[tuple[int, int, str]] = field(default_factory=list)


class Session:
    def __init__(
        self, state: SessionState, *, transcript: Path | None, resumed: bool, notices: list[str]
    ) -> None:
        self.state = state
        self.transcript = transcript
        self.resumed = resumed
        self.notices = notices
        """Things found while resuming (a torn line, an interrupted call) for the front end to show."""
        self._turn: Turn | None = None
        self._exclusive = False
        """A compaction or a rewind is under way: the session is busy, no turn may start."""
        self._command: Run | None = None
        """A slash command running (`submit`): a local one, or a turn under a command's scope."""
        self._submitting = False

    @property
    def id(self) -> str:
        return self.state.session_id

    @property
    def busy(self) -> bool:
        return (
            self._exclusive
            or (self._turn is not None and self._turn.stop is None)
            or (self._command is not None and self._command.stop is None)
        )

    def started_event(self) -> SessionStarted:
        return SessionStarted(
            session_id=self.id,
            model=self.state.config.model,
            cwd=str(self.state.tool_ctx.workspace.root),
            resumed=self.resumed,
            transcript=str(self.transcript or ""),
        )

    def run(self, prompt: str) -> Turn:
        if self.busy:
            raise SessionBusy(f"session {self.id} is already running a turn")
        self._turn = Turn(self.state, prompt)
        return self._turn

    async def submit(self, prompt: str) -> Run:
        """What a user typed, from any front end: a slash command runs it (`commands/dispatch.py`),
        anything else starts a turn. Raises `SessionBusy`, or `CommandError` (an unknown command,
        a `/review` with nothing to review) before anything runs."""
        if self.busy or self._submitting:
            raise SessionBusy(f"session {self.id} is already running a turn")
        self._submitting = True
        try:
            run = await dispatch(self, prompt)
        finally:
            self._submitting = False
        if run is not self._turn:
            self._command = run
        return run

    def cancel(self) -> None:
        if self._turn is not None:
            self._turn.cancel()
        if self._command is not None:
            self._command.cancel()

    async def compact(self, instructions: str | None, emit: Callable[[AgentEvent], None]) -> Outcome:
        """Compact now, as the user asked: the earlier conversation is replaced by a summary
        (`instructions` say what to focus on). Not while a turn runs."""
        if self.busy:
            raise SessionBusy(f"session {self.id} is busy; compact it when the turn has ended")
        self._exclusive = True
        try:
            state = self.state
            outcome = await state.context.compact(state.history, instructions, emit, state.spending.check)
            if outcome.compacted:
                await conversation_restarted(state, "compact", emit)
            return outcome
        finally:
            self._exclusive = False

    async def rewind(
        self,
        to: int | None,
        part: RewindPart,
        *,
        overwrite: frozenset[str] = frozenset(),
        dry_run: bool = False,
        by_command: bool = False,
    ) -> RewindOutcome:
        """Rewind the code, the conversation or both to checkpoint `to` (None: the last prompt's);
        not while a turn runs. Raises `RewindError` when it cannot be done (nothing changes then).
        `by_command`: asked by `/rewind`, the command the session is running (and busy with)."""
        running_turn = self._turn is not None and self._turn.stop is None
        if self._exclusive or running_turn or (self.busy and not by_command):
            raise SessionBusy(f"session {self.id} is busy; rewind it when the turn has ended")
        # Here, not at the top: most sessions never rewind, and every start-up pays for imports.
        from agentls.core.checkpoints.rewind import RewindError
        from agentls.core.checkpoints.rewinding import rewind

        state = self.state
        if state.checkpoints is None or self.transcript is None:
            raise RewindError("this session keeps no checkpoints (it has no transcript, or they are off)")
        self._exclusive = True  # (Busy meanwhile: no turn may start during the rewind.)
        try:
            outcome = await rewind(
                read_jsonl(self.transcript).records,
                to,
                state.checkpoints,
                state.tool_ctx.workspace,
                state.journal,
                part=part,
                overwrite=overwrite,
                dry_run=dry_run,
            )
            if part != "code" and not dry_run:
                self._reload_conversation()
            return outcome
        finally:
            self._exclusive = False

    def _reload_conversation(self) -> None:
        """After a conversation rewind: the history (and what goes with it) as the transcript now
        says; spending, the model and loaded tools are not rewound."""
        assert self.transcript is not None
        from agentls.core.replay import replay  # (Only a session that rewinds or resumes.)

        replayed = replay(read_jsonl(self.transcript).records)
        state = self.state
        state.history = replayed.history
        state.todos = _todos(replayed.todos)
        state.tool_ctx.read_state = FileReadState()  # Reads the model no longer remembers.
        state.context.restore(
            replayed.base, replayed.cleared, state.history, replayed.learned_window, replayed.calibration
        )

    def display_history(self) -> DisplayHistory:
        """The whole conversation, compacted parts included, as the transcript has it (to show it
        to the user: a loaded session's replay), where it was compacted, and each prompt's
        checkpoint; the in-memory context when there is no transcript."""
        if self.transcript is None:
            return DisplayHistory(list(self.state.history))
        try:
            records = read_jsonl(self.transcript).records
        except OSError:
            return DisplayHistory(list(self.state.history))
        from agentls.core.replay import replay  # (Only a session that is shown again.)

        replayed = replay(records, display=True)
        if replayed.display is None:
            return DisplayHistory(list(self.state.history))
        return DisplayHistory(replayed.display, replayed.display_compactions, replayed.display_checkpoints)

    def close(self) -> None:
        if self.state.mcp is not None:
            self.state.mcp.close_now()  # (Idempotent: `end` has usually stopped them already.)
        self.state.journal.close()

    async def end(self, reason: str = "other", emit: Callable[[AgentEvent], None] | None = None) -> None:
        """The front end is done with the session: SessionEnd hooks run (bounded by their
        timeouts; a subagent's session runs none), then it closes. `emit` shows their notices."""
        try:
            if self.state.checkpoints is not None:
                await self.state.checkpoints.ready()  # The last command's changes are recorded.
            await session_ended(self.state, reason, emit)
        finally:
            if self.state.mcp is not None:
                await self.state.mcp.close()  # Its MCP servers stop with it (bounded).
            self.close()

    @classmethod
    async def start(
        cls, deps: SessionDeps, *, session_id: str | None = None, now: datetime | None = None
    ) -> Session:
        now = now or datetime.now(UTC)
        store = deps.store
        sid = session_id or (store.new_id() if store else f"mem-{now:%Y%m%d-%H%M%S}")
        path = store.path_for(sid) if store else None
        journal: Journal = FileJournal(path) if path else MemoryJournal()
        journal.write(
            HeaderRecord(
                session_id=sid,
                created=now.isoformat(),
                cwd=str(deps.workspace.root),
                config=deps.config.model_dump(mode="json"),
            ),
            sync=True,
        )
        notices: list[str] = []
        state = await _build_state(deps, sid, journal, now, notices, path)
        _open_black_box(state, path, "session_started", notices)
        await _start_hooks(state, "startup", notices)
        return cls(state, transcript=path, resumed=False, notices=notices)

    @classmethod
    async def resume(
        cls, deps: SessionDeps, session_id: str, *, now: datetime | None = None, keep_fallback: bool = True
    ) -> Session:
        """`keep_fallback=False`: the front end chose the model explicitly (`--model`), so a switch
        to the fallback model the session made earlier is not carried over."""
        if deps.store is None:
            raise ValueError("resuming needs a session store")
        now = now or datetime.now(UTC)
        path = deps.store.find(session_id)
        read = read_jsonl(path)
        from agentls.core.replay import replay  # (Only a session that resumes.)

        replayed = replay(read.records)
        notices: list[str] = []
        if read.torn_tail:
            notices.append(
                "The transcript's last line was cut off (the session was killed mid-write); it was ignored."
            )
        if read.corrupt_lines:
            notices.append(
                f"Skipped {len(read.corrupt_lines)} unreadable transcript line(s): {read.corrupt_lines[:10]}."
            )
        if replayed.interrupted:
            notices.append(
                f"{len(replayed.interrupted)} tool call(s) were interrupted by the crash; they were not "
                "re-run and the model has been told."
            )
        sid = replayed.header.session_id if replayed.header else session_id
        journal = FileJournal(path)
        journal.write(
            ResumedRecord(at=now.isoformat(), config=deps.config.model_dump(mode="json")), sync=True
        )
        if replayed.repair is not None:
            journal.write(MessageRecord(message=replayed.repair), sync=True)
        state = await _build_state(deps, sid, journal, now, notices, path)
        if isinstance(state.tool_ctx.subagents, Subagents):
            state.tool_ctx.subagents.remember(replayed.subagents)
        if state.background is not None:
            state.background.undelivered(replayed.undelivered)
        state.history = replayed.history
        if state.checkpoints is not None:
            await _resume_checkpoints(state.checkpoints, read.records, replayed, notices)
        state.spending.usage = replayed.usage
        state.spending.cost_usd = replayed.cost_usd or 0.0
        state.todos = _todos(replayed.todos)
        if state.deferral is not None:
            state.deferral.restore(replayed.loaded_tools)  # Its requests carry the same tools again.
        state.context.restore(
            replayed.base, replayed.cleared, state.history, replayed.learned_window, replayed.calibration
        )
        if keep_fallback and replayed.model is not None and replayed.model != state.config.model:
            state.switch_model(replayed.model)  # `/model` chose it: a resume keeps it.
        fallback = replayed.fallback
        if keep_fallback and fallback is not None and fallback.from_model == state.config.model:
            state.switch_model(fallback.to_model)
            notices.append(
                f"This session switched to the fallback model {fallback.to_model} when "
                f"{fallback.from_model} was overloaded; it keeps using {fallback.to_model} "
                "(name a model explicitly to use another)."
            )
        if replayed.compactions:
            notices.append(
                f"The session was compacted {replayed.compactions} time(s); it continues from the "
                "compacted context (the transcript keeps every message)."
            )
        _open_black_box(state, path, "session_resumed", notices)
        await _start_hooks(state, "resume", notices)
        return cls(state, transcript=path, resumed=True, notices=notices)


async def _start_hooks(state: SessionState, source: str, notices: list[str]) -> None:
    """SessionStart hooks; what they report joins the notices the front end shows at the start."""

    def note(event: AgentEvent) -> None:
        if isinstance(event, Notice):
            notices.append(event.message)

    await session_started(state, source, note)


def _open_black_box(state: SessionState, transcript: Path | None, kind: str, notices: list[str]) -> None:
    """The session's black box, opened with what was loaded at start-up."""
    state.blackbox = BlackBox(blackbox_path(transcript) if transcript else None)
    if state.checkpoints is not None and not state.is_subagent:
        state.checkpoints.note = state.blackbox.write  # Each checkpoint and failed scan.
    if state.permissions is not None:  # Every hook run is recorded in the black box.
        state.permissions.hooks.blackbox = state.blackbox
        state.permissions.hooks.transcript_path = str(transcript or "")
    install_log_handler()
    permissions = state.permissions
    settings: list[str] = []
    warnings: list[str] = []
    if permissions is not None:
        settings = [str(f) for f in permissions.sources.files() if f.exists()]
        warnings = list(permissions.warnings)
    sandbox = state.tool_ctx.sandbox
    state.blackbox.write(
        kind,
        version=__version__,
        pid=os.getpid(),
        python=sys.version.split()[0],
        cwd=str(state.tool_ctx.workspace.root),
        model=state.config.model,
        permission_mode=state.policy.mode,
        settings_files=settings,
        settings_warnings=warnings,
        tools=[spec.name for spec in state.current_tool_specs(reload=False)],
        sandbox="off" if sandbox is None else "bwrap",
        notices=notices,
        memory=[
            {"path": str(item.path), "scope": item.scope, "tokens": item.tokens}
            for item in (state.memory.listing() if state.memory is not None else [])
        ],
        **_skills_record(state),
    )


def _skills_record(state: SessionState) -> dict[str, Any]:
    """For the start-up record: the skills loaded, those skipped and why, and what the model sees."""
    skills = state.tool_ctx.skills
    if not isinstance(skills, SessionSkills):
        return {"skills": [], "skills_skipped": []}
    return {
        "skills": [
            {
                "name": s.name,
                "path": str(s.path),
                "model_invocable": s.model_invocable,
                "user_invocable": s.user_invocable,
            }
            for s in skills.catalog.skills.values()
        ],
        "skills_skipped": list(skills.catalog.warnings),
        "skills_listed": list(skills.listing.listed),
        "skills_left_out": list(skills.listing.left_out),
        "skills_listing_tokens": skills.listing.tokens,
    }


async def _build_state(
    deps: SessionDeps, sid: str, journal: Journal, now: datetime, notices: list[str], transcript: Path | None
) -> SessionState:
    # An earlier process killed mid-command or mid-write may have left sandbox placeholders or a
    # temp file in a project: they go before this session looks at the workspace.
    # (Once per top-level session: a subagent's start is not a new start of agentls.)
    if deps.parent is None and (swept := await asyncio.to_thread(sweep_leftovers)):
        shown = ", ".join(str(p) for p in swept[:5]) + (" …" if len(swept) > 5 else "")
        notices.append(
            f"Removed {len(swept)} file(s) an earlier agentls process left behind when it died: {shown}"
        )
    registry = deps.registry or builtin_tools()
    limits = ToolLimits()
    deps, checkpoints = _with_checkpoints(deps, journal, transcript)
    ctx = ToolContext(
        workspace=deps.workspace,
        read_state=FileReadState(),
        limits=limits,
        env_for_subprocess=deps.subprocess_env,
    )
    permissions: SessionPermissions | None = None
    policy: PermissionPolicy
    if deps.policy is not None:
        policy = deps.policy
    else:
        permissions = SessionPermissions(
            deps.settings or SettingsSources(project=deps.workspace.root),
            mode=deps.config.permission_mode,
            tool_names=registry.names(),
            workspace=deps.workspace,
            session_id=sid,
            subprocess_env=deps.subprocess_env,
        )
        permissions.attach(ctx)
        notices += permissions.warnings
        policy = permissions.engine
    if deps.parent is not None and deps.parent.scope is not None:
        policy = ScopedPolicy(policy, deps.parent.scope)  # A command's allowed-tools bind its subagents.
    config = deps.config
    if permissions is not None:
        config, api_warnings = apply_api_settings(config, permissions.sources)
        notices += api_warnings
    levels = permissions.engine.config if permissions is not None else None
    context_settings, budget, setting_warnings = resolve_settings(
        config.context,
        config.budget,
        levels.context if levels is not None else [],
        levels.budgets if levels is not None else [],
    )
    notices += setting_warnings
    depth = deps.parent.depth if deps.parent is not None else 0
    catalog: AgentCatalog | None = None
    if "Agent" in registry:
        catalog = _agent_catalog(deps, permissions)
        notices += catalog.warnings
    skills: SkillCatalog | None = None
    if SKILL in registry:
        skills = _skill_catalog(deps, permissions)
        notices += skills.warnings
        if not skills.model_invocable():
            registry = registry.without([SKILL])  # Its description would cost every request for nothing.
    listing = _skill_listing(skills, config.model)
    env = ToolEnv(
        root=deps.workspace.root,
        limits=limits,
        sandbox=ctx.sandbox,
        agent_types=tuple((a.name, a.description) for a in catalog.agents.values()) if catalog else (),
        skill_listing=listing.text,
    )
    hidden = policy.hidden_tools(registry.names())
    specs = tuple(
        ToolSpec(name=t.name, description=t.description(env), input_schema=t.input_schema())
        for t in registry.tools()
    )
    memory = SessionMemory(deps.workspace, _memory_places(permissions, ctx))
    await memory.start()
    notices += [f"Memory: {w}" for w in memory.warnings]
    git = await git_facts(deps.workspace)  # Once: a refresh must not save the user's buffers.

    async def system_prompt(at: datetime, model: str) -> tuple[SystemBlock, SystemBlock]:
        return await build_system_prompt(
            deps.workspace,
            tool_names=tuple(n for n in registry.names() if n not in hidden),
            now=at,
            model=model,
            instructions=deps.parent.instructions if deps.parent is not None else None,
            memory=memory.system_text(),
            git=git,
        )

    system = await system_prompt(now, config.model)
    state = SessionState(
        session_id=sid,
        config=config,
        model=deps.model,
        system=system,
        registry=registry,
        tool_specs=specs,
        tool_ctx=ctx,
        policy=policy,
        approver=deps.approver,
        journal=journal,
        spending=new_spending(config.model, budget),
        permissions=permissions,
        remember=permissions.remember if permissions else None,
        clock=deps.clock or SystemClock(),
        is_subagent=deps.parent is not None,
    )
    attach_context(state, context_settings, transcript)
    state.memory = memory
    state.checkpoints = checkpoints

    def record_relayed(usage: TokenUsage) -> None:
        # A subagent's request, now in this session's totals: on record at once (a resume reads
        # the totals from the last usage record).
        spending = state.spending
        journal.write(
            UsageRecord(request=usage, session=spending.usage, session_cost_usd=spending.session_cost)
        )

    state.spending.on_relayed = record_relayed

    async def refresh_system() -> None:
        await memory.start()
        state.system = await system_prompt(datetime.now(UTC), state.config.model)

    state.refresh_system = refresh_system
    if deps.mcp is not None and deps.parent is None and permissions is not None:
        state.mcp = _start_mcp(deps, deps.mcp, permissions, (registry, specs), env, notices)
    _attach_deferral(state, permissions, env, notices)
    if deps.parent is not None:
        state.spending.parent = deps.parent.spending  # Its requests count in the parent's totals.
    if catalog is not None:
        state.background = BackgroundAgents(journal)
        ctx.subagents = Subagents(state, deps, catalog, depth, state.background)
    if skills is not None:
        ctx.skills = SessionSkills(state, skills, listing)
    return state


def _start_mcp(
    deps: SessionDeps,
    starter: McpStarter,
    permissions: SessionPermissions,
    tools: tuple[ToolRegistry, tuple[ToolSpec, ...]],
    env: ToolEnv,
    notices: list[str],
) -> McpPool:
    """The session's MCP servers, starting in the background; problems with their entries join
    the notices shown at the start."""
    start = McpStart(permissions.sources, permissions.engine.config, deps.approver, deps.subprocess_env)
    servers = starter(start)
    notices += [text for _, text in servers.take_notices()]
    return McpPool(servers, *tools, env)


def _attach_deferral(
    state: SessionState, permissions: SessionPermissions | None, env: ToolEnv, notices: list[str]
) -> None:
    """Deferral of the MCP tools, for a session that has some and has tool search on."""
    deferral = _tool_deferral(state, permissions, env, notices)
    if deferral is None:
        return
    state.deferral = state.tool_ctx.tool_search = deferral
    if state.mcp is None:  # A subagent's tools never change: deferred (or not) once, now.
        window = state.context.meter.window
        state.registry, state.tool_specs = deferral.view(state.registry, state.tool_specs, window)
        notices += deferral.take_notices()


def _tool_deferral(
    state: SessionState, permissions: SessionPermissions | None, env: ToolEnv, notices: list[str]
) -> ToolDeferral | None:
    if state.mcp is None and not any(deferrable(t) for t in state.registry.tools()):
        return None
    levels = permissions.engine.config.env if permissions is not None else {}
    settings_env = {
        name: (str(v.value), f"{v.level} settings ({v.path})" if v.path else f"{v.level} settings")
        for name, v in levels.items()
    }
    setting, warnings = search_setting(settings_env, os.environ)
    notices += warnings
    if setting.percent is None:
        return None
    return ToolDeferral(
        setting,
        env,
        state.journal,
        lambda names: state.policy.hidden_tools(names),  # The policy as it is at the moment.
        lambda kind, **fields: state.blackbox.write(kind, **fields),
    )


async def _resume_checkpoints(
    checkpoints: Checkpoints, records: list[dict[str, Any]], replayed: Replayed, notices: list[str]
) -> None:
    """Numbering goes on; and if the session died during a tool call, what that call changed is
    found now (the scan after it never ran), so a rewind still puts it back."""
    checkpoints.restore(replayed.last_checkpoint)
    if not replayed.interrupted:
        return
    history = timeline(records)
    if not history:
        return
    tag = CallTag(tool="interrupted call", call_id=replayed.interrupted[0])
    found = await checkpoints.catch_up(history[-1], tag)
    if found:
        notices.append(
            f"{found} file(s) changed by the interrupted tool call were found and recorded in "
            f"checkpoint {history[-1].n}: a rewind puts them back too."
        )


def _with_checkpoints(
    deps: SessionDeps, journal: Journal, transcript: Path | None
) -> tuple[SessionDeps, Checkpoints | None]:
    """The session's checkpoints, and its deps with the workspace every change the session's
    tools and hooks make goes through, so that each is on record."""
    checkpoints = _checkpoints(deps, journal, transcript)
    if checkpoints is None:
        return deps, None
    workspace = CheckpointedWorkspace(deps.workspace, checkpoints)
    return dataclasses.replace(deps, workspace=workspace), checkpoints


def _checkpoints(deps: SessionDeps, journal: Journal, transcript: Path | None) -> Checkpoints | None:
    """A top-level session's checkpoints, kept next to its transcript; a subagent's are its
    parent's. None: no transcript (nothing to rewind from), or turned off."""
    if deps.parent is not None:
        return deps.parent.checkpoints
    if transcript is None or not deps.config.checkpoints:
        return None
    inner = deps.workspace
    return Checkpoints(
        TreeScanner(inner.root),
        BlobStore(checkpoint_contents(transcript)),
        journal,
        unsaved=lambda: set(inner.overlay().texts),
    )


def _memory_places(permissions: SessionPermissions | None, ctx: ToolContext) -> Places:
    """Where this session's memory files are: the settings' home and config folders, and
    whether the project is trusted (then its files may import from outside it)."""
    sources = permissions.sources if permissions is not None else None
    if sources is None:
        return Places(home=Path.home(), config=config_home(), hidden=ctx.is_hidden)
    trusted, _ = sources.trusted()
    return Places(home=sources.home, config=sources.config, trusted=trusted, hidden=ctx.is_hidden)


def _skill_catalog(deps: SessionDeps, permissions: SessionPermissions | None) -> SkillCatalog:
    """The user's skills and, in a trusted workspace, the project's."""
    sources = permissions.sources if permissions is not None else deps.settings
    if sources is None:
        return load_skills(deps.workspace.root, Path.home(), config_home(), trusted=False)
    trusted, _ = sources.trusted()
    return load_skills(sources.project, sources.home, sources.config, trusted=trusted)


def _skill_listing(skills: SkillCatalog | None, model: str) -> SkillListing:
    """The Skill tool's list, within its share of the model's context window."""
    if skills is None:
        return SkillListing("", 0, ())
    return skill_listing(skills.model_invocable(), listing_budget(model_info(model).context_window))


def _agent_catalog(deps: SessionDeps, permissions: SessionPermissions | None) -> AgentCatalog:
    """The agent types this session may start: built-in, the user's, and (trusted) the project's;
    a subagent's are its parent's."""
    if deps.parent is not None:
        return deps.parent.catalog
    sources = permissions.sources if permissions is not None else None
    if sources is None:
        return load_catalog(deps.workspace.root, Path.home(), config_home(), trusted=False)
    trusted, _ = sources.trusted()
    return load_catalog(sources.project, sources.home, sources.config, trusted=trusted)


def _todos(raw: list[dict[str, Any]]) -> tuple[TodoItem, ...]:
    """The plan a transcript recorded last; entries that no longer validate are dropped."""
    items: list[TodoItem] = []
    for entry in raw:
        try:
            items.append(TodoItem.model_validate(entry))
        except ValidationError:
            continue
    return tuple(items)

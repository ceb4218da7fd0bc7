"""Runs the tool calls of one assistant message while the message is still streaming.

`submit` is called the moment a `tool_use` block's input is complete. Ordering rules:
- read-only calls run concurrently (bounded by a semaphore), after every earlier mutating call.
  Read-only is asked per call (`Tool.is_read_only`): a Bash line is when the permission policy's
  shell analysis finds it only reads (`ls`, `git diff`, `grep x | sort`), so several such lines
  run at once; anything else it runs (`touch f`, `ls > f`, `cd x && ls`, unparsable) is mutating;
- a mutating call waits for every earlier call, so calls that change things run one at a time in
  call order and a read after an edit sees the edit;
- results come back in call order, whatever order the calls finished in.
Each call goes validate → policy → (approver) → run. Invalid input, a denial or a tool failure
becomes an `is_error` result the model can read; only cancellation propagates.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentls.core.checkpoints.tracker import CURRENT_CALL, CallTag, Checkpoints
from agentls.core.events import (
    AgentEvent,
    DecidedBy,
    Notice,
    PermissionDecided,
    PermissionOutcome,
    PermissionRequested,
    PlanUpdated,
    ToolCallFinished,
    ToolCallStarted,
    ToolCallUpdated,
)
from agentls.core.hooks import HookResults, HookRunner
from agentls.core.journal import Journal
from agentls.core.messages import ToolResultBlock, ToolUseBlock
from agentls.core.records import PermissionRecord, PlanRecord, StateRecord, ToolCallRecord, ToolResultRecord
from agentls.policy.decision import (
    Allow,
    ApprovalRequest,
    ApprovalResponse,
    Approver,
    Ask,
    CallFacts,
    Decision,
    Deny,
    PermissionPolicy,
)
from agentls.store.jsonl import json_text
from agentls.tools.base import FileTool, TodoItem, Tool, ToolContext, ToolError, ToolInput, ToolOutput
from agentls.tools.registry import ToolRegistry
from agentls.workspace.pinned import PathMoved, real_path, resolving_as

log = logging.getLogger(__name__)

_BY_STAGE: dict[str, DecidedBy] = {"user": "user", "mode": "mode", "hook": "hook", "session": "session"}

CANCELLED = "Cancelled: the user stopped the turn before this tool call finished."


def _said(reason: str) -> str:
    return f": {reason}" if reason else ""


def _tool_response(output: ToolOutput) -> dict[str, Any]:
    """A successful call's result as PostToolUse hooks get it (`tool_response`)."""
    response: dict[str, Any] = {"success": True, "output": output.content}
    if output.change is not None:
        response["filePath"] = str(output.change.path)
    return response


def input_digest(data: dict[str, Any]) -> str:
    canonical = json_text(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def describe_validation_error(tool: str, err: ValidationError) -> str:
    problems = []
    for e in err.errors(include_url=False):
        where = ".".join(str(p) for p in e["loc"]) or "input"
        problems.append(f"- {where}: {e['msg']}")
    return (
        f"Invalid input for tool {tool}:\n" + "\n".join(problems) + "\nFix the input and call the tool again."
    )


@dataclass
class SessionGrants:
    """Answers the user gave with "always"/"never", kept for the rest of the session."""

    allowed: set[tuple[str, ...]] = field(default_factory=set)
    denied: set[tuple[str, ...]] = field(default_factory=set)

    @staticmethod
    def key(tool: Tool[Any], facts: CallFacts) -> tuple[str, ...]:
        if tool.edits_files:
            return ("<edits>",)  # "Allow all edits this session", as editors' users expect.
        if tool.name == "Bash":
            return ("Bash", str(facts.input.get("command", "")))
        return (tool.name,)


@dataclass
class _Call:
    index: int
    block: ToolUseBlock
    task: asyncio.Task[ToolResultBlock] | None = None
    started_at: float = field(default_factory=time.monotonic)
    output: ToolOutput | None = None
    """Set once the tool has run and PostToolUse hooks are running."""
    if_cancelled: str = ""
    """What the tool asked a cancelled result to add (`ToolContext.if_cancelled`)."""
    read_only: bool = False
    """This call only reads (`Tool.is_read_only`): it runs beside other reads."""


class ToolRunner:
    def __init__(
        self,
        *,
        registry: ToolRegistry,
        ctx: ToolContext,
        policy: PermissionPolicy,
        approver: Approver,
        grants: SessionGrants,
        emit: Callable[[AgentEvent], None],
        journal: Journal,
        concurrency: int = 8,
        remember: Callable[[CallFacts, bool], str] | None = None,
        hooks: HookRunner | None = None,
        on_plan: Callable[[tuple[TodoItem, ...]], None] | None = None,
        on_files: Callable[[tuple[Path, ...], Callable[[AgentEvent], None]], Awaitable[None]] | None = None,
        unavailable: Callable[[str], str | None] | None = None,
        checkpoints: Checkpoints | None = None,
        agent: str = "",
    ) -> None:
        self._checkpoints = checkpoints
        """The session's checkpoints: told of changes a tool made outside the workspace port."""
        self._agent = agent
        """The subagent whose calls these are ("" for a top-level session), for change records."""
        self._unavailable = unavailable
        """Why a tool of the registry may not be called in this response (a deferred tool the
        request left out: `core/deferred_tools/`); None when it may."""
        self._hooks = hooks
        self._on_plan = on_plan
        self._on_files = on_files
        """Told of the files a file tool read or edited (the memory files they bring in)."""
        self._registry = registry
        self._ctx = ctx
        self._policy = policy
        self._approver = approver
        self._grants = grants
        self._emit = emit
        self._journal = journal
        self._remember = remember
        self._calls: list[_Call] = []
        self._last_mutating: asyncio.Task[ToolResultBlock] | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._ask_lock = asyncio.Lock()
        self.hook_stop: str | None = None
        """Set when a PreToolUse or PostToolUse hook said `continue: false`: the turn ends after
        these calls (their results are kept)."""

    @property
    def started(self) -> bool:
        return bool(self._calls)

    def submit(self, block: ToolUseBlock, error: str | None = None) -> None:
        """Start a call now; `error` (e.g. unparsable input JSON) answers it without running it."""
        call = _Call(index=len(self._calls), block=block)
        tool = self._registry.get(block.name)
        args: ToolInput | None = None
        if error is not None:
            pass
        elif tool is None:
            error = f"No such tool: {block.name}. Available tools: {', '.join(self._registry.names())}."
        elif self._unavailable is not None and (refusal := self._unavailable(block.name)) is not None:
            error = refusal  # Answered without a permission prompt: nothing runs.
        else:
            try:
                args = tool.parse(block.input)
            except ValidationError as err:
                error = describe_validation_error(tool.name, err)
        if tool is not None and args is not None:
            call.read_only = tool.is_read_only(args)
        else:
            call.read_only = bool(tool and tool.read_only)  # Answered without running.
        mutating = args is not None and not call.read_only
        deps = (
            [c.task for c in self._calls if c.task]
            if mutating
            else ([self._last_mutating] if self._last_mutating else [])
        )
        self._emit(
            ToolCallStarted(
                call_id=block.id,
                name=block.name,
                input=block.input,
                title=tool.summary(args, self._ctx.workspace.root) if tool and args else block.name,
                read_only=call.read_only,
            )
        )
        if tool is None or args is None:
            call.task = asyncio.create_task(self._fail(call, error or "invalid call"))
        else:
            call.task = asyncio.create_task(self._run(call, tool, args, deps))
        if mutating:
            self._last_mutating = call.task
        self._calls.append(call)

    async def results(self) -> list[ToolResultBlock]:
        """Wait for every call; results in call order."""
        return [await c.task for c in self._calls if c.task]

    async def cancel(self) -> list[ToolResultBlock]:
        """Stop every unfinished call (killing its processes) and answer it as cancelled."""
        pending = [c for c in self._calls if c.task and not c.task.done()]
        for c in pending:
            assert c.task is not None
            c.task.cancel()
        await asyncio.gather(*(c.task for c in pending if c.task), return_exceptions=True)
        out: list[ToolResultBlock] = []
        for c in self._calls:
            assert c.task is not None
            if c.task.cancelled() or c.task.exception() is not None:
                cancelled = f"{CANCELLED} {c.if_cancelled}".rstrip()
                out.append(self._finish(c, c.output or ToolOutput(cancelled, is_error=True)))
            else:
                out.append(c.task.result())
        return out

    async def _fail(self, call: _Call, message: str) -> ToolResultBlock:
        self._record_decision(call, "deny", Deny(message.splitlines()[0], stage="validation"), emit=False)
        return self._finish(call, ToolOutput(message, is_error=True))

    async def _run(
        self, call: _Call, tool: Tool[Any], args: ToolInput, deps: list[asyncio.Task[Any]]
    ) -> ToolResultBlock:
        if deps:
            await asyncio.wait(deps)
        # What the workspace records of this call's changes (this task's context only).
        tag = CallTag(tool.name, call.block.id, self._agent)
        CURRENT_CALL.set(tag)
        facts = CallFacts(
            tool=tool.name,
            input=call.block.input,
            read_only=call.read_only,  # (For Bash the engine asks the shell analysis itself.)
            edits_files=tool.edits_files,
            paths=tool.paths(args, self._ctx.workspace.root),
            summary=tool.summary(args, self._ctx.workspace.root),
        )
        try:
            # The check decides on one resolution of each path, and the workspace later reads
            # and writes only the files so resolved: a link swapped in meanwhile is refused.
            pins = {path: real_path(path) for path in facts.paths}
        except PathMoved as e:
            return self._finish(
                call, ToolOutput(f"{e.strerror}; nothing was done. Try again.", is_error=True)
            )
        with resolving_as(pins):
            denial = await self._authorize(call, tool, args, facts)
        if denial is not None:
            return self._finish(call, ToolOutput(denial, is_error=True))
        self._journal.write(StateRecord(state="executing_tool", detail=facts.summary))
        self._journal.write(
            ToolCallRecord(call_id=call.block.id, name=tool.name, input=call.block.input), sync=True
        )
        self._emit(ToolCallUpdated(call_id=call.block.id, status="running"))
        call.started_at = time.monotonic()
        slot = self._slots if call.read_only else contextlib.nullcontext()
        async with slot:
            ctx = replace(
                self._ctx,
                checked=pins,
                call_id=call.block.id,
                emit=self._emit,
                if_cancelled=partial(setattr, call, "if_cancelled"),
            )
            try:
                output = await self._call_tool(tool, args, ctx)
            finally:
                if self._checkpoints is not None and tool.tier == "plugin" and not call.read_only:
                    self._checkpoints.after_outside_change(tag)  # An MCP tool may change any file.
        output = await self._post_tool_use(call, tool, output)
        if self._on_files is not None and not output.is_error and isinstance(tool, FileTool):
            await self._on_files(facts.paths, self._emit)
        if output.todos is not None:
            if self._on_plan is not None:
                self._on_plan(output.todos)
            self._emit(PlanUpdated(todos=output.todos))
            self._journal.write(PlanRecord(todos=[t.model_dump() for t in output.todos]))
        return self._finish(call, output)

    async def _call_tool(self, tool: Tool[Any], args: ToolInput, ctx: ToolContext) -> ToolOutput:
        try:
            return await tool.call(args, ctx)
        except ToolError as err:
            return ToolOutput(str(err), is_error=True)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # A bug in a tool must not end the turn: the model is told.
            log.exception("tool %s failed", tool.name)
            return ToolOutput(
                f"Internal error in tool {tool.name}: {type(err).__name__}: {err}", is_error=True
            )

    async def _authorize(self, call: _Call, tool: Tool[Any], args: ToolInput, facts: CallFacts) -> str | None:
        """None if the call may run, else the message the model gets instead of a result.

        The pipeline: rules and checks (`policy.decide`) → PreToolUse hooks → answers given earlier
        in the session → the mode (`policy.settle`) → the user. Every outcome is recorded with the
        stage that produced it.
        """
        decision: Decision = self._policy.decide(facts)
        if not isinstance(decision, Deny):
            decision = await self._run_hooks(call, facts, decision)
        key = SessionGrants.key(tool, facts)
        if isinstance(decision, Ask) and not decision.firm:
            if key in self._grants.denied:
                decision = Deny("the user chose to always reject this for the session", stage="session")
            elif key in self._grants.allowed:
                decision = Allow("the user chose to always allow this for the session", stage="session")
        decision = self._policy.settle(decision)
        if isinstance(decision, Allow):
            self._record_decision(call, "allow", decision, emit=False)
            return None
        if isinstance(decision, Deny):
            self._record_decision(call, "deny", decision, emit=True)
            return f"Permission denied: {decision.reason}. Do not retry this call unchanged."
        async with self._ask_lock:
            response = await self._ask(call, tool, args, facts, decision)
        if response.remember:
            (self._grants.allowed if response.allowed else self._grants.denied).add(key)
            if self._remember is not None:
                self._persist_rule(facts, response.allowed)
        outcome: PermissionOutcome = "allow" if response.allowed else "deny"
        answered = (
            Allow(response.message, stage="user")
            if response.allowed
            else Deny(response.message, stage="user")
        )
        self._record_decision(call, outcome, answered, emit=True, remember=response.remember)
        if response.allowed:
            return None
        said = f' The user said: "{response.message}"' if response.message else ""
        return f"The user rejected this {tool.name} call.{said} Do not retry it unchanged; adapt or ask."

    async def _run_hooks(self, call: _Call, facts: CallFacts, decision: Decision) -> Decision:
        if self._hooks is None or not self._hooks.any_for(facts.tool):
            return decision
        verdicts = await self._hooks.pre_tool_use(
            facts.tool, call.block.input, call.block.id, self._policy.mode
        )
        for level, text in verdicts.notices():
            self._emit(Notice(level=level, message=text))
        if verdicts.stop is not None:
            self._stop_turn("PreToolUse", verdicts.stop)
            return Deny(f"a PreToolUse hook stopped the turn{_said(verdicts.stop)}", stage="hook")
        said = {v.decision: v.reason for v in reversed(verdicts) if v.decision}
        if "deny" in said:
            return Deny(f"a PreToolUse hook blocked it: {said['deny']}", stage="hook")
        if "ask" in said:
            return Ask(f"a PreToolUse hook asks: {said['ask']}", stage="hook", firm=True)
        if "allow" in said and isinstance(decision, Ask) and not decision.firm:
            return Allow(f"a PreToolUse hook allowed it: {said['allow']}", stage="hook")
        return decision

    def _persist_rule(self, facts: CallFacts, allowed: bool) -> None:
        assert self._remember is not None
        try:
            where = self._remember(facts, allowed)
        except Exception as err:  # The answer still holds for this session; say why it won't last.
            log.warning("could not save the permission rule: %s", err)
            self._emit(Notice(level="warning", message=f"Could not save the permission rule: {err}"))
            return
        self._emit(Notice(message=where))

    async def _ask(
        self,
        call: _Call,
        tool: Tool[Any],
        args: ToolInput,
        facts: CallFacts,
        decision: Ask,
    ) -> ApprovalResponse:
        self._journal.write(StateRecord(state="awaiting_permission", detail=facts.summary))
        self._emit(ToolCallUpdated(call_id=call.block.id, status="awaiting_permission"))
        self._emit(
            PermissionRequested(
                call_id=call.block.id, name=tool.name, input=call.block.input, reason=decision.reason
            )
        )
        try:
            diff = await tool.preview(args, self._ctx)
        except ToolError:
            diff = None
        note = self._notify_prompt(tool.name, decision.reason)
        try:
            return await self._approver.approve(ApprovalRequest(call.block.id, facts, decision.reason, diff))
        except asyncio.CancelledError:
            raise
        except Exception as err:  # An approver that breaks is a "no", never a "yes".
            log.exception("approver failed")
            return ApprovalResponse("reject_once", f"(the permission prompt failed: {err})")
        finally:
            await self._notified(note)

    def _notify_prompt(self, tool: str, reason: str) -> asyncio.Task[HookResults] | None:
        """Notification hooks (`permission_prompt`), run while the prompt is shown."""
        if self._hooks is None or not self._hooks.has("Notification", "permission_prompt"):
            return None
        message = f"agentls needs your permission to use {tool}: {reason}"
        return asyncio.create_task(self._hooks.notification(message, "permission_prompt"))

    async def _notified(self, note: asyncio.Task[HookResults] | None) -> None:
        if note is None:
            return
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            note.cancel()  # The turn is going away: the hook process is killed.
            return
        for level, text in (await note).notices():
            self._emit(Notice(level=level, message=text))

    async def _post_tool_use(self, call: _Call, tool: Tool[Any], output: ToolOutput) -> ToolOutput:
        """PostToolUse hooks after a call that succeeded: what they say (a block's reason, their
        context) is added to the result the model reads."""
        if self._hooks is None or output.is_error or not self._hooks.has("PostToolUse", tool.name):
            return output
        call.output = output  # The call has run: a cancel now keeps its result (`cancel`).
        results = await self._hooks.post_tool_use(
            tool.name, call.block.input, call.block.id, _tool_response(output)
        )
        for level, text in results.notices():
            self._emit(Notice(level=level, message=text))
        notes: list[str] = []
        if (reason := results.block_reason) is not None:
            notes.append(f"PostToolUse hook feedback:\n{reason}")
        if results.context:
            notes.append(f"PostToolUse hook additional context:\n{results.context}")
        if results.stop is not None:
            self._stop_turn("PostToolUse", results.stop)
        if not notes:
            return output
        return replace(output, content="\n\n".join([output.content, *notes]))

    def _stop_turn(self, event: str, reason: str) -> None:
        if self.hook_stop is None:
            self.hook_stop = reason
            self._emit(Notice(level="warning", message=f"A {event} hook ended the turn{_said(reason)}"))

    def _record_decision(
        self,
        call: _Call,
        outcome: PermissionOutcome,
        decision: Decision,
        *,
        emit: bool,
        remember: bool = False,
    ) -> None:
        by = _BY_STAGE.get(decision.stage, "policy")
        self._journal.write(
            PermissionRecord(
                call_id=call.block.id,
                tool=call.block.name,
                input_digest=input_digest(call.block.input),
                outcome=outcome,
                by=by,
                reason=decision.reason,
                stage=decision.stage,
                rule=decision.rule,
                mode=self._policy.mode,
                at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        )
        if emit:
            self._emit(
                PermissionDecided(
                    call_id=call.block.id,
                    name=call.block.name,
                    outcome=outcome,
                    by=by,
                    reason=decision.reason,
                    remember=remember,
                    stage=decision.stage,
                    rule=decision.rule,
                )
            )

    def _finish(self, call: _Call, output: ToolOutput) -> ToolResultBlock:
        self._journal.write(
            ToolResultRecord(call_id=call.block.id, content=output.content, is_error=output.is_error)
        )
        self._emit(
            ToolCallFinished(
                call_id=call.block.id,
                name=call.block.name,
                is_error=output.is_error,
                output=output.content,
                duration_ms=(time.monotonic() - call.started_at) * 1000,
                diff=output.diff,
                path=str(output.change.path) if output.change else None,
                old_text=output.change.old_text if output.change else None,
                new_text=output.change.new_text if output.change else None,
                note=output.note,
            )
        )
        return ToolResultBlock(tool_use_id=call.block.id, content=output.content, is_error=output.is_error)

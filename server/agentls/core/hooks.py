"""Command hooks on every event, in Claude Code's settings format and protocol.

Settings: `{"hooks": {"<Event>": [{"matcher": "Bash|Edit", "hooks": [{"type": "command",
"command": "...", "timeout": 60}]}]}}`. The events (`HOOK_EVENTS`) and what a matcher is matched
against (`MATCHED_BY`): PreToolUse and PostToolUse the tool name, Notification the notification
type, PreCompact the trigger (`manual`, `auto`), SessionStart the source (`startup`, `resume`,
`clear`, `compact`), SessionEnd the reason, SubagentStop the agent type; UserPromptSubmit and Stop
have none (every hook runs). A matcher is a name, names joined by `|` or `,`, or a regular
expression; empty or `*` matches everything.

Every hook gets JSON on stdin: `session_id`, `transcript_path`, `cwd`, `permission_mode`,
`hook_event_name` (plus `agent_id` and `agent_type` in a subagent, see `set_subagent`) and the
event's own fields. It answers with its exit status and output (stdout and stderr together: the
workspace runs processes with one output stream):

- exit status 2 blocks where the event can be blocked (`BLOCKING`), with the output as the reason;
  elsewhere the output is only shown to the user;
- exit status 0 with a JSON object: `decision: "block"` and `reason`; `continue: false` and
  `stopReason` (end the turn); `systemMessage` (shown to the user); `suppressOutput` (accepted, a
  no-op: agentls never shows a hook's output in the transcript); `hookSpecificOutput` with
  `hookEventName`, `additionalContext` (UserPromptSubmit, SessionStart, PostToolUse: for the
  model) and, for PreToolUse, `permissionDecision` and `permissionDecisionReason` (or the older
  top-level `decision: "approve"|"block"`). Plain output of a UserPromptSubmit or SessionStart
  hook is context for the model, as in Claude Code;
- anything else (another status, a timeout, a hook that cannot start): no answer, and a warning.

Matching hooks run one after another, in settings order; the first that blocks (or says
`continue: false`) ends the run. Each run is a `hook` record in the session's black box.

Who calls what: the tool runner (`tool_exec.py`) PreToolUse, PostToolUse and the Notification of a
permission prompt; the turn (`loop.py`, through `session_hooks.py`) UserPromptSubmit, Stop and the
Notification of a turn waiting for the user; the session SessionStart and SessionEnd; compaction
PreCompact. SubagentStop is for the subagent machinery: when a subagent's turn ends, call
`subagent_stop` on the *parent's* runner (or `session_hooks.subagent_stopped`); if the result is
`blocked`, the subagent goes on with `block_reason` as its next prompt, and the next call passes
`stop_hook_active=True`.

A PreToolUse hook can deny or force a prompt, never override a deny: the loop only runs hooks for
calls the rules did not deny, and a hook's "allow" only skips a prompt that no ask rule or
protected path demanded. Hooks come only from settings the user trusts (see
`policy.settings_levels`); they run with the same scrubbed environment as Bash, outside the
sandbox, as the user configured them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agentls.core.blackbox import BlackBox
from agentls.policy.settings_levels import Sourced
from agentls.store.jsonl import json_text
from agentls.tools.bash import scrubbed_env
from agentls.workspace.port import ProcessSpec, Workspace

HookDecision = Literal["allow", "deny", "ask"]
DEFAULT_TIMEOUT_S = 60.0
_NAMES = re.compile(r"[A-Za-z0-9_|,]+")

HOOK_EVENTS = (
    "PreToolUse",
    "PostToolUse",
    "UserPromptSubmit",
    "Notification",
    "Stop",
    "SubagentStop",
    "PreCompact",
    "SessionStart",
    "SessionEnd",
)
MATCHED_BY = {
    "PreToolUse": "tool_name",
    "PostToolUse": "tool_name",
    "Notification": "notification_type",
    "PreCompact": "trigger",
    "SessionStart": "source",
    "SessionEnd": "reason",
    "SubagentStop": "agent_type",
}
"""The stdin field a matcher is matched against; other events ignore their matchers."""
BLOCKING = frozenset({"PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop", "SubagentStop", "PreCompact"})
"""Events a hook can block with exit status 2 or `decision: "block"`."""
CONTEXT_EVENTS = frozenset({"UserPromptSubmit", "SessionStart", "PostToolUse"})
"""Events whose `additionalContext` reaches the model."""
_PLAIN_CONTEXT = frozenset({"UserPromptSubmit", "SessionStart"})
"""Events whose plain (non-JSON) output on exit status 0 is context for the model."""
_OUTPUT_LIMIT = 10_000


@dataclass(frozen=True)
class CommandHook:
    matcher: str
    command: str
    timeout_s: float
    source: str
    event: str = "PreToolUse"

    def applies_to(self, subject: str | None) -> bool:
        """Whether the matcher matches `subject`; None: the event has no matcher, so it does."""
        if subject is None or self.matcher in ("", "*"):
            return True
        if _NAMES.fullmatch(self.matcher):
            return subject in re.split(r"[|,]", self.matcher)
        try:
            return re.fullmatch(self.matcher, subject) is not None
        except re.error:
            return False  # Reported when the settings were read.


@dataclass(frozen=True)
class HookVerdict:
    """What one hook run said."""

    hook: CommandHook
    decision: HookDecision | None
    """PreToolUse: its permission decision; other events: "deny" when it blocked."""
    reason: str = ""
    problem: str | None = None
    """Why the hook gave no answer (it failed), for a notice."""
    context: str = ""
    """Text for the model (`additionalContext`, or plain output where Claude Code takes it)."""
    stop: str | None = None
    """`continue: false`: the turn ends; the `stopReason` for the user (may be empty)."""
    system_message: str = ""
    shown: str = ""
    """Exit status 2 of an event that cannot block: the output, for the user."""
    suppress_output: bool = False
    exit_code: int | None = None
    duration_ms: float = 0.0

    @property
    def blocked(self) -> bool:
        return self.decision == "deny"


class HookResults(list[HookVerdict]):
    """The verdicts of one event's hooks, in the order they ran."""

    def __init__(self, event: str, verdicts: Iterable[HookVerdict] = ()) -> None:
        super().__init__(verdicts)
        self.event = event

    @property
    def blocked(self) -> bool:
        return any(v.blocked for v in self)

    @property
    def block_reason(self) -> str | None:
        """The reason of the hook that blocked, or None."""
        return next((v.reason for v in self if v.blocked), None)

    @property
    def context(self) -> str:
        return "\n\n".join(v.context for v in self if v.context)

    @property
    def stop(self) -> str | None:
        """Not None when a hook said `continue: false`: its `stopReason`."""
        return next((v.stop for v in self if v.stop is not None), None)

    def notices(self) -> list[tuple[Literal["info", "warning"], str]]:
        """What the user should see: failed hooks, exit-2 output of a hook that cannot block,
        `systemMessage`s. A block or a stop is reported by the caller, which knows its effect."""
        out: list[tuple[Literal["info", "warning"], str]] = []
        for v in self:
            name = f"{self.event} hook `{v.hook.command}` ({v.hook.source})"
            if v.problem:
                out.append(("warning", f"{name} failed: {v.problem}"))
            if v.shown:
                out.append(("warning", f"{name} exited with status 2: {v.shown}"))
            if v.system_message:
                out.append(("info", f"{self.event} hook: {v.system_message}"))
        return out


def pre_tool_use_hooks(hook_sets: Sequence[Sourced]) -> tuple[list[CommandHook], list[str]]:
    """The PreToolUse command hooks of every settings level, and warnings for malformed entries."""
    return command_hooks(hook_sets, "PreToolUse")


def hooks_by_event(hook_sets: Sequence[Sourced]) -> tuple[dict[str, list[CommandHook]], list[str]]:
    """The command hooks of every event agentls runs, and warnings for malformed entries."""
    out: dict[str, list[CommandHook]] = {}
    warnings: list[str] = []
    for event in HOOK_EVENTS:
        out[event], more = command_hooks(hook_sets, event)
        warnings += more
    return out, warnings


def unsupported_events(hook_sets: Sequence[Sourced]) -> list[str]:
    """A line for each hooks entry of an event agentls does not run (for `agentls permissions`)."""
    out: list[str] = []
    for hook_set in hook_sets:
        if not isinstance(hook_set.value, Mapping):
            continue
        where = f"{hook_set.level} settings ({hook_set.path or 'the command line'})"
        out += [
            f"{where}: agentls does not run {event} hooks; ignored"
            for event in hook_set.value
            if event not in HOOK_EVENTS
        ]
    return out


def command_hooks(hook_sets: Sequence[Sourced], event: str) -> tuple[list[CommandHook], list[str]]:
    """The command hooks for `event` of every settings level, and warnings for malformed entries."""
    hooks: list[CommandHook] = []
    warnings: list[str] = []
    for hook_set in hook_sets:
        where = f"{hook_set.level} settings ({hook_set.path or 'the command line'})"
        groups = hook_set.value.get(event, []) if isinstance(hook_set.value, Mapping) else []
        if not isinstance(groups, list):
            warnings.append(f"{where}: hooks.{event} must be a list; ignored")
            continue
        for group in groups:
            hooks += _group(group, where, warnings, event)
    return hooks, warnings


def _group(group: object, where: str, warnings: list[str], event: str) -> list[CommandHook]:
    if not isinstance(group, Mapping) or not isinstance(group.get("hooks"), list):
        warnings.append(f"{where}: a {event} entry needs a `hooks` list; ignored")
        return []
    matcher = group.get("matcher", "")
    if not isinstance(matcher, str):
        warnings.append(f"{where}: a hook matcher must be a string; ignored")
        return []
    if not _NAMES.fullmatch(matcher or "x") and matcher != "*":
        try:
            re.compile(matcher)
        except re.error as err:
            warnings.append(f"{where}: hook matcher {matcher!r} is not a valid regular expression ({err})")
    out: list[CommandHook] = []
    for entry in group["hooks"]:
        if not isinstance(entry, Mapping) or entry.get("type") != "command":
            warnings.append(f"{where}: only `command` hooks are supported; an entry was ignored")
            continue
        command, timeout = entry.get("command"), entry.get("timeout", DEFAULT_TIMEOUT_S)
        if not isinstance(command, str) or not command.strip():
            warnings.append(f"{where}: a command hook needs a `command` string; ignored")
            continue
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            warnings.append(f"{where}: hook timeout must be a positive number of seconds; using 60")
            timeout = DEFAULT_TIMEOUT_S
        out.append(CommandHook(matcher, command, float(timeout), where, event))
    return out


class HookRunner:
    """Runs a session's hooks. Built empty by `SessionPermissions`, which refills it with
    `set_hooks` whenever the settings change; the session gives it its transcript and black box."""

    def __init__(
        self,
        hooks: Sequence[CommandHook] = (),
        *,
        workspace: Workspace,
        session_id: str,
        env: Mapping[str, str] | None = None,
        mode: Callable[[], str] | None = None,
    ) -> None:
        self._by_event: dict[str, list[CommandHook]] = {event: [] for event in HOOK_EVENTS}
        self._by_event["PreToolUse"] = list(hooks)
        self._workspace = workspace
        self._session_id = session_id
        self._mode = mode
        self._agent: dict[str, str] = {}
        self.transcript_path = ""
        self.blackbox: BlackBox | None = None
        """Where each run is recorded (set by the session once its black box is open)."""
        base = dict(env) if env is not None else scrubbed_env()
        root = str(workspace.root)
        self._env = {**base, "AGENTLS_PROJECT_DIR": root, "CLAUDE_PROJECT_DIR": root}

    def set_hooks(self, by_event: Mapping[str, Sequence[CommandHook]]) -> None:
        """Replace every event's hooks (events not named get none)."""
        self._by_event = {event: list(by_event.get(event, ())) for event in HOOK_EVENTS}

    def set_subagent(
        self, *, agent_id: str, agent_type: str, parent_session_id: str, parent_transcript_path: str
    ) -> None:
        """This runner is a subagent's: payloads carry the parent session's id and transcript, as
        in Claude Code, plus `agent_id` and `agent_type`."""
        self._session_id = parent_session_id
        self.transcript_path = parent_transcript_path
        self._agent = {"agent_id": agent_id, "agent_type": agent_type}

    @property
    def hooks(self) -> list[CommandHook]:
        """The PreToolUse hooks."""
        return self._by_event["PreToolUse"]

    @property
    def compact_hooks(self) -> list[CommandHook]:
        """The PreCompact hooks (their matcher is the trigger, `manual` or `auto`)."""
        return self._by_event["PreCompact"]

    def of(self, event: str) -> list[CommandHook]:
        return self._by_event.get(event, [])

    def has(self, event: str, subject: str | None = None) -> bool:
        """Whether any `event` hook would run for `subject` (None: whatever the matcher)."""
        return any(subject is None or h.applies_to(subject) for h in self.of(event))

    def any_for(self, tool: str) -> bool:
        return self.has("PreToolUse", tool)

    # --- The events ----------------------------------------------------------------------------

    async def pre_tool_use(
        self, tool: str, tool_input: Mapping[str, Any], call_id: str, mode: str
    ) -> HookResults:
        """Every hook that applies, in order; a deny stops the rest (nothing can undo it)."""
        fields = {"tool_name": tool, "tool_input": dict(tool_input), "tool_use_id": call_id}
        return await self._fire("PreToolUse", tool, fields, mode=mode)

    async def post_tool_use(
        self, tool: str, tool_input: Mapping[str, Any], call_id: str, response: Mapping[str, Any]
    ) -> HookResults:
        """After a call that succeeded; a block's reason (and any context) goes to the model."""
        fields = {
            "tool_name": tool,
            "tool_input": dict(tool_input),
            "tool_response": dict(response),
            "tool_use_id": call_id,
        }
        return await self._fire("PostToolUse", tool, fields)

    async def user_prompt_submit(self, prompt: str) -> HookResults:
        """Before a prompt is sent; a block keeps it from the model."""
        return await self._fire("UserPromptSubmit", None, {"prompt": prompt})

    async def notification(self, message: str, notification_type: str) -> HookResults:
        """The agent needs the user: `permission_prompt` (a prompt is shown) or `idle_prompt` (a
        turn ended and waits for the next prompt)."""
        fields = {"message": message, "title": "agentls", "notification_type": notification_type}
        return await self._fire("Notification", notification_type, fields)

    async def stop(self, stop_hook_active: bool) -> HookResults:
        """The model finished its answer; a block makes it go on with the reason."""
        return await self._fire("Stop", None, {"stop_hook_active": stop_hook_active})

    async def subagent_stop(
        self, *, stop_hook_active: bool, agent_id: str, agent_type: str, agent_transcript_path: str = ""
    ) -> HookResults:
        """A subagent finished its answer; call on the parent session's runner. A block (see
        `HookResults.block_reason`) makes the subagent go on with the reason; pass
        `stop_hook_active=True` when it is asked again after such a block."""
        fields = {
            "stop_hook_active": stop_hook_active,
            "agent_id": agent_id,
            "agent_type": agent_type,
            "agent_transcript_path": agent_transcript_path,
        }
        return await self._fire("SubagentStop", agent_type, fields)

    async def pre_compact(
        self, trigger: str, instructions: str | None, transcript: str | None = None
    ) -> HookResults:
        """Before a compaction that asks the model for a summary; a block prevents it."""
        fields = {"trigger": trigger, "custom_instructions": instructions or ""}
        return await self._fire("PreCompact", trigger, fields, transcript=transcript)

    async def session_start(self, source: str) -> HookResults:
        """A session started (`startup`), was resumed (`resume`), cleared (`clear`) or compacted
        (`compact`); the context the hooks give goes to the model with the next request."""
        return await self._fire("SessionStart", source, {"source": source})

    async def session_end(self, reason: str) -> HookResults:
        """The session is closing; hooks cannot stop that."""
        return await self._fire("SessionEnd", reason, {"reason": reason})

    # --- Running ---------------------------------------------------------------------------------

    async def _fire(
        self,
        event: str,
        subject: str | None,
        fields: Mapping[str, Any],
        *,
        mode: str | None = None,
        transcript: str | None = None,
    ) -> HookResults:
        """Run, in order, the `event` hooks whose matcher matches `subject`; a block or a stop
        ends the run."""
        results = HookResults(event)
        hooks = [h for h in self.of(event) if h.applies_to(subject)]
        if not hooks:
            return results
        payload = {
            "session_id": self._session_id,
            "transcript_path": transcript if transcript is not None else self.transcript_path,
            "cwd": str(self._workspace.root),
            "permission_mode": mode if mode is not None else self._current_mode(),
            "hook_event_name": event,
            **self._agent,
            **fields,
        }
        stdin = json_text(payload).encode("utf-8")
        for hook in hooks:
            verdict = await self._run(hook, event, stdin)
            self._record(event, subject, verdict)
            results.append(verdict)
            if verdict.blocked or verdict.stop is not None:
                break
        return results

    def _current_mode(self) -> str:
        if self._mode is None:
            return "default"
        try:
            return self._mode()
        except Exception:  # A mode that cannot be read must not keep hooks from running.
            return "default"

    async def _run(self, hook: CommandHook, event: str, stdin: bytes) -> HookVerdict:
        spec = ProcessSpec(
            argv=["/bin/sh", "-c", hook.command],
            cwd=self._workspace.root,
            env=self._env,
            timeout_s=hook.timeout_s,
            output_limit=_OUTPUT_LIMIT,
            stdin=stdin,
        )
        started = time.monotonic()
        try:
            result = await self._workspace.run(spec)
        except Exception as err:  # A hook that cannot run is a warning, never the end of a turn.
            return HookVerdict(hook, None, problem=f"could not start: {err}")
        took = (time.monotonic() - started) * 1000
        output = result.output.strip()
        if result.timed_out:
            return HookVerdict(hook, None, problem=f"timed out after {hook.timeout_s:g} s", duration_ms=took)
        code = result.exit_code
        if code == 2:
            if event in BLOCKING:
                return HookVerdict(
                    hook, "deny", output or f"blocked by a {event} hook", exit_code=2, duration_ms=took
                )
            return HookVerdict(hook, None, shown=output or "(no output)", exit_code=2, duration_ms=took)
        if code != 0:
            status = "was killed" if code is None else f"exit status {code}"
            problem = f"{status}: {output[:300]}" if output else status
            return HookVerdict(hook, None, problem=problem, exit_code=code, duration_ms=took)
        return _parse_answer(hook, event, output, took)

    def _record(self, event: str, subject: str | None, verdict: HookVerdict) -> None:
        if self.blackbox is None:
            return
        if verdict.problem:
            outcome = "failed"
        elif verdict.stop is not None:
            outcome = "stop"
        elif verdict.decision is not None:
            outcome = "block" if verdict.blocked and event != "PreToolUse" else verdict.decision
        else:
            outcome = "ok"
        self.blackbox.write(
            "hook",
            event=event,
            matched=subject,
            command=verdict.hook.command,
            source=verdict.hook.source,
            exit_code=verdict.exit_code,
            duration_ms=round(verdict.duration_ms, 1),
            outcome=outcome,
            reason=verdict.reason or verdict.stop or None,
            problem=verdict.problem,
            context_chars=len(verdict.context) or None,
        )


def _json_object(output: str) -> Mapping[str, Any] | None:
    """The JSON object the hook printed: its whole output, or its last line (after log lines)."""
    if not output:
        return None
    for candidate in (output, output.splitlines()[-1]):
        if not candidate.lstrip().startswith("{"):
            continue
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        return data if isinstance(data, Mapping) else None
    return None


def _parse_answer(hook: CommandHook, event: str, output: str, took: float) -> HookVerdict:
    data = _json_object(output)
    if data is None:
        # Plain output is just the hook talking, except where Claude Code makes it context.
        context = output if event in _PLAIN_CONTEXT else ""
        return HookVerdict(hook, None, context=context, exit_code=0, duration_ms=took)
    stop = str(data.get("stopReason") or "") if data.get("continue") is False else None
    system = data.get("systemMessage")
    common: dict[str, Any] = {
        "stop": stop,
        "system_message": system if isinstance(system, str) else "",
        "suppress_output": data.get("suppressOutput") is True,
        "exit_code": 0,
        "duration_ms": took,
    }
    specific = data.get("hookSpecificOutput")
    if not isinstance(specific, Mapping):
        specific = {}
    named = specific.get("hookEventName")
    if named is not None and named != event:
        problem = f"hookSpecificOutput is for {named}, not {event}; ignored"
        return HookVerdict(hook, None, problem=problem, **common)
    extra = specific.get("additionalContext")
    context = extra if isinstance(extra, str) and event in CONTEXT_EVENTS else ""
    if event == "PreToolUse":
        return _permission_answer(hook, data, specific, context, common)
    if event in BLOCKING and data.get("decision") == "block":
        reason = str(data.get("reason") or f"blocked by a {event} hook")
        return HookVerdict(hook, "deny", reason, context=context, **common)
    return HookVerdict(hook, None, context=context, **common)


def _permission_answer(
    hook: CommandHook,
    data: Mapping[str, Any],
    specific: Mapping[str, Any],
    context: str,
    common: dict[str, Any],
) -> HookVerdict:
    if "permissionDecision" in specific:
        decision, reason = specific.get("permissionDecision"), specific.get("permissionDecisionReason", "")
    else:
        legacy = {"block": "deny", "approve": "allow"}
        decision, reason = legacy.get(str(data.get("decision"))), data.get("reason", "")
        if decision is None:
            return HookVerdict(hook, None, context=context, **common)
    if decision not in ("allow", "deny", "ask"):
        return HookVerdict(hook, None, problem=f"unknown permissionDecision {decision!r}", **common)
    return HookVerdict(hook, decision, str(reason or f"PreToolUse hook answered {decision}"), **common)

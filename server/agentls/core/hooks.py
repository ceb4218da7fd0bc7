"""PreToolUse and PreCompact command hooks, in Claude Code's settings format and protocol.

Settings: `{"hooks": {"PreToolUse": [{"matcher": "Bash|Edit", "hooks": [{"type": "command",
"command": "...", "timeout": 60}]}]}}`. `matcher` is a tool name, names joined by `|`, or a regular
expression; empty or `*` matches every tool. The hook gets the call as JSON on stdin (`session_id`,
`cwd`, `hook_event_name`, `tool_name`, `tool_input`, `tool_use_id`, `permission_mode`) and answers:

- exit status 2: deny, with its output as the reason;
- exit status 0 and JSON `{"hookSpecificOutput": {"permissionDecision": "allow"|"deny"|"ask",
  "permissionDecisionReason": "..."}}` (or the older `{"decision": "block"|"approve", "reason": ...}`);
- anything else (another status, a timeout, output that is not JSON): no opinion, and a notice.

PreCompact hooks run before a compaction that asks the model for a summary. Their `matcher` is
the trigger, `manual` or `auto` (an automatic or overflow-driven compaction); they get
`session_id`, `transcript_path`, `cwd`, `hook_event_name`, `trigger` and `custom_instructions`,
and block it with exit status 2 or `{"decision": "block", "reason": "..."}`.

A hook can deny or force a prompt, never override a deny: the loop only runs hooks for calls the
rules did not deny, and a hook's "allow" only skips a prompt that no ask rule or protected path
demanded. Hooks come only from settings the user trusts (see `policy.settings_levels`); they run
with the same scrubbed environment as Bash, outside the sandbox, as the user configured them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agentls.policy.settings_levels import Sourced
from agentls.store.jsonl import json_text
from agentls.tools.bash import scrubbed_env
from agentls.workspace.port import ProcessSpec, Workspace, WorkspaceError

HookDecision = Literal["allow", "deny", "ask"]
DEFAULT_TIMEOUT_S = 60.0
_NAMES = re.compile(r"[A-Za-z0-9_|]+")


@dataclass(frozen=True)
class CommandHook:
    matcher: str
    command: str
    timeout_s: float
    source: str

    def applies_to(self, tool: str) -> bool:
        if self.matcher in ("", "*"):
            return True
        if _NAMES.fullmatch(self.matcher):
            return tool in self.matcher.split("|")
        try:
            return re.fullmatch(self.matcher, tool) is not None
        except re.error:
            return False  # Reported when the settings were read.


@dataclass(frozen=True)
class HookVerdict:
    hook: CommandHook
    decision: HookDecision | None
    reason: str = ""
    problem: str | None = None
    """Why the hook gave no answer (it failed), for a notice."""


def pre_tool_use_hooks(hook_sets: Sequence[Sourced]) -> tuple[list[CommandHook], list[str]]:
    """The PreToolUse command hooks of every settings level, and warnings for malformed entries."""
    return command_hooks(hook_sets, "PreToolUse")


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
        out.append(CommandHook(matcher, command, float(timeout), where))
    return out


class HookRunner:
    def __init__(
        self,
        hooks: Sequence[CommandHook],
        *,
        workspace: Workspace,
        session_id: str,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.hooks = list(hooks)
        self.compact_hooks: list[CommandHook] = []
        """PreCompact hooks (their matcher is the trigger, `manual` or `auto`)."""
        self._workspace = workspace
        self._session_id = session_id
        base = dict(env) if env is not None else scrubbed_env()
        root = str(workspace.root)
        self._env = {**base, "AGENTLS_PROJECT_DIR": root, "CLAUDE_PROJECT_DIR": root}

    def any_for(self, tool: str) -> bool:
        return any(h.applies_to(tool) for h in self.hooks)

    async def pre_tool_use(
        self, tool: str, tool_input: Mapping[str, Any], call_id: str, mode: str
    ) -> list[HookVerdict]:
        """Run every hook that applies, in order; a deny stops the rest (nothing can undo it)."""
        payload = {
            "session_id": self._session_id,
            "cwd": str(self._workspace.root),
            "hook_event_name": "PreToolUse",
            "tool_name": tool,
            "tool_input": dict(tool_input),
            "tool_use_id": call_id,
            "permission_mode": mode,
        }
        return await self._run_matching(self.hooks, tool, payload)

    async def pre_compact(self, trigger: str, instructions: str | None, transcript: str) -> list[HookVerdict]:
        """Run every PreCompact hook whose matcher names `trigger`; a block stops the rest."""
        payload = {
            "session_id": self._session_id,
            "transcript_path": transcript,
            "cwd": str(self._workspace.root),
            "hook_event_name": "PreCompact",
            "trigger": trigger,
            "custom_instructions": instructions or "",
        }
        return await self._run_matching(self.compact_hooks, trigger, payload)

    async def _run_matching(
        self, hooks: Sequence[CommandHook], subject: str, payload: Mapping[str, Any]
    ) -> list[HookVerdict]:
        """Run, in order, the hooks whose matcher matches `subject`; a deny stops the rest."""
        stdin = json_text(payload).encode("utf-8")
        verdicts: list[HookVerdict] = []
        for hook in hooks:
            if not hook.applies_to(subject):
                continue
            verdict = await self._run(hook, stdin)
            verdicts.append(verdict)
            if verdict.decision == "deny":
                break
        return verdicts

    async def _run(self, hook: CommandHook, stdin: bytes) -> HookVerdict:
        spec = ProcessSpec(
            argv=["/bin/sh", "-c", hook.command],
            cwd=self._workspace.root,
            env=self._env,
            timeout_s=hook.timeout_s,
            output_limit=10_000,
            stdin=stdin,
        )
        try:
            result = await self._workspace.run(spec)
        except WorkspaceError as err:
            return HookVerdict(hook, None, problem=f"could not start: {err}")
        output = result.output.strip()
        if result.timed_out:
            return HookVerdict(hook, None, problem=f"timed out after {hook.timeout_s:g} s")
        if result.exit_code == 2:
            return HookVerdict(hook, "deny", output or "blocked by a hook")
        if result.exit_code != 0:
            return HookVerdict(hook, None, problem=f"exit status {result.exit_code}: {output[:300]}")
        return _parse_answer(hook, output)


def _parse_answer(hook: CommandHook, output: str) -> HookVerdict:
    if not output:
        return HookVerdict(hook, None)
    data: object = None
    for candidate in (output, output.splitlines()[-1]):
        try:
            data = json.loads(candidate)
            break
        except json.JSONDecodeError:
            continue
    if not isinstance(data, Mapping):
        return HookVerdict(hook, None)  # Plain output is just the hook talking.
    specific = data.get("hookSpecificOutput")
    if isinstance(specific, Mapping) and "permissionDecision" in specific:
        decision, reason = specific.get("permissionDecision"), specific.get("permissionDecisionReason", "")
    else:
        legacy = {"block": "deny", "approve": "allow"}
        decision, reason = legacy.get(str(data.get("decision"))), data.get("reason", "")
        if decision is None:
            return HookVerdict(hook, None)
    if decision not in ("allow", "deny", "ask"):
        return HookVerdict(hook, None, problem=f"unknown permissionDecision {decision!r}")
    return HookVerdict(hook, decision, str(reason or f"PreToolUse hook answered {decision}"))

"""The permission pipeline: one decision per tool call, with the stage and rule that produced it.

`decide` runs, in order (issue 4; the loop then runs PreToolUse hooks, `settle` and the prompt):

1. **deny** rules. For Bash, each simple command of the line is matched on its own, and the files
   the line reads and writes are matched against Read and Edit rules (`cat .env` meets
   `Read(./.env)`, `echo x > f` meets `Edit(f)`).
2. denials that are not rules: `plan` mode for anything that is not read-only, and a write to a
   file hard-linked from outside the workspace. Every denial wins over every ask.
3. **ask** rules (firm: they ask in every mode), then the firm checks: protected paths
   (`.git/`, `.vscode/`, shell rc files…) written to, and removing `/`, the home directory or a
   parent of the workspace.
4. shell lines the analyser cannot vouch for (unparsable, over 10,000 characters) ask, firmly.
5. **allow** rules. A Bash line is allowed only if *every* simple command matches an allow rule and
   nothing in the line blocks prefix approval (substitution, eval, `sed -i`, `git -c`…).
6. tool checks: paths outside the workspace and the additional directories ask unless an allow
   rule names them by path; without a rule, read-only calls inside the workspace run, and
   `acceptEdits` lets edits inside it through. Everything else asks.

`settle` applies the mode to what would ask, after hooks: `dontAsk` denies it, `bypassPermissions`
allows it unless it is firm. Deny rules, ask rules and protected paths therefore hold in
`bypassPermissions`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agentls.policy.decision import Allow, Ask, CallFacts, Decision, Deny, PermissionMode
from agentls.policy.paths import hardlink_escape, inside, protected
from agentls.policy.rule_syntax import ListKind, Rule
from agentls.policy.settings_levels import EffectivePolicyConfig
from agentls.workspace.pinned import PathMoved

if TYPE_CHECKING:
    from agentls.policy.bash_facts import BashFacts

# The shell analysis (`bash_facts`, `shell`, tree-sitter) is imported by the methods that judge a
# Bash call, when the first one comes: a session's start-up does not pay for it (issue 15).

PLAN_DENIAL = (
    "plan mode: only read-only tools may run. Finish the plan and present it; "
    "the user will switch modes to let you make changes"
)
BYPASS_DISABLED = "bypassPermissions mode is disabled by the settings (disableBypassPermissionsMode)"


@dataclass(frozen=True)
class _View:
    """The call as one rule family sees it: the call itself, or a Bash line's reads or writes."""

    call: CallFacts
    bash_line: bool = False


class PermissionEngine:
    def __init__(
        self,
        config: EffectivePolicyConfig,
        *,
        root: Path,
        home: Path | None = None,
        mode: PermissionMode | None = None,
    ) -> None:
        self.root = Path(os.path.normpath(root))
        self.home = Path(os.path.normpath(home or Path.home()))
        self.config = config
        self._explicit_mode = mode
        self.mode: PermissionMode = "default"
        self.mode_warning: str | None = None
        self._apply_mode()

    # ------------------------------------------------------------------ configuration

    def reconfigure(self, config: EffectivePolicyConfig) -> None:
        """New settings (a file changed): rules, directories and, unless chosen explicitly, the mode."""
        self.config = config
        self._apply_mode()

    def set_mode(self, mode: PermissionMode) -> str | None:
        """Switch modes; returns why the switch was refused, if it was."""
        self._explicit_mode = mode
        self._apply_mode()
        return self.mode_warning

    def _apply_mode(self) -> None:
        wanted = self._explicit_mode or self.config.default_mode
        self.mode_warning = None
        if wanted == "bypassPermissions" and self.config.disable_bypass_permissions_mode:
            self.mode_warning = BYPASS_DISABLED
            wanted = "default"
        self.mode = wanted

    @property
    def roots(self) -> tuple[Path, ...]:
        return (self.root, *self.config.additional_directories)

    @property
    def warnings(self) -> list[str]:
        return [*self.config.warnings, *([self.mode_warning] if self.mode_warning else [])]

    def hidden_tools(self, names: Iterable[str]) -> frozenset[str]:
        """Tools a bare deny rule removes from the model's tool list (`Bash`, `Edit`, `mcp__x`)."""
        bare = [r for r in self.config.deny if r.is_bare]
        return frozenset(n for n in names if any(r.covers_tool(n) for r in bare))

    def read_denied(self, path: Path) -> bool:
        """Whether a Read deny rule with a path covers `path`: search tools leave it out of results."""
        probe = CallFacts("Read", {}, True, False, (path,), "")
        return any(r.path is not None and r.matches(probe) for r in self.config.deny)

    # ------------------------------------------------------------------ the pipeline

    def decide(self, call: CallFacts) -> Decision:
        try:
            return self._decide(call)
        except PathMoved as e:
            # A path of the call kept changing while it was resolved (a symlink being swapped).
            return Deny(f"{e.strerror}; try again once it has settled", stage="check")

    def _decide(self, call: CallFacts) -> Decision:
        bash = self._bash(call)
        views = self._views(call, bash)
        if rule := self._first("deny", views, bash):
            return Deny(f"denied by the rule {rule.text}", stage="deny", rule=rule.describe())
        if bash is not None:
            from agentls.policy.shell import is_read_only

            read_only = is_read_only(bash.analysis)
        else:
            read_only = call.read_only
        if self.mode == "plan" and not read_only:
            return Deny(PLAN_DENIAL, stage="mode")
        writes = self._writes(call, bash)
        for path in writes:
            if hardlink_escape(path, self.roots):
                return Deny(
                    f"{path} is hard-linked to a file outside the workspace; "
                    "writing it would change that file",
                    stage="check",
                )
        if rule := self._first("ask", views, bash):
            return Ask(f"the rule {rule.text} asks", stage="ask", rule=rule.describe(), firm=True)
        if firm := self._firm_concern(writes):
            return Ask(firm, stage="check", firm=True)
        if bash and bash.analysis.must_ask:
            # Firm: deny rules cannot be checked on a line the parser may misread, so not even
            # bypassPermissions runs it unseen (found by the property test).
            reason = _sentence(bash.analysis.problems, "the command cannot be analysed")
            return Ask(reason, stage="check", firm=True)
        concerns = self._concerns(call, views, bash)
        allowed = self._allow_rule(call, bash)
        if allowed is not None and bash is not None and (unapproved := self._unapproved_redirects(bash)):
            where = ", ".join(str(p) for p in unapproved[:3])
            concerns.append(
                f"the rule {allowed.text} allows the command, not the files its redirections write "
                f"({where}); writing them needs an Edit rule (or acceptEdits inside the workspace)"
            )
        if allowed is not None and not concerns:
            return Allow(f"allowed by the rule {allowed.text}", stage="allow", rule=allowed.describe())
        if concerns:
            return Ask(_sentence(concerns, ""), stage="check")
        if read_only and not call.tool.startswith("mcp__"):
            # An MCP tool's read-only flag is its server's word, and its server acts outside the
            # workspace: it still asks (the flag only lets it run beside other reads, and in plan mode).
            return Allow("read-only inside the workspace", stage="check")
        if self.mode == "acceptEdits" and call.edits_files and call.paths:
            return Allow("acceptEdits: file edit inside the workspace", stage="mode")
        return Ask(f"{call.tool} needs approval", stage="check")

    def settle(self, decision: Decision) -> Decision:
        if not isinstance(decision, Ask):
            return decision
        if self.mode == "dontAsk":
            return Deny(
                f"{decision.reason}; permission mode dontAsk denies anything that would ask",
                stage="mode",
                rule=decision.rule,
            )
        if self.mode == "bypassPermissions" and not decision.firm:
            return Allow(f"permission mode bypassPermissions ({decision.reason})", stage="mode")
        return decision

    # ------------------------------------------------------------------ helpers

    def _bash(self, call: CallFacts) -> BashFacts | None:
        if call.tool != "Bash":
            return None
        from agentls.policy.bash_facts import bash_facts

        command = call.input.get("command")
        return bash_facts(command if isinstance(command, str) else "", self.root, self.home)

    @staticmethod
    def _views(call: CallFacts, bash: BashFacts | None) -> list[_View]:
        if bash is None:
            return [_View(call)]
        derived = [bash.as_read(call), bash.as_write(call)]
        return [_View(call, bash_line=True), *(_View(d) for d in derived if d is not None)]

    def _first(self, kind: ListKind, views: list[_View], bash: BashFacts | None) -> Rule | None:
        for rule in self.config.rules(kind):
            for view in views:
                if view.bash_line:
                    if self._bash_rule_hits(rule, bash):
                        return rule
                elif rule.matches(view.call):
                    return rule
        return None

    @staticmethod
    def _bash_rule_hits(rule: Rule, bash: BashFacts | None) -> bool:
        """A deny/ask rule hits a line if it hits any simple command in it (or cannot be checked)."""
        if not rule.covers_tool("Bash"):
            return False
        if rule.specifier is None or bash is None:
            return rule.specifier is None
        from agentls.policy.shell import matches_prefix

        commands = bash.analysis.commands
        return any(matches_prefix(rule.specifier, cmd) for cmd in commands)

    def _allow_rule(self, call: CallFacts, bash: BashFacts | None) -> Rule | None:
        if bash is None:
            return next((r for r in self.config.allow if r.matches(call)), None)
        analysis = bash.analysis
        if not analysis.commands or analysis.blocks_auto_approval:
            return None
        from agentls.policy.shell import matches_prefix

        rules = [r for r in self.config.allow if r.covers_tool("Bash")]
        first: Rule | None = None
        for cmd in analysis.commands:
            hit = next(
                (
                    r
                    for r in rules
                    if r.specifier is None or matches_prefix(r.specifier, cmd, with_redirects=True)
                ),
                None,
            )
            if hit is None:
                return None
            first = first or hit
        return first

    def _unapproved_redirects(self, bash: BashFacts) -> list[Path]:
        """Files written by redirections that the Bash rule allowing the command does not name.

        `Bash(echo *)` approves running echo, not `echo x > src/app.py`: as in Claude Code, the
        written file needs Edit permission of its own. A rule that spells the redirection out
        (`Bash(echo hi > notes.txt)`, a remembered command) does name it.
        """
        from agentls.policy.shell import matches_prefix

        rules = [r for r in self.config.allow if r.covers_tool("Bash")]
        out: list[Path] = []
        for cmd, targets in zip(bash.analysis.commands, bash.redirect_writes, strict=True):
            if not targets:
                continue
            names_redirects = any(
                r.specifier is not None
                and matches_prefix(r.specifier, cmd, with_redirects=True)
                and not matches_prefix(r.specifier, cmd)
                for r in rules
            )
            if not names_redirects:
                out += [p for p in targets if not self._may_edit(p)]
        return list(dict.fromkeys(out))

    def _may_edit(self, path: Path) -> bool:
        """An Edit of `path` would be allowed without asking (by a rule or by acceptEdits)."""
        edit = CallFacts(tool="Edit", input={}, read_only=False, edits_files=True, paths=(path,), summary="")
        if any(r.matches(edit) for r in self.config.allow):
            return True
        return self.mode == "acceptEdits" and inside(path, self.roots)

    @staticmethod
    def _writes(call: CallFacts, bash: BashFacts | None) -> tuple[Path, ...]:
        if bash is not None:
            return bash.writes
        return () if call.read_only else call.paths

    def _firm_concern(self, writes: tuple[Path, ...]) -> str | None:
        for path in writes:
            if reason := protected(path, self.root, self.home):
                return f"{path} is a protected path: {reason}"
            if path in (Path("/"), self.home) or self.root.is_relative_to(path):
                return f"the command changes {path}, which holds the whole workspace or home directory"
        return None

    def _concerns(self, call: CallFacts, views: list[_View], bash: BashFacts | None) -> list[str]:
        """Why neither an allow rule nor a built-in shortcut may approve this call on its own."""
        out: list[str] = []
        if bash is not None and bash.analysis.blocks_auto_approval:
            out += bash.analysis.reasons or ["the command cannot be approved by a rule"]
        for view in views:
            if view.bash_line:
                continue
            outside = [p for p in view.call.paths if not inside(p, self.roots)]
            if outside and not self._named_by_allow_rule(view.call):
                verb = "reads" if view.call.read_only else "writes"
                where = ", ".join(str(p) for p in outside[:3])
                out.append(f"{call.tool} {verb} outside the workspace ({self.root}): {where}")
        return out

    def _named_by_allow_rule(self, call: CallFacts) -> bool:
        return any(r.path is not None and r.matches(call) for r in self.config.allow)


def _sentence(parts: Iterable[str], fallback: str) -> str:
    items = list(dict.fromkeys(parts))
    return "; ".join(items[:5]) + ("; …" if len(items) > 5 else "") if items else fallback

"""A narrower set of tools for one turn: a custom command's or a skill's `allowed-tools`.

`ToolScope` holds the command's rules (Claude Code's syntax: `Read`, `Bash(git diff:*)`,
`Edit(src/**)`). `ScopedPolicy` wraps the session's policy for the turn: tools no rule names are
hidden from the model, and a call no rule matches is denied before anything else is consulted.
A call the scope lets through still goes through the session's whole pipeline (deny and ask rules,
checks, hooks, the mode, the user): a scope only ever takes access away, never grants it. (Claude
Code's newer `allowed-tools` also pre-approves the tools it names; agentls does not, so a file in a
repository cannot approve anything.)

The rules match as the settings' allow rules do: a Bash line only if every simple command in it
matches one of the Bash rules (and nothing in it blocks prefix matching), a path rule only if
every path the call touches matches. A malformed rule or an unknown tool is a warning and matches
nothing.

Scopes nest (a skill loaded during a command's turn): `narrowed` chains them into one `ScopedPolicy`
whose scope lets through only what every scope in the chain does, so whatever reads the policy's
`scope` (a subagent's session) gets all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from agentls.policy.decision import CallFacts, Decision, Deny, PermissionMode, PermissionPolicy
from agentls.policy.rule_syntax import DEFAULT_KNOWN_TOOLS, Rule, RuleSource, parse_rule


@dataclass(frozen=True)
class ToolScope:
    rules: tuple[Rule, ...]
    label: str
    """Who set the scope, for denials: `/fix-issue (allowed-tools)`."""
    root: Path
    home: Path
    warnings: tuple[str, ...] = ()
    outer: ToolScope | None = None
    """The scope this one narrows further, if any: a call must satisfy both."""

    @classmethod
    def parse(
        cls,
        texts: Sequence[str],
        *,
        label: str,
        root: Path,
        home: Path,
        source_file: Path | None = None,
        known_tools: Iterable[str] = (),
    ) -> ToolScope:
        source = RuleSource(level="command", file=source_file, kind="allow", root=root)
        known = DEFAULT_KNOWN_TOOLS | frozenset(known_tools)
        rules: list[Rule] = []
        warnings: list[str] = []
        for text in texts:
            parsed = parse_rule(text, source=source, cwd=root, home=home, known_tools=known)
            if isinstance(parsed, Rule):
                rules.append(parsed)
            else:
                warnings.append(f"{label}: allowed-tools rule {text!r} ignored: {parsed.message}")
        return cls(tuple(rules), label, root, home, tuple(warnings))

    def names(self) -> str:
        return ", ".join(r.text for r in self.rules) or "no tools"

    def hidden(self, names: Iterable[str]) -> frozenset[str]:
        """Tools no rule names at all: the model does not see them during the turn."""
        listed = list(names)
        own = frozenset(n for n in listed if not any(r.covers_tool(n) for r in self.rules))
        return (own | self.outer.hidden(listed)) if self.outer is not None else own

    def within(self, outer: ToolScope) -> ToolScope:
        """This scope inside `outer` (at the end of its own chain)."""
        return replace(self, outer=outer if self.outer is None else self.outer.within(outer))

    def refusing(self, call: CallFacts) -> ToolScope | None:
        """The scope of the chain that does not let `call` through (the outermost first), if any."""
        if self.outer is not None and (refused := self.outer.refusing(call)) is not None:
            return refused
        return None if self._permits_own(call) else self

    def permits(self, call: CallFacts) -> bool:
        return self.refusing(call) is None

    def _permits_own(self, call: CallFacts) -> bool:
        if call.tool != "Bash":
            return any(rule.matches(call) for rule in self.rules)
        rules = [r for r in self.rules if r.covers_tool("Bash")]
        if any(r.specifier is None for r in rules):
            return True
        from agentls.policy.bash_facts import bash_facts  # With the first Bash call (issue 15).
        from agentls.policy.shell import matches_prefix

        command = call.input.get("command")
        analysis = bash_facts(command if isinstance(command, str) else "", self.root, self.home).analysis
        if not rules or not analysis.commands or analysis.blocks_auto_approval:
            return False
        return all(
            any(matches_prefix(r.specifier or "", cmd, with_redirects=True) for r in rules)
            for cmd in analysis.commands
        )


class ScopedPolicy:
    """The session's policy, narrowed to a `ToolScope` (a `PermissionPolicy`)."""

    def __init__(self, inner: PermissionPolicy, scope: ToolScope) -> None:
        self.inner = inner
        self.scope = scope

    def decide(self, call: CallFacts) -> Decision:
        refused = self.scope.refusing(call)
        if refused is not None:
            return Deny(
                f"{refused.label} allows only {refused.names()}; this call is not among them",
                stage="deny",
                rule=f"allowed-tools of {refused.label}",
            )
        return self.inner.decide(call)

    def settle(self, decision: Decision) -> Decision:
        return self.inner.settle(decision)

    def hidden_tools(self, names: Iterable[str]) -> frozenset[str]:
        listed = list(names)
        return self.inner.hidden_tools(listed) | self.scope.hidden(listed)

    @property
    def mode(self) -> PermissionMode:
        return self.inner.mode


def narrowed(policy: PermissionPolicy, scope: ToolScope) -> ScopedPolicy:
    """`policy` narrowed to `scope` as well: a policy that is already scoped keeps one layer, with
    the scopes chained (never wider than either)."""
    if isinstance(policy, ScopedPolicy):
        return ScopedPolicy(policy.inner, scope.within(policy.scope))
    return ScopedPolicy(policy, scope)

"""Permission rules in Claude Code's syntax, the subset the simple policy understands.

`Tool` matches every call of that tool; `Bash(command)` matches that exact command. `Edit`
covers every file-editing tool (Edit and Write), as in Claude Code. Anything else is kept but
never matches, so an unknown rule can only fail to grant access, never widen it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agentls.policy.decision import CallFacts

EDIT_TOOLS = frozenset({"Edit", "Write"})


def rule_for(call: CallFacts) -> str:
    """The rule an "always" answer to this call records."""
    if call.edits_files:
        return "Edit"
    if call.tool == "Bash":
        return f"Bash({call.input.get('command', '')})"
    return call.tool


def matches(rule: str, call: CallFacts) -> bool:
    name, _, rest = rule.partition("(")
    if not rest:
        return name == call.tool or (name == "Edit" and call.tool in EDIT_TOOLS)
    if not rest.endswith(")"):
        return False
    specifier = rest[:-1]
    if name == "Bash" and call.tool == "Bash":
        return specifier == call.input.get("command")
    return False


@dataclass(frozen=True)
class PermissionRules:
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: dict[str, object]) -> PermissionRules:
        permissions = settings.get("permissions")
        if not isinstance(permissions, dict):
            return cls()
        return cls(allow=_strings(permissions.get("allow")), deny=_strings(permissions.get("deny")))

    def denies(self, call: CallFacts) -> str | None:
        return next((r for r in self.deny if matches(r, call)), None)

    def allows(self, call: CallFacts) -> str | None:
        return next((r for r in self.allow if matches(r, call)), None)


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    items: Iterable[object] = value
    return tuple(v for v in items if isinstance(v, str))

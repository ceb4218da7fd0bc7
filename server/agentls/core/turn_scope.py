"""Narrowing a session's tools from inside a turn, for the rest of that turn: a skill the model
loads with `allowed-tools` (`core/skills/host.py`).

A custom command's scope is known before its turn starts, so `ScopedTurn` (`commands/runs.py`)
wraps the whole turn. A skill's is known only when a tool call loads it, mid-turn: `TurnScope`
narrows the session's policy then (`policy/tool_scope.py`'s `narrowed`: never wider, chained
with a command's scope if there is one), remembers the policy the turn had before, and puts it
back when the loop ends the turn, however it ends (`Turn._drive`). The next turn starts with
every tool the session had.

`LivePolicy` is what a turn's tool runner decides with: the session's policy as it is at each
decision, so a call that comes after the skill's in the same response is already narrowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from agentls.policy.decision import CallFacts, Decision, PermissionMode, PermissionPolicy
from agentls.policy.tool_scope import ToolScope, narrowed


class LivePolicy:
    """A `PermissionPolicy` that asks whichever policy `current` returns at the time."""

    def __init__(self, current: Callable[[], PermissionPolicy]) -> None:
        self._current = current

    def decide(self, call: CallFacts) -> Decision:
        return self._current().decide(call)

    def settle(self, decision: Decision) -> Decision:
        return self._current().settle(decision)

    def hidden_tools(self, names: Iterable[str]) -> frozenset[str]:
        return self._current().hidden_tools(names)

    @property
    def mode(self) -> PermissionMode:
        return self._current().mode


@dataclass
class TurnScope:
    before: PermissionPolicy | None = None
    """The policy the turn had before its first narrowing; None: nothing narrowed in this turn."""

    def narrow(self, policy: PermissionPolicy, scope: ToolScope) -> PermissionPolicy:
        """`policy` narrowed to `scope` too (the session's new policy)."""
        if self.before is None:
            self.before = policy
        return narrowed(policy, scope)

    def end(self, policy: PermissionPolicy) -> PermissionPolicy:
        """The session's policy once the turn is over: as before the first narrowing."""
        before, self.before = self.before, None
        return policy if before is None else before

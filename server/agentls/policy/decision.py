"""What a policy answers, and the `Approver` port the loop awaits when the answer is `Ask`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

Stage = Literal["validation", "deny", "ask", "allow", "check", "mode", "hook", "session", "user"]
"""Which step of the pipeline decided: input validation, the deny/ask/allow rules, a tool-specific
check (shell analysis, paths, protected paths), the permission mode, a PreToolUse hook, an answer
the user gave earlier in the session, or the user's answer to a prompt."""


@dataclass(frozen=True)
class Allow:
    reason: str = ""
    stage: Stage = "check"
    rule: str | None = None
    """The matching rule and where it came from (`Bash(make) from user settings (...)`), if any."""


@dataclass(frozen=True)
class Deny:
    reason: str
    stage: Stage = "check"
    rule: str | None = None


@dataclass(frozen=True)
class Ask:
    reason: str
    stage: Stage = "check"
    rule: str | None = None
    firm: bool = False
    """Holds in every mode and against a hook's "allow" or a session grant: ask rules, protected
    paths. `dontAsk` still turns it into a denial (nobody is there to answer)."""


Decision = Allow | Deny | Ask

PermissionMode = Literal["default", "acceptEdits", "plan", "dontAsk", "bypassPermissions"]
PERMISSION_MODES: tuple[PermissionMode, ...] = (
    "default",
    "acceptEdits",
    "plan",
    "dontAsk",
    "bypassPermissions",
)


@dataclass(frozen=True)
class CallFacts:
    """What the policy needs to know about a validated tool call; built by the loop from the tool."""

    tool: str
    input: dict[str, Any]
    read_only: bool
    edits_files: bool
    """Write/Edit-like: covered by `acceptEdits`."""
    paths: tuple[Path, ...]
    """Absolute paths the call touches (empty when the tool cannot say, e.g. Bash)."""
    summary: str
    """One line for prompts, e.g. `Bash: pytest -q`."""


class PermissionPolicy(Protocol):
    def decide(self, call: CallFacts) -> Decision:
        """Rules and checks, before hooks and before the mode settles what would ask."""
        ...

    def settle(self, decision: Decision) -> Decision:
        """Apply the permission mode to what is left after hooks (`dontAsk`, `bypassPermissions`)."""
        ...

    def hidden_tools(self, names: Iterable[str]) -> frozenset[str]:
        """Tools the model must not even see (a bare deny rule)."""
        ...

    @property
    def mode(self) -> PermissionMode: ...


ApprovalChoice = Literal["allow_once", "allow_always", "reject_once", "reject_always"]


@dataclass(frozen=True)
class ApprovalRequest:
    call_id: str
    call: CallFacts
    reason: str
    diff: str | None = None
    """For edits: the unified diff that would be applied."""


@dataclass(frozen=True)
class ApprovalResponse:
    choice: ApprovalChoice
    message: str = ""
    """Optional words from the user, passed on to the model with a rejection."""

    @property
    def allowed(self) -> bool:
        return self.choice in ("allow_once", "allow_always")

    @property
    def remember(self) -> bool:
        return self.choice in ("allow_always", "reject_always")


class Approver(Protocol):
    """Asks a human. A dismissed or unanswerable prompt must come back as `reject_once`."""

    async def approve(self, request: ApprovalRequest) -> ApprovalResponse: ...

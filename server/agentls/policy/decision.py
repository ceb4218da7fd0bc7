"""What a policy answers, and the `Approver` port the loop awaits when the answer is `Ask`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class Allow:
    reason: str = ""


@dataclass(frozen=True)
class Deny:
    reason: str


@dataclass(frozen=True)
class Ask:
    reason: str


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
    def decide(self, call: CallFacts) -> Decision: ...


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

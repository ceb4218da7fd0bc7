"""Transcript records: what a session appends to its JSONL log, in the order things happen.

The log is the session's memory. Records are written *before* the side effect they describe
(a `tool_call` before the tool runs), so a session killed at any instant can be resumed without
running anything twice: see `agentls.core.replay`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from agentls.core.context.base import Base
from agentls.core.events import CompactionTier, CompactionTrigger, StopReason
from agentls.core.messages import ContentBlock, Message
from agentls.core.model import TokenUsage

TRANSCRIPT_VERSION = 1


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class HeaderRecord(_Record):
    type: Literal["session"] = "session"
    version: int = TRANSCRIPT_VERSION
    session_id: str
    created: str
    cwd: str
    config: dict[str, Any]
    """Snapshot of `AgentConfig` at creation."""


class ResumedRecord(_Record):
    type: Literal["resumed"] = "resumed"
    at: str
    config: dict[str, Any]


class MessageRecord(_Record):
    """A complete message entering the history."""

    type: Literal["message"] = "message"
    message: Message
    message_id: str = ""


class PartialAssistantRecord(_Record):
    """The assistant blocks completed so far, written before the first side effect they cause."""

    type: Literal["assistant_partial"] = "assistant_partial"
    message_id: str
    content: tuple[ContentBlock, ...]


class ToolCallRecord(_Record):
    """Written (and synced) immediately before a tool starts running."""

    type: Literal["tool_call"] = "tool_call"
    call_id: str
    name: str
    input: dict[str, Any]


class ToolResultRecord(_Record):
    type: Literal["tool_result"] = "tool_result"
    call_id: str
    content: str
    is_error: bool


class PermissionRecord(_Record):
    type: Literal["permission"] = "permission"
    call_id: str
    tool: str
    input_digest: str
    outcome: Literal["allow", "deny"]
    by: Literal["policy", "user", "mode", "hook", "session"]
    reason: str
    stage: str = ""
    """Pipeline stage that decided: validation, deny, ask, allow, check, mode, hook, session, user."""
    rule: str | None = None
    """The matching rule and its settings file."""
    mode: str = ""
    """The permission mode at the time."""
    at: str = ""
    """When (UTC, ISO 8601)."""


class UsageRecord(_Record):
    type: Literal["usage"] = "usage"
    request: TokenUsage
    session: TokenUsage
    session_cost_usd: float | None = None
    """The session's cost so far (None when the model's price is unknown)."""
    calibration: float | None = None
    """Measured tokens per estimated token, so a resumed session's context meter starts right."""


class StateRecord(_Record):
    """Workflow state, written before the work it names begins."""

    type: Literal["state"] = "state"
    state: Literal["streaming", "awaiting_permission", "executing_tool", "idle"]
    detail: str = ""


class TurnStartRecord(_Record):
    type: Literal["turn_start"] = "turn_start"
    prompt: str


class TurnEndRecord(_Record):
    type: Literal["turn_end"] = "turn_end"
    stop: StopReason


class PlanRecord(_Record):
    type: Literal["plan"] = "plan"
    todos: list[dict[str, Any]]


class CompactionRecord(_Record):
    """The context the model sees changed. Replaying these on the messages gives the context a
    resumed session continues from; the messages themselves stay in the log for display."""

    type: Literal["compaction"] = "compaction"
    tier: CompactionTier
    trigger: CompactionTrigger
    tokens_before: int
    tokens_after: int
    window: int
    markers: dict[str, str] = {}
    """micro: tool_use id → the marker that replaced its result."""
    base: Base | None = None
    """snip, summary, collapse: the new compacted head (rendered as the first message)."""
    kept: int = 0
    """snip, summary, collapse: how many of the context's last messages follow the head."""
    removed_messages: int = 0
    removed_tool_calls: int = 0
    summary: str | None = None
    at: str = ""


class WindowRecord(_Record):
    """The API stated the model's context window (in an overflow answer): a resumed session keeps it."""

    type: Literal["context_window"] = "context_window"
    window: int


class ModelFallbackRecord(_Record):
    """The session switched to its fallback model after overloads in a row; it keeps using it for
    the rest of the session, and a resume that continues with `from_model` switches again."""

    type: Literal["model_fallback"] = "model_fallback"
    from_model: str
    to_model: str
    overloads: int
    at: str = ""


class SubagentRecord(_Record):
    """The Agent tool call `call_id` started a subagent; its own transcript is `transcript`."""

    type: Literal["subagent"] = "subagent"
    call_id: str
    agent_id: str
    agent_type: str
    transcript: str | None = None
    background: bool = False
    """Started with `run_in_background`: its answer reaches the model as a notification."""
    delivered: bool = False
    """Written again once a background agent's notification is in the conversation."""


class ClearedRecord(_Record):
    """`/clear`: the conversation starts over in the same session. What came before stays in the
    log (and in the session's spending); a resumed session's context starts from here."""

    type: Literal["cleared"] = "cleared"
    at: str = ""


class ModelSwitchRecord(_Record):
    """`/model NAME`: the session talks to `model` from here on (a resume keeps it unless a model is
    named explicitly)."""

    type: Literal["model_switch"] = "model_switch"
    from_model: str
    model: str
    at: str = ""


class ToolsLoadedRecord(_Record):
    """Deferred tools whose definitions every later request of the session carries (found with
    ToolSearch, or called before they were loaded): a resume sends them again."""

    type: Literal["tools_loaded"] = "tools_loaded"
    names: list[str]
    by: Literal["search", "call", "deferral"] = "search"
    """`deferral`: tools already sent when deferral began, kept so the requests do not shrink."""


ABSENT = ""
"""A content id meaning "no file here"."""
NOT_KEPT = "-"
"""A content id meaning "a file was here, but its content was not kept" (over a size cap, or
unreadable): such a file cannot be restored."""


class CheckpointRecord(_Record):
    """A point the workspace and the conversation can be rewound to (`core/checkpoints/`),
    written before anything it protects changes: at each user prompt (before its turn's records,
    so a conversation rewind drops the turn), before each subagent (code only), and before a
    rewind (so the rewind can be undone)."""

    type: Literal["checkpoint"] = "checkpoint"
    n: int
    kind: Literal["prompt", "subagent", "rewind"]
    label: str
    at: str = ""


class TreeRecord(_Record):
    """How the workspace stood when checkpoint `checkpoint` was taken: `manifest` is the id of a
    stored JSON document (`core/checkpoints/manifest.py`), written once its contents are stored."""

    type: Literal["tree"] = "tree"
    checkpoint: int
    manifest: str
    notes: list[str] = []


class FileChangeRecord(_Record):
    """A file the agent changed while checkpoint `checkpoint` was the latest. `before` and
    `after` are content ids in the session's content store (`ABSENT`, `NOT_KEPT` or an id).

    A file tool's change is written twice: before the write, with `after` None (so a crash
    during the write still knows the file's earlier content), and once the write is done. A
    change found by comparing the workspace after a command is written once, with both."""

    type: Literal["file_change"] = "file_change"
    checkpoint: int
    path: str
    """Relative to the session's working directory (with `/`), or absolute outside it."""
    before: str
    after: str | None = None
    by: str = ""
    """The tool (`Edit`, `Bash`, `mcp__…`), or `rewind`."""
    call_id: str = ""
    agent: str = ""
    """The subagent that made the change, if one did."""


class RewindRecord(_Record):
    """The user rewound to checkpoint `to`: the code (files the agent changed since put back; the
    changes are recorded under checkpoint `undo`, which a later rewind can return to) and/or the
    conversation (`replay` continues from the history as it was before `to`'s prompt)."""

    type: Literal["rewind"] = "rewind"
    to: int
    code: bool
    conversation: bool
    undo: int | None = None
    restored: list[str] = []
    conflicts: list[str] = []
    """Files someone else changed after the agent: kept as they were, unless also in `restored`."""
    not_restorable: list[str] = []
    at: str = ""


Record = Annotated[
    HeaderRecord
    | ResumedRecord
    | MessageRecord
    | PartialAssistantRecord
    | ToolCallRecord
    | ToolResultRecord
    | PermissionRecord
    | UsageRecord
    | StateRecord
    | TurnStartRecord
    | TurnEndRecord
    | PlanRecord
    | CompactionRecord
    | WindowRecord
    | ModelFallbackRecord
    | SubagentRecord
    | ClearedRecord
    | ModelSwitchRecord
    | ToolsLoadedRecord
    | CheckpointRecord
    | TreeRecord
    | FileChangeRecord
    | RewindRecord,
    Field(discriminator="type"),
]

RECORD_ADAPTER: TypeAdapter[Record] = TypeAdapter(Record)

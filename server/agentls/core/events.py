"""Typed events: everything a turn reports, as frozen models with a `kind` discriminator.

Front ends (the CLI's stream-json, the language server's notifications) render these and nothing
else. `AgentEvent` is a closed union: adding an event means adding a case to every renderer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from agentls.core.errors import ErrorCause
from agentls.core.messages import Message
from agentls.core.model import TokenUsage
from agentls.tools.base import TodoItem


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- Stop reasons (closed union) -----------------------------------------------------------------


class EndTurn(_Event):
    kind: Literal["end_turn"] = "end_turn"


class MaxTokens(_Event):
    kind: Literal["max_tokens"] = "max_tokens"


class MaxTurns(_Event):
    kind: Literal["max_turns"] = "max_turns"
    limit: int


class Refusal(_Event):
    kind: Literal["refusal"] = "refusal"


class Cancelled(_Event):
    kind: Literal["cancelled"] = "cancelled"


class Errored(_Event):
    kind: Literal["error"] = "error"
    cause: ErrorCause


class BudgetExceeded(_Event):
    """The next API call would have crossed a budget; it was not made."""

    kind: Literal["budget_exceeded"] = "budget_exceeded"
    budget: Literal["usd", "tokens"]
    spent: float
    """The session's spending so far, in the budget's unit."""
    limit: float
    projected: float
    """What the session would have spent after the call that was not made."""
    message: str = ""


class ContextOverflow(_Event):
    """The conversation did not fit the context window even after compacting, several times."""

    kind: Literal["context_overflow"] = "context_overflow"
    tokens: int
    """The size of the last request that was too long (as the API counted it, when it said)."""
    window: int
    attempts: int
    message: str = ""


StopReason = Annotated[
    EndTurn | MaxTokens | MaxTurns | Refusal | Cancelled | Errored | BudgetExceeded | ContextOverflow,
    Field(discriminator="kind"),
]


# --- Events ----------------------------------------------------------------------------------------


class SessionStarted(_Event):
    kind: Literal["session_started"] = "session_started"
    session_id: str
    model: str
    cwd: str
    resumed: bool = False
    transcript: str = ""
    """Path of the session's JSONL transcript."""


class TurnStarted(_Event):
    kind: Literal["turn_started"] = "turn_started"
    session_id: str
    prompt: str


class RequestStarted(_Event):
    """An API call begins; `attempt` counts retries of the same call from 1."""

    kind: Literal["request_started"] = "request_started"
    index: int
    model: str
    attempt: int = 1


class TextDelta(_Event):
    kind: Literal["text_delta"] = "text_delta"
    text: str


class ThinkingDelta(_Event):
    kind: Literal["thinking_delta"] = "thinking_delta"
    text: str


class AssistantMessage(_Event):
    """The complete assistant message of one API call, as it goes into the history."""

    kind: Literal["assistant_message"] = "assistant_message"
    message: Message


ToolStatus = Literal["pending", "awaiting_permission", "running"]


class ToolCallStarted(_Event):
    """The model finished writing a tool call's input; the call is queued (not yet approved)."""

    kind: Literal["tool_call_started"] = "tool_call_started"
    call_id: str
    name: str
    input: dict[str, Any]
    title: str = ""
    """One-line human summary, e.g. `Read src/app.py` or `Bash: pytest -q`."""
    read_only: bool = False


class ToolCallUpdated(_Event):
    kind: Literal["tool_call_updated"] = "tool_call_updated"
    call_id: str
    status: ToolStatus


class ToolCallFinished(_Event):
    kind: Literal["tool_call_finished"] = "tool_call_finished"
    call_id: str
    name: str
    is_error: bool
    output: str
    """What the model receives as the tool result."""
    duration_ms: float = 0.0
    diff: str | None = None
    """A unified diff for edits, for display."""
    path: str | None = None
    """For edits: the absolute path of the changed file."""
    old_text: str | None = None
    """For edits: the file before (None if it was created)."""
    new_text: str | None = None
    """For edits: the file after."""
    note: str | None = None
    """For display, not part of the result: e.g. an Agent call's subagent requests, tokens, cost."""


class PermissionRequested(_Event):
    kind: Literal["permission_requested"] = "permission_requested"
    call_id: str
    name: str
    input: dict[str, Any]
    reason: str
    """Why the policy asks (e.g. `Bash commands need approval`)."""


PermissionOutcome = Literal["allow", "deny"]
DecidedBy = Literal["policy", "user", "mode", "hook", "session"]
"""Who decided: the rules and checks, the user now, the permission mode, a PreToolUse hook, or an
"always"/"never" the user answered earlier in the session."""


class PermissionDecided(_Event):
    kind: Literal["permission_decided"] = "permission_decided"
    call_id: str
    name: str
    outcome: PermissionOutcome
    by: DecidedBy
    reason: str = ""
    remember: bool = False
    """The user chose "always"/"never": the session keeps this decision for identical calls."""
    stage: str = ""
    """The pipeline stage that decided: deny, ask, allow, check, mode, hook, session or user."""
    rule: str | None = None
    """The rule that matched and the settings file it came from."""


class PlanUpdated(_Event):
    kind: Literal["plan_updated"] = "plan_updated"
    todos: tuple[TodoItem, ...]


class UsageUpdated(_Event):
    """After every API call (turn requests and compaction requests alike)."""

    kind: Literal["usage"] = "usage"
    request: TokenUsage
    """Usage of the API call that just ended."""
    session: TokenUsage
    """Running total for the session."""
    request_cost_usd: float | None = None
    """What the call cost (None when the model's price is unknown)."""
    session_cost_usd: float | None = None
    context_tokens: int = 0
    """How full the context window is now (the next request's size, estimated)."""
    context_window: int = 0
    purpose: Literal["turn", "compaction"] = "turn"


CompactionTier = Literal["micro", "snip", "summary", "collapse"]
CompactionTrigger = Literal["auto", "manual", "reactive"]


class CompactionStarted(_Event):
    """A compaction that asks the model (a summary, a collapse) began; it takes a request."""

    kind: Literal["compaction_started"] = "compaction_started"
    tier: CompactionTier
    trigger: CompactionTrigger
    tokens: int
    context_window: int


class Compacted(_Event):
    """The context was compacted: what the model sees of the session changed."""

    kind: Literal["compaction"] = "compaction"
    tier: CompactionTier
    trigger: CompactionTrigger
    tokens_before: int
    tokens_after: int
    context_window: int
    message: str
    """One line for people, e.g. `cleared 14 old tool results (61,000 tokens)`."""
    summary: str | None = None
    """The model's summary (summary and collapse tiers)."""


class Retrying(_Event):
    """An API call failed in a way worth retrying; the next attempt starts after `delay_s`."""

    kind: Literal["retrying"] = "retrying"
    attempt: int
    """The attempt that failed (from 1); retry number `attempt` follows."""
    delay_s: float
    cause: ErrorCause
    max_retries: int | None = None
    """Retries allowed for this call; None: no limit (unattended mode)."""
    model: str = ""
    long_wait: bool = False
    """The wait is long enough (a `retry-after` over 20 s, say) that front ends tell the user."""
    deadline_in_s: float | None = None
    """Seconds left until the deadline after which no retry starts (None: no deadline)."""


class RetryHeartbeat(_Event):
    """Unattended mode, while waiting to retry: sent every `heartbeat_s` so a watcher (a CI log,
    a supervisor) sees the turn is alive."""

    kind: Literal["retry_heartbeat"] = "retry_heartbeat"
    attempt: int
    """The attempt that failed; retry number `attempt` is what is awaited."""
    waited_s: float
    remaining_s: float
    """Until the next attempt."""
    cause: ErrorCause
    deadline_in_s: float | None = None


class ModelFallback(_Event):
    """The model was overloaded several times in a row: the session switched to the fallback model
    (for the rest of the session, resumes included), and the call is sent again to it."""

    kind: Literal["model_fallback"] = "model_fallback"
    from_model: str
    to_model: str
    overloads: int
    """Overloaded answers in a row that triggered the switch."""
    message: str
    """One line for people."""


class Notice(_Event):
    """Something the user should know that is not part of the conversation (e.g. a recovered crash)."""

    kind: Literal["notice"] = "notice"
    level: Literal["info", "warning"] = "info"
    message: str


class CommandOutput(_Event):
    """What a slash command says that does not go through the model (`/cost`, `/context`, `/model`,
    `/permissions`, `/agents`), or the outcome of one that changed the session (`/clear`,
    `/compact`). Front ends show `text`; `data` is the same for programs."""

    kind: Literal["command_output"] = "command_output"
    command: str
    """The command's name, without the slash."""
    text: str
    """For people: plain text, possibly several lines."""
    data: dict[str, Any] = {}
    level: Literal["info", "error"] = "info"


class CheckpointTaken(_Event):
    """A checkpoint the user can rewind to (`core/checkpoints/`): at a prompt, it belongs to the
    user's message the turn started with; before a subagent, to the code only."""

    kind: Literal["checkpoint"] = "checkpoint"
    n: int
    checkpoint_kind: Literal["prompt", "subagent", "rewind"]
    label: str


class TurnEnded(_Event):
    kind: Literal["turn_ended"] = "turn_ended"
    session_id: str
    stop: StopReason
    text: str = ""
    """The final assistant text of the turn (the last message's text blocks)."""
    usage: TokenUsage = TokenUsage()
    """Usage of this turn."""
    requests: int = 0
    cost_usd: float | None = None
    """What this turn cost (None when the model's price is unknown)."""
    session_usage: TokenUsage = TokenUsage()
    session_cost_usd: float | None = None
    context_tokens: int = 0
    context_window: int = 0


class SubagentEvent(_Event):
    """An event of a subagent's turn, passed on to its parent's consumer: the Agent tool call
    `parent_call_id` runs it. Front ends show these nested under that call."""

    kind: Literal["subagent"] = "subagent"
    agent_id: str
    """The subagent's session id (its transcript is `subagents/<parent id>/<agent id>.jsonl`)."""
    parent_call_id: str
    agent_type: str
    event: AgentEvent


AgentEvent = Annotated[
    SessionStarted
    | TurnStarted
    | RequestStarted
    | TextDelta
    | ThinkingDelta
    | AssistantMessage
    | ToolCallStarted
    | ToolCallUpdated
    | ToolCallFinished
    | PermissionRequested
    | PermissionDecided
    | PlanUpdated
    | UsageUpdated
    | CompactionStarted
    | Compacted
    | Retrying
    | RetryHeartbeat
    | ModelFallback
    | Notice
    | CommandOutput
    | CheckpointTaken
    | SubagentEvent
    | TurnEnded,
    Field(discriminator="kind"),
]
SubagentEvent.model_rebuild()

EVENT_ADAPTER: TypeAdapter[AgentEvent] = TypeAdapter(AgentEvent)

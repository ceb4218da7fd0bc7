"""The `Model` port: one streamed response for one request.

Implementations normalise their wire format into `StreamEvent`s, which mirror the Messages API
SSE events one to one. The loop assembles blocks from them, so every model (the Anthropic adapter,
`ScriptedModel`) shares one assembler and one set of tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentls.core.messages import Message


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class TokenUsage(_Frozen):
    """Token counts as the API reports them; a `message_delta` carries cumulative output."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_creation_1h_input_tokens: int = 0
    """The part of `cache_creation_input_tokens` written with a one-hour lifetime (priced higher)."""

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_input_tokens=self.cache_read_input_tokens + other.cache_read_input_tokens,
            cache_creation_input_tokens=self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            cache_creation_1h_input_tokens=self.cache_creation_1h_input_tokens
            + other.cache_creation_1h_input_tokens,
        )

    def __sub__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens - other.input_tokens,
            output_tokens=self.output_tokens - other.output_tokens,
            cache_read_input_tokens=self.cache_read_input_tokens - other.cache_read_input_tokens,
            cache_creation_input_tokens=self.cache_creation_input_tokens - other.cache_creation_input_tokens,
            cache_creation_1h_input_tokens=self.cache_creation_1h_input_tokens
            - other.cache_creation_1h_input_tokens,
        )

    @property
    def total_input(self) -> int:
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens

    @property
    def total(self) -> int:
        """Every token the request(s) consumed: input of all kinds and output."""
        return self.total_input + self.output_tokens

    @property
    def cache_share(self) -> float:
        """The share of input tokens read from the prompt cache (0 when there was no input)."""
        return self.cache_read_input_tokens / self.total_input if self.total_input else 0.0


class ThinkingConfig(_Frozen):
    """Extended thinking. `adaptive` lets the model decide how much to think (recommended for
    newer models); `enabled` uses a fixed `budget_tokens` (>= 1024, below `max_tokens`)."""

    type: Literal["enabled", "adaptive"] = "enabled"
    budget_tokens: int | None = Field(default=None, ge=1024)

    @model_validator(mode="after")
    def _budget_matches_type(self) -> ThinkingConfig:
        if self.type == "enabled" and self.budget_tokens is None:
            raise ValueError("thinking type 'enabled' needs budget_tokens (>= 1024)")
        if self.type == "adaptive" and self.budget_tokens is not None:
            raise ValueError("thinking type 'adaptive' takes no budget_tokens")
        return self


class ToolSpec(_Frozen):
    """A tool as the model sees it."""

    name: str
    description: str
    input_schema: dict[str, Any]


class SystemBlock(_Frozen):
    text: str
    cache: bool = False
    """Put a `cache_control` breakpoint after this block."""


class ModelRequest(_Frozen):
    """Everything one API call needs. The adapter turns it into SDK kwargs; tests inspect it."""

    model: str
    system: tuple[SystemBlock, ...]
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    max_tokens: int = 16000
    thinking: ThinkingConfig | None = None
    cache_points: tuple[tuple[int, int], ...] = ((-1, -1),)
    """Prompt-cache breakpoints in the messages, as (message, block) indices; negative indices
    count from the end, and a block that cannot carry one (thinking) moves it to the nearest
    earlier block of that message. The default is the moving breakpoint on the last message, so
    the next call reads the whole history from cache."""
    idle_timeout_s: float | None = None
    """Give up on the response (a retryable `connection` error) when no byte arrives for this long,
    SSE pings included; None: the model's default. Not sent to the API."""


# --- Stream events: one per SSE event of the Messages API. -------------------------------------


class MessageStart(_Frozen):
    kind: Literal["message_start"] = "message_start"
    message_id: str = ""
    model: str = ""
    usage: TokenUsage = TokenUsage()


class TextStart(_Frozen):
    kind: Literal["text_start"] = "text_start"
    index: int


class ThinkingStart(_Frozen):
    kind: Literal["thinking_start"] = "thinking_start"
    index: int


class RedactedThinking(_Frozen):
    """A redacted thinking block arrives whole in its `content_block_start`."""

    kind: Literal["redacted_thinking"] = "redacted_thinking"
    index: int
    data: str


class ToolUseStart(_Frozen):
    kind: Literal["tool_use_start"] = "tool_use_start"
    index: int
    id: str
    name: str


class TextDelta(_Frozen):
    kind: Literal["text_delta"] = "text_delta"
    index: int
    text: str


class ThinkingDelta(_Frozen):
    kind: Literal["thinking_delta"] = "thinking_delta"
    index: int
    thinking: str


class SignatureDelta(_Frozen):
    kind: Literal["signature_delta"] = "signature_delta"
    index: int
    signature: str


class InputJsonDelta(_Frozen):
    kind: Literal["input_json_delta"] = "input_json_delta"
    index: int
    partial_json: str


class BlockStop(_Frozen):
    kind: Literal["block_stop"] = "block_stop"
    index: int


ApiStopReason = Literal[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
]


class MessageDelta(_Frozen):
    kind: Literal["message_delta"] = "message_delta"
    stop_reason: ApiStopReason | None = None
    usage: TokenUsage = TokenUsage()
    """Cumulative usage for this message (the API reports totals, not increments)."""


class MessageStop(_Frozen):
    kind: Literal["message_stop"] = "message_stop"


StreamEvent = Annotated[
    MessageStart
    | TextStart
    | ThinkingStart
    | RedactedThinking
    | ToolUseStart
    | TextDelta
    | ThinkingDelta
    | SignatureDelta
    | InputJsonDelta
    | BlockStop
    | MessageDelta
    | MessageStop,
    Field(discriminator="kind"),
]


class Model(Protocol):
    """Streams one response. Raises `ModelError` (see `agentls.core.errors`) on failure."""

    @property
    def name(self) -> str: ...

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]: ...

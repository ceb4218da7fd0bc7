"""`ScriptedModel`: a `Model` that plays back scripted replies and records every request.

It is a first-class model, not a mock: the demo runs on it, and the loop's tests use it. The same
`Reply` objects drive the fake Messages API in the tests, so one script can exercise the loop
directly or through the real SDK over loopback.

It fails loudly: a request beyond the script raises `ModelError(kind="protocol")`, and
`assert_consumed()` fails if the script was not played to the end.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentls.core.errors import ErrorCause, ModelError
from agentls.core.model import (
    ApiStopReason,
    BlockStop,
    InputJsonDelta,
    MessageDelta,
    MessageStart,
    MessageStop,
    ModelRequest,
    SignatureDelta,
    StreamEvent,
    TextDelta,
    TextStart,
    ThinkingDelta,
    ThinkingStart,
    TokenUsage,
    ToolUseStart,
)


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Thinking:
    thinking: str
    signature: str = "sig-scripted"


@dataclass(frozen=True)
class ToolCall:
    name: str
    input: dict[str, Any]
    id: str = ""
    """Empty: a deterministic id (`toolu_<reply>_<block>`) is made up."""
    raw_json: str | None = None
    """Send this exact input JSON instead of `input` (to script malformed input)."""


ReplyBlock = Text | Thinking | ToolCall


@dataclass(frozen=True)
class Reply:
    """One scripted assistant message."""

    blocks: Sequence[ReplyBlock]
    stop_reason: ApiStopReason | None = None
    """None: `tool_use` if any block is a tool call, else `end_turn`."""
    usage: TokenUsage | None = None
    """None: whoever plays the reply decides (`ScriptedModel` reports `DEFAULT_USAGE`; the fake
    Messages API computes it from the request and the reply)."""
    delay_before_stop_s: float = 0.0
    """Sleep after the last block and before `message_delta`/`message_stop`."""
    chunk_size: int = 24
    """Text and JSON are streamed in deltas of this many characters."""
    truncate_after_block: int | None = None
    """Stop streaming after this many blocks (simulates `max_tokens` mid-block when combined)."""

    def effective_stop_reason(self) -> ApiStopReason:
        if self.stop_reason is not None:
            return self.stop_reason
        return "tool_use" if any(isinstance(b, ToolCall) for b in self.blocks) else "end_turn"


DEFAULT_USAGE = TokenUsage(input_tokens=100, output_tokens=20)
"""The usage of a reply that does not script its own."""

Step = Reply | Callable[[ModelRequest], Reply] | ModelError
"""A reply, a function of the request that builds one, or an error to raise."""


def tool_use_id(reply_index: int, block_index: int, call: ToolCall) -> str:
    return call.id or f"toolu_{reply_index:02d}_{block_index:02d}"


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def reply_events(reply: Reply, reply_index: int = 0, model: str = "scripted") -> list[StreamEvent]:
    """The stream events of a reply, without timing (`delay_before_stop_s` is the caller's)."""
    usage = reply.usage if reply.usage is not None else DEFAULT_USAGE
    events: list[StreamEvent] = [
        MessageStart(
            message_id=f"msg_{reply_index:02d}",
            model=model,
            usage=TokenUsage(
                input_tokens=usage.input_tokens,
                cache_read_input_tokens=usage.cache_read_input_tokens,
                cache_creation_input_tokens=usage.cache_creation_input_tokens,
                cache_creation_1h_input_tokens=usage.cache_creation_1h_input_tokens,
            ),
        ),
    ]
    for i, block in enumerate(reply.blocks):
        if isinstance(block, Text):
            events.append(TextStart(index=i))
            events.extend(TextDelta(index=i, text=c) for c in _chunks(block.text, reply.chunk_size))
        elif isinstance(block, Thinking):
            events.append(ThinkingStart(index=i))
            events.extend(
                ThinkingDelta(index=i, thinking=c) for c in _chunks(block.thinking, reply.chunk_size)
            )
            events.append(SignatureDelta(index=i, signature=block.signature))
        else:
            events.append(ToolUseStart(index=i, id=tool_use_id(reply_index, i, block), name=block.name))
            raw = block.raw_json if block.raw_json is not None else json.dumps(block.input)
            events.extend(InputJsonDelta(index=i, partial_json=c) for c in _chunks(raw, reply.chunk_size))
        if reply.truncate_after_block is not None and i + 1 >= reply.truncate_after_block:
            # The block is left open: the stream ends as if max_tokens cut it off.
            break
        events.append(BlockStop(index=i))
    events.append(
        MessageDelta(
            stop_reason=reply.effective_stop_reason(),
            usage=TokenUsage(output_tokens=usage.output_tokens),
        )
    )
    events.append(MessageStop())
    return events


@dataclass
class ScriptedModel:
    steps: list[Step]
    model_name: str = "scripted-model"
    requests: list[ModelRequest] = field(default_factory=list)
    """Every request received, in order."""

    @property
    def name(self) -> str:
        return self.model_name

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        return self._stream(request)

    async def _stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        index = len(self.requests)
        self.requests.append(request)
        if index >= len(self.steps):
            raise ModelError(
                ErrorCause(
                    kind="protocol",
                    message=f"scripted model: unexpected request #{index + 1}; "
                    f"the script has {len(self.steps)} step(s)",
                )
            )
        step = self.steps[index]
        if isinstance(step, ModelError):
            raise step
        reply = step(request) if callable(step) else step
        events = reply_events(reply, index, self.model_name)
        for event in events:
            if isinstance(event, MessageDelta) and reply.delay_before_stop_s:
                await asyncio.sleep(reply.delay_before_stop_s)
            else:
                await asyncio.sleep(0)
            yield event

    @property
    def remaining(self) -> int:
        return len(self.steps) - len(self.requests)

    def assert_consumed(self) -> None:
        if self.remaining > 0:
            raise AssertionError(
                f"scripted model: {self.remaining} step(s) never requested "
                f"({len(self.requests)} of {len(self.steps)} used)"
            )

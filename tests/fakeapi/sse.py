"""The Messages API's SSE wire format, derived from `reply_events()`.

Deriving the wire events from the same `StreamEvent`s that `ScriptedModel` plays means a script
yields the same events through the real SDK and the adapter as it does directly.
"""

from __future__ import annotations

import json
from typing import Any

from agentls.core.model import (
    BlockStop,
    InputJsonDelta,
    MessageDelta,
    MessageStart,
    MessageStop,
    RedactedThinking,
    SignatureDelta,
    StreamEvent,
    TextDelta,
    TextStart,
    ThinkingDelta,
    ThinkingStart,
    ToolUseStart,
)
from agentls.core.scripted import Reply, reply_events

WireEvent = tuple[str, dict[str, Any]]
"""An SSE event name and its JSON data."""

PING: WireEvent = ("ping", {"type": "ping"})


def wire_events(
    reply: Reply, reply_index: int = 0, model: str = "scripted", ping_every: int = 5
) -> list[WireEvent]:
    """The SSE events of `reply`: a ping after `message_start`, then one every `ping_every` events."""
    out: list[WireEvent] = []
    for n, event in enumerate(reply_events(reply, reply_index, model)):
        out.append(to_wire(event))
        if n == 0 or (ping_every > 0 and n % ping_every == 0 and not isinstance(event, MessageStop)):
            out.append(PING)
    return out


def to_wire(event: StreamEvent) -> WireEvent:
    if isinstance(event, MessageStart):
        usage = {
            "input_tokens": event.usage.input_tokens,
            "cache_creation_input_tokens": event.usage.cache_creation_input_tokens,
            "cache_read_input_tokens": event.usage.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": event.usage.cache_creation_input_tokens
                - event.usage.cache_creation_1h_input_tokens,
                "ephemeral_1h_input_tokens": event.usage.cache_creation_1h_input_tokens,
            },
            "output_tokens": event.usage.output_tokens,
        }
        message: dict[str, Any] = {
            "id": event.message_id,
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": event.model,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        return "message_start", {"type": "message_start", "message": message}
    if isinstance(event, TextStart):
        return _block_start(event.index, {"type": "text", "text": ""})
    if isinstance(event, ThinkingStart):
        return _block_start(event.index, {"type": "thinking", "thinking": "", "signature": ""})
    if isinstance(event, RedactedThinking):
        return _block_start(event.index, {"type": "redacted_thinking", "data": event.data})
    if isinstance(event, ToolUseStart):
        return _block_start(
            event.index, {"type": "tool_use", "id": event.id, "name": event.name, "input": {}}
        )
    if isinstance(event, TextDelta):
        return _delta(event.index, {"type": "text_delta", "text": event.text})
    if isinstance(event, ThinkingDelta):
        return _delta(event.index, {"type": "thinking_delta", "thinking": event.thinking})
    if isinstance(event, SignatureDelta):
        return _delta(event.index, {"type": "signature_delta", "signature": event.signature})
    if isinstance(event, InputJsonDelta):
        return _delta(event.index, {"type": "input_json_delta", "partial_json": event.partial_json})
    if isinstance(event, BlockStop):
        return "content_block_stop", {"type": "content_block_stop", "index": event.index}
    if isinstance(event, MessageDelta):
        delta = {"stop_reason": event.stop_reason, "stop_sequence": None}
        return "message_delta", {
            "type": "message_delta",
            "delta": delta,
            "usage": {"output_tokens": event.usage.output_tokens},
        }
    return "message_stop", {"type": "message_stop"}


def encode(event: WireEvent) -> bytes:
    name, data = event
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _block_start(index: int, block: dict[str, Any]) -> WireEvent:
    return "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, delta: dict[str, Any]) -> WireEvent:
    return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}

"""A cheap token estimate: characters divided by a ratio, per block, cached per message.

The estimate is only a starting point. The meter calibrates it against the token counts the API
reports for each request (`meter.ContextMeter`), so a tokenizer that packs more or fewer
characters per token than assumed here is corrected after the first response. It errs on the
high side (3.5 characters per token, plus per-block overhead): compacting a little early is
cheap, an overflow costs a round trip.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from agentls.core.messages import (
    ContentBlock,
    Message,
    PerMessage,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from agentls.core.model import SystemBlock, ToolSpec

CHARS_PER_TOKEN = 3.5
BLOCK_OVERHEAD = 4
"""Tokens for a block's framing (type, ids, separators)."""
MESSAGE_OVERHEAD = 4


def text_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


def block_tokens(block: ContentBlock) -> int:
    if isinstance(block, TextBlock):
        size = len(block.text)
    elif isinstance(block, ToolResultBlock):
        size = len(block.content)
    elif isinstance(block, ToolUseBlock):
        size = len(block.name) + len(block.id) + len(json.dumps(block.input, ensure_ascii=False))
    elif isinstance(block, ThinkingBlock):
        size = len(block.thinking) + len(block.signature)
    else:
        assert isinstance(block, RedactedThinkingBlock)
        size = len(block.data)
    return int(size / CHARS_PER_TOKEN) + BLOCK_OVERHEAD


def message_tokens(message: Message) -> int:
    return MESSAGE_OVERHEAD + sum(block_tokens(b) for b in message.content)


def fixed_tokens(system: Iterable[SystemBlock], tools: Iterable[ToolSpec]) -> int:
    """The part of every request that is not the conversation: system prompt and tool definitions."""
    total = sum(text_tokens(b.text) + BLOCK_OVERHEAD for b in system)
    for spec in tools:
        schema = json.dumps(spec.input_schema, ensure_ascii=False)
        total += text_tokens(spec.name + spec.description + schema) + BLOCK_OVERHEAD
    return total


class MessageTokens(PerMessage[int]):
    """Estimates of messages, each made once."""

    def __init__(self) -> None:
        super().__init__(message_tokens)

    def total(self, messages: Sequence[Message]) -> int:
        return sum(self.of(m) for m in messages)

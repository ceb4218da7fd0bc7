"""Builds one assistant message from `StreamEvent`s and hands tool calls off as soon as they close.

A `tool_use` block is complete at its `block_stop`; `on_tool_use` is called right there, before
the message ends, which is what lets tools start while the model is still streaming. Blocks that
never reached `block_stop` (a dropped stream) are not part of `message()`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentls.core.messages import (
    ContentBlock,
    Message,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)
from agentls.core.model import (
    ApiStopReason,
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
    TokenUsage,
    ToolUseStart,
)

MAX_TOOL_INPUT_CHARS = 4_000_000
"""Tool input JSON beyond this is refused before parsing: no tool needs it, and it costs memory."""
MAX_TOOL_INPUT_DEPTH = 64
"""Tool input nested deeper than this is refused: no tool's schema nests beyond a few levels, and
every later step (validation, events, the transcript) would have to survive the recursion."""


@dataclass
class _Open:
    kind: str
    parts: list[str] = field(default_factory=list)
    signature: str = ""
    tool_id: str = ""
    tool_name: str = ""
    size: int = 0


ToolUseHandler = Callable[[ToolUseBlock, str | None], None]
"""Called with the block and, if its input could not be used, the error to report instead."""


class Assembler:
    def __init__(self, on_tool_use: ToolUseHandler) -> None:
        self._on_tool_use = on_tool_use
        self._open: dict[int, _Open] = {}
        self._done: dict[int, ContentBlock] = {}
        self.message_id = ""
        self.stop_reason: ApiStopReason | None = None
        self.usage = TokenUsage()
        self.finished = False
        """True once `message_stop` arrived."""

    def feed(self, event: StreamEvent) -> tuple[str, str] | None:
        """Consume one event; returns `("text"|"thinking", chunk)` for a visible delta."""
        match event:
            case MessageStart():
                self.message_id = event.message_id
                self.usage = event.usage
            case TextStart():
                self._open[event.index] = _Open("text")
            case ThinkingStart():
                self._open[event.index] = _Open("thinking")
            case RedactedThinking():
                self._done[event.index] = RedactedThinkingBlock(data=event.data)
            case ToolUseStart():
                self._open[event.index] = _Open("tool_use", tool_id=event.id, tool_name=event.name)
            case TextDelta():
                self._append(event.index, event.text)
                return ("text", event.text)
            case ThinkingDelta():
                self._append(event.index, event.thinking)
                return ("thinking", event.thinking)
            case SignatureDelta():
                if (block := self._open.get(event.index)) is not None:
                    block.signature += event.signature
            case InputJsonDelta():
                self._append(event.index, event.partial_json)
            case BlockStop():
                self._close(event.index)
            case MessageDelta():
                self.stop_reason = event.stop_reason or self.stop_reason
                # message_delta usage is cumulative for output; input counts come from message_start.
                self.usage = TokenUsage(
                    input_tokens=max(self.usage.input_tokens, event.usage.input_tokens),
                    output_tokens=event.usage.output_tokens,
                    cache_read_input_tokens=max(
                        self.usage.cache_read_input_tokens, event.usage.cache_read_input_tokens
                    ),
                    cache_creation_input_tokens=max(
                        self.usage.cache_creation_input_tokens, event.usage.cache_creation_input_tokens
                    ),
                    cache_creation_1h_input_tokens=max(
                        self.usage.cache_creation_1h_input_tokens, event.usage.cache_creation_1h_input_tokens
                    ),
                )
            case MessageStop():
                self.finished = True
        return None

    def _append(self, index: int, text: str) -> None:
        block = self._open.get(index)
        if block is None:
            return
        block.size += len(text)
        if block.kind == "tool_use" and block.size > MAX_TOOL_INPUT_CHARS:
            return  # Keep counting, stop storing: the call is refused at block_stop.
        block.parts.append(text)

    def _close(self, index: int) -> None:
        block = self._open.pop(index, None)
        if block is None:
            return
        text = "".join(block.parts)
        if block.kind == "text":
            self._done[index] = TextBlock(text=text)
        elif block.kind == "thinking":
            self._done[index] = ThinkingBlock(thinking=text, signature=block.signature)
        else:
            tool_input, error = _parse_tool_input(text, block.size)
            tool_use = ToolUseBlock(id=self._unique_id(block.tool_id), name=block.tool_name, input=tool_input)
            self._done[index] = tool_use
            self._on_tool_use(tool_use, error)

    def _unique_id(self, wanted: str) -> str:
        """The call's id, or a new one if this message already has a call with it: the API rejects
        a message whose tool_use ids repeat, and each result must name its own call."""
        taken = {b.id for b in self._done.values() if isinstance(b, ToolUseBlock)}
        if wanted and wanted not in taken:
            return wanted
        n = 2
        while f"{wanted or 'toolu'}_{n}" in taken:
            n += 1
        return f"{wanted or 'toolu'}_{n}"

    def message(self) -> Message:
        """The completed blocks, in stream order. Empty text blocks are dropped (the API rejects them)."""
        blocks = [self._done[i] for i in sorted(self._done)]
        kept = tuple(b for b in blocks if not (isinstance(b, TextBlock) and not b.text))
        return Message(role="assistant", content=kept)

    @property
    def has_content(self) -> bool:
        return bool(self.message().content)


def _parse_tool_input(text: str, size: int) -> tuple[dict[str, Any], str | None]:
    if size > MAX_TOOL_INPUT_CHARS:
        return {}, (
            f"Tool input refused: {size} characters is over the {MAX_TOOL_INPUT_CHARS} limit. "
            "Split the work into smaller calls."
        )
    if not text.strip():
        return {}, None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        return {}, (
            f"Tool input was not valid JSON ({err.msg} at position {err.pos}); the response may "
            "have been cut off by max_tokens. Call the tool again with complete input."
        )
    except RecursionError:  # Nested beyond the parser's own limit.
        return {}, f"Tool input refused: it is nested more than {MAX_TOOL_INPUT_DEPTH} levels deep."
    if _depth(value, MAX_TOOL_INPUT_DEPTH + 1) > MAX_TOOL_INPUT_DEPTH:
        return {}, f"Tool input refused: it is nested more than {MAX_TOOL_INPUT_DEPTH} levels deep."
    if not isinstance(value, dict):
        return {}, f"Tool input must be a JSON object, got {type(value).__name__}."
    return value, None


def _depth(value: Any, limit: int) -> int:
    """How deep `value` nests (lists and objects), counted without recursion, up to `limit`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if not isinstance(item, dict | list):
            continue
        deepest = max(deepest, level)
        if deepest >= limit:
            return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, level + 1) for child in children)
    return deepest

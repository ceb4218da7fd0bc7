"""The fake Messages API's token counts: deterministic, and independent of agentls' estimators.

A block counts `ceil(bytes / 4)` tokens (at least 1) of its canonical JSON without `cache_control`,
so a benchmark can count a request exactly as the fake does, and agentls' own estimate is measured
against a yardstick it does not share. A request is its blocks in the API's cache order: each tool
definition, each system block, then each content block of each message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from agentls.core.scripted import Reply, Text, Thinking, tool_use_id

BYTES_PER_TOKEN = 4


def canonical(block: Any) -> bytes:
    """A block's canonical JSON, `cache_control` removed: what its count and its cache key see."""
    if isinstance(block, dict) and "cache_control" in block:
        block = {k: v for k, v in block.items() if k != "cache_control"}
    return json.dumps(block, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def count_bytes(size: int) -> int:
    return max(1, -(-size // BYTES_PER_TOKEN))


def block_tokens(block: Any) -> int:
    return count_bytes(len(canonical(block)))


def message_blocks(message: Any) -> list[Any]:
    """A message's content blocks; a string content is one text block."""
    content = message.get("content") if isinstance(message, dict) else None
    return [{"type": "text", "text": content}] if isinstance(content, str) else _list(content)


def system_blocks(body: dict[str, Any]) -> list[Any]:
    """The system blocks; a string system is one text block."""
    system = body.get("system")
    return [{"type": "text", "text": system}] if isinstance(system, str) else _list(system)


def request_blocks(body: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Each block of a request in cache order, with where it sits: "tool", "system" or the role.

    Tolerates any JSON (a request the fake does not validate), skipping what is not a list."""
    for tool in _list(body.get("tools")):
        yield "tool", tool
    for block in system_blocks(body):
        yield "system", block
    for message in _list(body.get("messages")):
        role = str(message.get("role")) if isinstance(message, dict) else "?"
        for block in message_blocks(message):
            yield role, block


def count_request_tokens(body: Any) -> int:
    """The input tokens of a request body: the sum of its blocks' counts (0 for a non-object)."""
    if not isinstance(body, dict):
        return 0
    return sum(block_tokens(block) for _, block in request_blocks(body))


def reply_content(reply: Reply, reply_index: int = 0) -> list[dict[str, Any]]:
    """The content blocks a reply streams, as the client will send them back next turn."""
    blocks: list[dict[str, Any]] = []
    for i, block in enumerate(reply.blocks):
        if isinstance(block, Text):
            blocks.append({"type": "text", "text": block.text})
        elif isinstance(block, Thinking):
            blocks.append({"type": "thinking", "thinking": block.thinking, "signature": block.signature})
        else:
            raw = block.raw_json
            tool_input: Any = block.input if raw is None else _parsed_or_raw(raw)
            blocks.append(
                {
                    "type": "tool_use",
                    "id": tool_use_id(reply_index, i, block),
                    "name": block.name,
                    "input": tool_input,
                }
            )
        if reply.truncate_after_block is not None and i + 1 >= reply.truncate_after_block:
            break
    return blocks


def count_reply_tokens(reply: Reply, reply_index: int = 0) -> int:
    """The output tokens of a reply: its streamed content blocks, counted like input blocks."""
    return sum(block_tokens(block) for block in reply_content(reply, reply_index))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _parsed_or_raw(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw

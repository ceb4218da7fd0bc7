"""The conversation history and the one rule for growing it.

Consecutive user messages are merged (tool results first, then new text), so a resumed or
cancelled turn followed by a new prompt still sends a valid alternating conversation.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentls.core.messages import ContentBlock, Message, ToolResultBlock, ToolUseBlock


def append_message(history: list[Message], message: Message) -> None:
    if history and history[-1].role == "user" and message.role == "user":
        history[-1] = Message(role="user", content=_results_first(history[-1].content + message.content))
        return
    history.append(message)


def _results_first(blocks: Sequence[ContentBlock]) -> tuple[ContentBlock, ...]:
    # The API wants tool_result blocks at the start of the user message that answers them.
    results = [b for b in blocks if isinstance(b, ToolResultBlock)]
    rest = [b for b in blocks if not isinstance(b, ToolResultBlock)]
    return (*results, *rest)


def unanswered_tool_uses(history: Sequence[Message]) -> list[ToolUseBlock]:
    """Tool calls of the last assistant message that no following user message answers."""
    if not history or history[-1].role != "assistant":
        return []
    return history[-1].tool_uses()

"""The conversation as the core sees it: typed content blocks and messages.

These mirror the Messages API shapes so that `to_api` is a plain dump, but they are ours:
the SDK's types never leak past the Anthropic adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field


class _Block(BaseModel):
    model_config = ConfigDict(frozen=True)


class TextBlock(_Block):
    type: Literal["text"] = "text"
    text: str


class ThinkingBlock(_Block):
    type: Literal["thinking"] = "thinking"
    thinking: str
    signature: str = ""
    """Opaque proof that the model wrote this block; required to send it back."""


class RedactedThinkingBlock(_Block):
    type: Literal["redacted_thinking"] = "redacted_thinking"
    data: str


class ToolUseBlock(_Block):
    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(_Block):
    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: str
    is_error: bool = False


ContentBlock = Annotated[
    TextBlock | ThinkingBlock | RedactedThinkingBlock | ToolUseBlock | ToolResultBlock,
    Field(discriminator="type"),
]


class Message(BaseModel):
    """One conversation message; `content` is never a bare string, always blocks."""

    model_config = ConfigDict(frozen=True)

    role: Literal["user", "assistant"]
    content: tuple[ContentBlock, ...]

    def tool_uses(self) -> list[ToolUseBlock]:
        return [b for b in self.content if isinstance(b, ToolUseBlock)]

    def text(self) -> str:
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))


def user_text(text: str) -> Message:
    return Message(role="user", content=(TextBlock(text=text),))


T = TypeVar("T")


class PerMessage(Generic[T]):
    """A value computed once per message: messages never change, and a long session sends the
    same few hundred again with every request. Keyed by identity; holding the message keeps its
    id from being reused by another object."""

    def __init__(self, compute: Callable[[Message], T]) -> None:
        self._compute = compute
        self._known: dict[int, tuple[Message, T]] = {}

    def of(self, message: Message) -> T:
        hit = self._known.get(id(message))
        if hit is None or hit[0] is not message:
            hit = self._known[id(message)] = (message, self._compute(message))
        return hit[1]

    def forget_all_but(self, messages: Sequence[Message]) -> None:
        """Drop the entries of messages no longer in `messages`."""
        keep = {id(m) for m in messages}
        self._known = {k: v for k, v in self._known.items() if k in keep}

    def __len__(self) -> int:
        return len(self._known)


def to_api(message: Message) -> dict[str, Any]:
    """The Messages API dict for one message (no cache markers; the request builder adds them)."""
    return {"role": message.role, "content": [b.model_dump() for b in message.content]}

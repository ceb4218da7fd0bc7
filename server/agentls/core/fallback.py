"""Talking to another model mid-session: thinking blocks the previous model wrote stay out.

A thinking block's signature is bound to the model that wrote it: sent to another model, the
request is refused (`Invalid signature in thinking block`). After a switch to the fallback model,
the blocks written before it are left out of every request. Nothing is lost: the API ignores the
thinking of earlier turns anyway, and the transcript and the history keep the blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agentls.core.messages import Message, PerMessage, RedactedThinkingBlock, TextBlock, ThinkingBlock

OMITTED = "(thinking omitted)"
"""Stands in for an assistant message that held only thinking (the API refuses an empty one)."""


class ForeignThinking:
    def __init__(self) -> None:
        self._signatures: set[str] = set()
        self._stripped = PerMessage(self._strip)

    def __bool__(self) -> bool:
        return bool(self._signatures)

    def add(self, messages: Iterable[Message]) -> None:
        """Every thinking block in `messages` was written by a model no longer in use."""
        before = len(self._signatures)
        for message in messages:
            for block in message.content:
                key = _key(block)
                if key:
                    self._signatures.add(key)
        if len(self._signatures) != before:
            self._stripped = PerMessage(self._strip)

    def apply(self, messages: Sequence[Message]) -> list[Message]:
        """`messages` without the foreign thinking blocks (the same objects where there is none)."""
        if not self._signatures:
            return list(messages)
        if len(self._stripped) > 2 * len(messages) + 64:
            self._stripped.forget_all_but(messages)
        return [self._stripped.of(m) for m in messages]

    def _strip(self, message: Message) -> Message:
        if message.role != "assistant":
            return message
        kept = tuple(b for b in message.content if _key(b) not in self._signatures)
        if len(kept) == len(message.content):
            return message
        return Message(role="assistant", content=kept or (TextBlock(text=OMITTED),))


def _key(block: object) -> str:
    """What identifies a thinking block: its signature, or a redacted block's data."""
    if isinstance(block, ThinkingBlock):
        return "s:" + block.signature if block.signature else "t:" + block.thinking
    if isinstance(block, RedactedThinkingBlock):
        return "r:" + block.data
    return ""

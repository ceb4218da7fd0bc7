"""Synthetic conversations for the context tiers' tests, and the checks every tier must pass."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentls.core.messages import Message, TextBlock, ToolResultBlock, ToolUseBlock, to_api, user_text
from tests.fakeapi.validate import validate_request

ROOT = Path("/ws")


@dataclass
class Builder:
    """Builds a conversation one exchange at a time: the assistant calls tools, the user's next
    message carries their results (and maybe something the user typed)."""

    messages: list[Message] = field(default_factory=list)
    calls: int = 0

    def user(self, text: str) -> Builder:
        if self.messages and self.messages[-1].role == "user":
            last = self.messages.pop()
            self.messages.append(Message(role="user", content=(*last.content, TextBlock(text=text))))
        else:
            self.messages.append(user_text(text))
        return self

    def call(
        self, name: str, args: dict[str, Any], result: str, *, said: str = "", error: bool = False
    ) -> Builder:
        return self.calls_at_once([(name, args, result, error)], said=said)

    def calls_at_once(
        self, calls: Sequence[tuple[str, dict[str, Any], str, bool]], *, said: str = ""
    ) -> Builder:
        blocks: list[Any] = [TextBlock(text=said)] if said else []
        results = []
        for name, args, result, error in calls:
            self.calls += 1
            call_id = f"toolu_{self.calls:04d}"
            blocks.append(ToolUseBlock(id=call_id, name=name, input=args))
            results.append(ToolResultBlock(tool_use_id=call_id, content=result, is_error=error))
        self.messages.append(Message(role="assistant", content=tuple(blocks)))
        self.messages.append(Message(role="user", content=tuple(results)))
        return self

    def read(self, path: str, size: int = 4000, **kw: Any) -> Builder:
        body = "\n".join(f"{n:>6}\t{path} line {n} " + "x" * 40 for n in range(1, size // 60 + 2))
        return self.call("Read", {"file_path": str(ROOT / path)}, body[:size], **kw)

    def edit(self, path: str) -> Builder:
        args = {"file_path": str(ROOT / path), "old_string": "a", "new_string": "b"}
        return self.call("Edit", args, f"The file {ROOT / path} has been updated.")

    def bash(self, command: str, output: str = "ok\n" * 200) -> Builder:
        return self.call("Bash", {"command": command}, output)

    def grep(self, pattern: str, output: str = "a.py:1:match\n" * 100) -> Builder:
        return self.call("Grep", {"pattern": pattern}, output)

    def answer(self, text: str) -> Builder:
        self.messages.append(Message(role="assistant", content=(TextBlock(text=text),)))
        return self


def assert_valid(messages: Sequence[Message]) -> None:
    """The conversation is one the Messages API accepts (the fake's own checks)."""
    body = {"model": "m", "max_tokens": 10, "stream": True, "messages": [to_api(m) for m in messages]}
    problem = validate_request(body, {"x-api-key": "k"})
    assert problem is None, problem


def user_texts(messages: Sequence[Message]) -> list[str]:
    return [b.text for m in messages if m.role == "user" for b in m.content if isinstance(b, TextBlock)]


def sent_text(messages: Sequence[Message]) -> str:
    return json.dumps([to_api(m) for m in messages], ensure_ascii=False)

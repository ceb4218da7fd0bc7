"""Tool calls paired with their results: what the context tiers decide on.

A call lives in an assistant message as a `tool_use` block, and its result in the next user
message as a `tool_result` block with the same id. The tiers never look at one without the
other: a result is cleared with its call's name and input in mind, and an exchange is dropped
only whole.
"""

from __future__ import annotations

import json
import os.path
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentls.core.messages import Message, ToolResultBlock, ToolUseBlock


@dataclass(frozen=True)
class PairedCall:
    call: ToolUseBlock
    result: ToolResultBlock
    message_index: int
    """Index of the user message holding the result."""
    block_index: int
    """Index of the result within that message."""

    @property
    def id(self) -> str:
        return self.call.id

    @property
    def name(self) -> str:
        return self.call.name


def paired_calls(messages: Sequence[Message]) -> list[PairedCall]:
    """Every answered tool call, in conversation order."""
    out: list[PairedCall] = []
    pending: dict[str, ToolUseBlock] = {}
    for index, message in enumerate(messages):
        if message.role == "assistant":
            pending = {b.id: b for b in message.content if isinstance(b, ToolUseBlock)}
            continue
        for block_index, block in enumerate(message.content):
            if isinstance(block, ToolResultBlock) and block.tool_use_id in pending:
                out.append(PairedCall(pending.pop(block.tool_use_id), block, index, block_index))
    return out


class CallKeys:
    """Per call id, the file a call names and its canonical input, computed once: calls never
    change, and a long session asks about the same thousand calls before every request."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._known: dict[str, tuple[str | None, str]] = {}

    def of(self, call: ToolUseBlock) -> tuple[str | None, str]:
        hit = self._known.get(call.id)
        if hit is None:
            hit = self._known[call.id] = (input_path(call, self.root), canonical_input(call))
        return hit

    def forget_all_but(self, ids: set[str]) -> None:
        self._known = {k: v for k, v in self._known.items() if k in ids}


def input_path(call: ToolUseBlock, root: Path) -> str | None:
    """The file a Read/Edit/Write call names, absolute and normalised (no symlinks resolved)."""
    raw = call.input.get("file_path")
    if not isinstance(raw, str) or not raw:
        return None
    path = Path(raw).expanduser()
    return os.path.normpath(path if path.is_absolute() else root / path)


def display(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


def canonical_input(call: ToolUseBlock) -> str:
    return json.dumps(call.input, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def short(value: Any, limit: int = 120) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(call: ToolUseBlock, root: Path) -> str:
    """A short human description of a call: `Read src/a.py`, `Bash \\`make test\\``, `Grep 'foo'`."""
    path = input_path(call, root)
    if path is not None:
        return f"{call.name} {display(path, root)}"
    if call.name == "Bash":
        return f"Bash `{short(call.input.get('command', ''))}`"
    if call.name in ("Grep", "Glob"):
        return f"{call.name} {short(repr(call.input.get('pattern', '')), 80)}"
    return f"{call.name} {short(canonical_input(call), 80)}"

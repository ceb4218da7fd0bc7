"""Where to cut a context, and what a cut part leaves behind: the user's words and its facts.

A cut removes whole exchanges from the front of the context (after the compacted head, if there
is one) and keeps a tail that starts with an assistant message, so every tool call keeps its
result and roles still alternate after the head (a user message).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from agentls.core.context.base import Base, FileNote, Stage, StageKind
from agentls.core.context.tool_calls import describe, input_path, paired_calls
from agentls.core.messages import Message, TextBlock, ToolUseBlock


@dataclass(frozen=True)
class Cut:
    start: int
    """First message removed: 0, or 1 when message 0 is the compacted head."""
    keep_from: int
    """First message kept (an assistant message)."""

    def removed(self, messages: Sequence[Message]) -> Sequence[Message]:
        return messages[self.start : self.keep_from]


def choose_cut(
    messages: Sequence[Message],
    *,
    has_head: bool,
    budget: int,
    tokens: Callable[[Message], int],
    keep_min: int = 1,
    max_messages: int | None = None,
) -> Cut | None:
    """The cut that keeps the most recent messages within `budget` tokens (and, if given, at
    most `max_messages` of them), keeping at least the last `keep_min` exchanges and removing at
    least one. If everything already fits, or nothing can go, None; if nothing short of the
    deepest allowed cut fits, that one."""
    start = 1 if has_head else 0
    assistants = [i for i, m in enumerate(messages) if m.role == "assistant" and i >= start]
    # A kept tail starts at an assistant message, and the removed part holds at least one.
    starts = [i for i in assistants if i > assistants[0]] if assistants else []
    allowed = starts[: max(0, len(starts) - keep_min + 1)] if keep_min > 0 else starts
    if not allowed:
        return None
    suffix = 0
    sizes: dict[int, int] = {}
    for i in range(len(messages) - 1, start - 1, -1):
        suffix += tokens(messages[i])
        sizes[i] = suffix

    def fits(k: int) -> bool:
        return sizes[k] <= budget and (max_messages is None or len(messages) - k <= max_messages)

    if fits(start):
        return None
    for k in allowed:
        if fits(k):
            return Cut(start, k)
    return Cut(start, allowed[-1])


def user_words(messages: Sequence[Message]) -> tuple[str, ...]:
    """The text the user typed in these messages, verbatim (tool results are not the user's)."""
    return tuple(
        b.text for m in messages if m.role == "user" for b in m.content if isinstance(b, TextBlock) and b.text
    )


def tool_call_count(messages: Sequence[Message]) -> int:
    return sum(len(m.tool_uses()) for m in messages)


def stage_for(kind: StageKind, text: str, removed: Sequence[Message]) -> Stage:
    return Stage(
        kind=kind,
        text=text,
        user_messages=user_words(removed),
        messages=len(removed),
        tool_calls=tool_call_count(removed),
    )


def snip_note(removed: Sequence[Message], root: Path, *, max_examples: int = 6, max_said: int = 12) -> str:
    """What a snip removed, mechanically: the tool calls by name with examples, and the first line
    of what the assistant said, so the model keeps a trace of the work without a model call."""
    calls = [b for m in removed for b in m.tool_uses()]
    lines: list[str] = []
    if calls:
        by_name = Counter(c.name for c in calls)
        lines.append(f"{len(calls)} tool call(s) and their results were removed:")
        for name, count in by_name.most_common():
            examples = _examples([c for c in calls if c.name == name], root, max_examples)
            lines.append(f"- {name} ×{count}: {examples}")
    said = [
        first
        for m in removed
        if m.role == "assistant"
        for b in m.content
        if isinstance(b, TextBlock) and (first := b.text.strip().splitlines()[0:1])
    ]
    if said:
        lines.append("What the assistant said in that part (first lines):")
        lines += [f"- {s[0][:200]}" for s in said[-max_said:]]
    return "\n".join(lines) or "Messages without tool calls were removed."


def _examples(calls: Sequence[ToolUseBlock], root: Path, limit: int) -> str:
    seen: list[str] = []
    for call in reversed(calls):
        text = describe(call, root).split(" ", 1)[-1]
        if text not in seen:
            seen.append(text)
        if len(seen) == limit:
            break
    more = len({describe(c, root) for c in calls}) - len(seen)
    return ", ".join(seen) + (f", and {more} more" if more > 0 else "")


def touched_files(removed: Sequence[Message], root: Path) -> dict[str, bool]:
    """Files read or edited in these messages (path → edited), from calls that succeeded."""
    out: dict[str, bool] = {}
    for c in paired_calls(removed):
        path = input_path(c.call, root)
        if path is None or c.result.is_error or c.name not in ("Read", "Edit", "Write"):
            continue
        out[path] = out.get(path, False) or c.name != "Read"
    return out


def merged_files(previous: Base | None, touched: dict[str, bool], limit: int = 60) -> dict[str, bool]:
    """The files a new head lists: the previous head's and the newly removed part's, newest last."""
    files = {n.path: n.edited for n in previous.files} if previous else {}
    for path, edited in touched.items():
        files[path] = files.pop(path, False) or edited
    return dict(list(files.items())[-limit:])


def file_notes(files: dict[str, bool], changed: dict[str, bool | None]) -> tuple[FileNote, ...]:
    return tuple(
        FileNote(path=path, edited=edited, changed_since=changed.get(path)) for path, edited in files.items()
    )

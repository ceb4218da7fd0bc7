"""Tier 1, micro-compaction: tool results the model no longer needs become one-line markers.

No model call. Two kinds of result go:
- *stale* ones: a Read of a file that was edited or read again later, a Grep/Glob/Bash call run
  again later with the same input (the later result is the current one);
- past the fill threshold, *old* ones: every result except the latest exchange (which the model
  has not seen yet) and the `keep_recent` most recent others.
A marker says what was there and how to get it back. Clearing changes an old block, and every
change invalidates the prompt cache from that block on, so clearing happens in batches: only
past the threshold, and only when it frees at least `min_reclaim` tokens at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path

from agentls.core.context.tokens import block_tokens
from agentls.core.context.tool_calls import (
    CallKeys,
    PairedCall,
    canonical_input,
    display,
    input_path,
    short,
)
from agentls.core.messages import Message, ToolResultBlock

MARKER_PREFIX = "[Cleared by agentls to save context"
FILE_EDITORS = frozenset({"Edit", "Write"})
SEARCHES = frozenset({"Grep", "Glob"})
MIN_RESULT_TOKENS = 60
"""Results smaller than this stay: a marker would save next to nothing and still cost a cache write."""


def clearable_tokens(block: ToolResultBlock) -> int:
    """A result's tokens if it is big enough to be worth a marker, else 0."""
    size = block_tokens(block)
    return size if size >= MIN_RESULT_TOKENS else 0


@dataclass(frozen=True)
class MicroPolicy:
    trigger: int
    """Fill level (tokens) from which results are cleared."""
    min_reclaim: int
    """Clear only if at least this many tokens go at once."""
    keep_recent: int = 3
    """Results kept whole besides the latest exchange's."""


@dataclass(frozen=True)
class MicroEdit:
    markers: dict[str, str] = field(default_factory=dict)
    """tool_use id → the marker that replaces its result."""
    reclaimed: int = 0
    stale: int = 0
    old: int = 0


def microcompact(
    messages: Sequence[Message],
    calls: Sequence[PairedCall],
    *,
    cleared: Set[str],
    fill: int,
    policy: MicroPolicy,
    root: Path,
    tokens: Callable[[ToolResultBlock], int],
    keys: CallKeys | None = None,
) -> MicroEdit | None:
    """What to clear now, or None. `calls` are `paired_calls(messages)`; `cleared` the ids cleared before."""
    if fill < policy.trigger or not messages:
        return None
    last = len(messages) - 1
    live = [c for c in calls if c.id not in cleared and c.message_index != last]
    stale = _stale_reasons(calls, keys or CallKeys(root))
    recent = {c.id for c in [c for c in live if c.id not in stale][-policy.keep_recent :]}
    if policy.keep_recent <= 0:
        recent = set()
    markers: dict[str, str] = {}
    reclaimed = n_stale = 0
    for c in live:
        size = tokens(c.result)
        if size < MIN_RESULT_TOKENS:
            continue
        if c.id in stale:
            markers[c.id] = stale[c.id]
            n_stale += 1
        elif c.id not in recent:
            markers[c.id] = old_marker(c, root)
        else:
            continue
        reclaimed += size - _marker_tokens(markers[c.id])
    if reclaimed < policy.min_reclaim:
        return None
    return MicroEdit(markers, reclaimed, stale=n_stale, old=len(markers) - n_stale)


def apply_markers(messages: Sequence[Message], markers: Mapping[str, str]) -> list[Message]:
    """`messages` with the results of the given calls replaced by their markers (same ids, so every
    tool_use still has its tool_result). Messages without a change are the same objects."""
    if not markers:
        return list(messages)
    out: list[Message] = []
    for message in messages:
        hits = [b for b in message.content if isinstance(b, ToolResultBlock) and b.tool_use_id in markers]
        if not hits:
            out.append(message)
            continue
        content = tuple(
            ToolResultBlock(tool_use_id=b.tool_use_id, content=markers[b.tool_use_id], is_error=b.is_error)
            if isinstance(b, ToolResultBlock) and b.tool_use_id in markers
            else b
            for b in message.content
        )
        out.append(Message(role=message.role, content=content))
    return out


def old_marker(c: PairedCall, root: Path) -> str:
    lines = c.result.content.count("\n") + 1
    size = f"{lines} line{'s' if lines != 1 else ''}"
    path = input_path(c.call, root)
    if c.name == "Read" and path is not None:
        what, again = (
            f"the content of {display(path, root)} ({size}) that Read returned here",
            "Read the file again",
        )
    elif c.name in SEARCHES:
        what = f"the {c.name} results ({size}) for {short(canonical_input(c.call), 160)}"
        again = "Search again"
    elif c.name == "Bash":
        what = f"the output ({size}) of `{short(c.call.input.get('command', ''), 200)}`"
        return _marker(what, "Run the command again only if that is safe to repeat.")
    else:
        what = f"the result ({size}) of {c.name} {short(canonical_input(c.call), 160)}"
        again = "Call it again"
    return _marker(what, f"{again} if you need it.")


def _marker(what: str, advice: str) -> str:
    return f"{MARKER_PREFIX}: {what}. {advice}]"


def _stale_reasons(calls: Sequence[PairedCall], keys: CallKeys) -> dict[str, str]:
    """Results superseded by a later call, with the marker that says so."""
    edited_later: set[str] = set()
    read_whole_later: set[str] = set()
    read_same_later: set[tuple[str, object, object]] = set()
    same_call_later: set[tuple[str, str]] = set()
    out: dict[str, str] = {}
    for c in reversed(calls):
        ok = not c.result.is_error
        path, canonical = keys.of(c.call)
        if c.name in FILE_EDITORS and path is not None:
            if ok:
                edited_later.add(path)
            continue
        if c.name == "Read" and path is not None:
            window = (path, c.call.input.get("offset"), c.call.input.get("limit"))
            if path in edited_later:
                where = display(path, keys.root)
                out[c.id] = _marker(
                    f"this Read of {where}, out of date: the file was changed later in this conversation",
                    "Read it again for its current content.",
                )
            elif path in read_whole_later or window in read_same_later:
                where = display(path, keys.root)
                again = "The file was read again later; that Read is current."
                out[c.id] = _marker(f"this Read of {where}", again)
            if ok:
                read_same_later.add(window)
                if window[1] is None and window[2] is None:
                    read_whole_later.add(path)
            continue
        key = (c.name, canonical)
        if key in same_call_later:
            what = "command" if c.name == "Bash" else "call"
            again = f"The same {what} ran again later; that result is current."
            out[c.id] = _marker(f"this {c.name} result", again)
        same_call_later.add(key)
    return out


def _marker_tokens(marker: str) -> int:
    return len(marker) // 3 + 4

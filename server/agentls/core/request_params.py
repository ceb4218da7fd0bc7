"""Turn a `ModelRequest` into the keyword arguments of `messages.create`.

Pure and SDK-free, so the request the adapter sends can be tested without the SDK or a network.
It places the prompt-cache breakpoints the request asks for: one after each system block marked
`cache=True`, and one at each of `cache_points` in the messages. The API accepts at most
`MAX_CACHE_BREAKPOINTS`; when there would be more, the last message's breakpoint is kept first
(it caches everything before it), then the newest system breakpoints, then the other message
breakpoints, newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentls.core.messages import Message, PerMessage, to_api
from agentls.core.model import ModelRequest

MAX_CACHE_BREAKPOINTS = 4
"""The Messages API rejects a request with more `cache_control` blocks than this."""

CACHEABLE_BLOCK_TYPES = frozenset({"text", "tool_use", "tool_result"})
"""Block types that may carry `cache_control` (thinking blocks may not)."""

_EPHEMERAL: dict[str, str] = {"type": "ephemeral"}


def to_api_params(request: ModelRequest) -> dict[str, Any]:
    """The `messages.create` kwargs (without `stream`) for `request`.

    Raises `ValueError` when thinking is enabled and `max_tokens` does not exceed its budget.
    """
    budget = request.thinking.budget_tokens if request.thinking is not None else None
    if budget is not None and request.max_tokens <= budget:
        raise ValueError(
            f"max_tokens ({request.max_tokens}) must be greater than the thinking budget ({budget})"
        )

    messages = _api_dicts(request.messages)
    points = _resolve_points(messages, request.cache_points)
    cached_system = [i for i, block in enumerate(request.system) if block.cache]
    tail = [p for p in points if p[0] == len(messages) - 1]
    ranked: list[tuple[str, int, int]] = [
        *(("m", *p) for p in tail),
        *(("s", i, 0) for i in reversed(cached_system)),
        *(("m", *p) for p in reversed(points) if p not in tail),
    ]
    chosen = ranked[:MAX_CACHE_BREAKPOINTS]
    keep = {i for kind, i, _ in chosen if kind == "s"}
    for kind, mi, bi in chosen:
        if kind == "m":
            # The dicts are shared with earlier requests: copy what gets the marker.
            message = messages[mi] = {**messages[mi], "content": list(messages[mi]["content"])}
            message["content"][bi] = {**message["content"][bi], "cache_control": dict(_EPHEMERAL)}
    system: list[dict[str, Any]] = []
    for i, block in enumerate(request.system):
        entry: dict[str, Any] = {"type": "text", "text": block.text}
        if i in keep:
            entry["cache_control"] = dict(_EPHEMERAL)
        system.append(entry)

    params: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": messages,
    }
    if system:
        params["system"] = system
    if request.tools:
        params["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.input_schema}
            for t in request.tools
        ]
    if request.thinking is not None:
        params["thinking"] = (
            {"type": "adaptive"} if budget is None else {"type": "enabled", "budget_tokens": budget}
        )
    return params


_API_DICTS: PerMessage[dict[str, Any]] = PerMessage(to_api)
"""The API form of each message, made once (shared: `to_api_params` copies what it marks)."""


def _api_dicts(messages: Sequence[Message]) -> list[dict[str, Any]]:
    out = [_API_DICTS.of(m) for m in messages]
    if len(_API_DICTS) > 2 * len(messages) + 64:  # Messages no longer sent go, now and then.
        _API_DICTS.forget_all_but(messages)
    return out


def count_cache_breakpoints(params: dict[str, Any]) -> int:
    """How many `cache_control` markers a request carries (system, tools and message blocks)."""
    blocks: list[Any] = []
    system = params.get("system")
    if isinstance(system, list):
        blocks.extend(system)
    blocks.extend(params.get("tools") or [])
    for message in params.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            blocks.extend(content)
    return sum(1 for b in blocks if isinstance(b, dict) and "cache_control" in b)


def _resolve_points(
    messages: list[dict[str, Any]], wanted: tuple[tuple[int, int], ...]
) -> list[tuple[int, int]]:
    """The (message, block) positions that get a breakpoint, in message order, without duplicates:
    each wanted point moved back to the nearest block of its message that can carry one."""
    found: set[tuple[int, int]] = set()
    n = len(messages)
    for mi, bi in wanted:
        mi = mi + n if mi < 0 else mi
        if not 0 <= mi < n:
            continue
        content: list[dict[str, Any]] = messages[mi]["content"]
        bi = bi + len(content) if bi < 0 else min(bi, len(content) - 1)
        for j in range(bi, -1, -1):
            if content[j].get("type") in CACHEABLE_BLOCK_TYPES:
                found.add((mi, j))
                break
    return sorted(found)

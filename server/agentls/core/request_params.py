"""Turn a `ModelRequest` into the keyword arguments of `messages.create`.

Pure and SDK-free, so the request the adapter sends can be tested without the SDK or a network.
It owns the prompt-cache layout: a breakpoint after each system block marked `cache=True`, and a
moving breakpoint on the last cacheable block of the last message. The API accepts at most
`MAX_CACHE_BREAKPOINTS`; when there would be more, the oldest system breakpoints are dropped first
(the message breakpoint reads everything before it from cache anyway).
"""

from __future__ import annotations

from typing import Any

from agentls.core.messages import to_api
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

    messages = [to_api(m) for m in request.messages]
    message_marker = _mark_last_message(messages) if request.cache_last_message else False

    system_budget = MAX_CACHE_BREAKPOINTS - (1 if message_marker else 0)
    cached_system = [i for i, block in enumerate(request.system) if block.cache]
    # Keep the newest system breakpoints: each one caches everything before it too.
    keep = set(cached_system[len(cached_system) - system_budget :]) if system_budget > 0 else set()
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


def _mark_last_message(messages: list[dict[str, Any]]) -> bool:
    """Put a breakpoint on the last cacheable block of the last message; False if there is none."""
    if not messages:
        return False
    content: list[dict[str, Any]] = messages[-1]["content"]
    for block in reversed(content):
        if block.get("type") in CACHEABLE_BLOCK_TYPES:
            block["cache_control"] = dict(_EPHEMERAL)
            return True
    return False

"""Request validation: reject what the real Messages API would reject, with its kind of message.

Independent of `agentls.core.request_params` on purpose: the fake checks the adapter's output,
so it must not reuse the adapter's own rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.fakeapi.tokens import request_blocks

MAX_CACHE_CONTROL = 4
CACHE_TTLS = ("5m", "1h")
TOOL_CHOICE_FIELDS = {
    "auto": {"type", "disable_parallel_tool_use"},
    "any": {"type", "disable_parallel_tool_use"},
    "tool": {"type", "name", "disable_parallel_tool_use"},
    "none": {"type"},
}
BLOCK_TYPES = {"text", "image", "document", "thinking", "redacted_thinking", "tool_use", "tool_result"}

Rejection = tuple[int, str, str]
"""HTTP status, API error type, message."""


def validate_request(body: Any, headers: Mapping[str, str]) -> Rejection | None:
    """None if the request is acceptable; otherwise how the API would refuse it."""
    if not headers.get("x-api-key") and not headers.get("authorization"):
        return 401, "authentication_error", "x-api-key header is required"
    problem = _check_body(body)
    return None if problem is None else (400, "invalid_request_error", problem)


def _check_body(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "the request body must be a JSON object"
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            return f"{name}: Field required"
    if not isinstance(body["model"], str) or not body["model"]:
        return "model: Input should be a non-empty string"
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        return "max_tokens: Input should be a positive integer"
    if body.get("stream") is not True:
        return "stream: the fake Messages API only serves streaming requests (stream=true)"
    return (
        _check_system(body.get("system"))
        or _check_messages(body["messages"])
        or _check_thinking(body)
        or _check_tool_choice(body)
        or _check_cache(body)
    )


def _check_system(system: Any) -> str | None:
    if system is None or isinstance(system, str):
        return None
    if not isinstance(system, list):
        return "system: Input should be a string or a list of text blocks"
    for k, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text" or not block.get("text"):
            return f"system.{k}: system blocks must be non-empty text blocks"
    return None


def _blocks(content: Any) -> list[Any]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _check_messages(messages: Any) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    previous_role: str | None = None
    pending: list[str] = []  # tool_use ids of the previous assistant message
    for n, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            return f"messages.{n}.role: Input should be 'user' or 'assistant'"
        if n == 0 and role != "user":
            return 'messages: the first message must use the "user" role'
        if role == previous_role:
            return (
                'messages: roles must alternate between "user" and "assistant", '
                f'but found multiple "{role}" roles in a row'
            )
        blocks = _blocks(message.get("content"))
        if not isinstance(blocks, list) or not blocks:
            return f"messages.{n}.content: at least one content block is required"
        for k, block in enumerate(blocks):
            kind = block.get("type") if isinstance(block, dict) else None
            if kind not in BLOCK_TYPES:
                return f"messages.{n}.content.{k}: unknown content block type {kind!r}"
            if kind == "text" and not block.get("text"):
                return f"messages.{n}.content.{k}: text content blocks must be non-empty"
            if kind in ("thinking", "redacted_thinking") and "cache_control" in block:
                return f"messages.{n}.content.{k}: cache_control cannot be set on {kind} blocks"
        if role == "assistant":
            if any(b.get("type") == "tool_result" for b in blocks):
                return f"messages.{n}.content: tool_result blocks can only appear in user messages"
            pending = [b.get("id") for b in blocks if b.get("type") == "tool_use"]
            if len(set(pending)) != len(pending):
                return f"messages.{n}.content: `tool_use` ids must be unique"
        else:
            leading: list[str] = []
            for block in blocks:
                if block.get("type") != "tool_result":
                    break
                leading.append(block.get("tool_use_id"))
            missing = [i for i in pending if i not in leading]
            if missing:
                return _unanswered(n - 1, missing)
            for k, block in enumerate(blocks):
                if block.get("type") == "tool_result" and block.get("tool_use_id") not in pending:
                    return (
                        f"messages.{n}.content.{k}: unexpected `tool_use_id` found in `tool_result` blocks: "
                        f"{block.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                        "`tool_use` block in the previous message."
                    )
            pending = []
        previous_role = role
    return _unanswered(len(messages) - 1, pending) if pending else None


def _unanswered(n: int, ids: list[str]) -> str:
    return (
        f"messages.{n}: `tool_use` ids were found without `tool_result` blocks immediately after: "
        f"{', '.join(ids)}. Each `tool_use` block must have a corresponding `tool_result` block in the "
        "next message."
    )


def _check_thinking(body: dict[str, Any]) -> str | None:
    thinking = body.get("thinking")
    if thinking is None:
        return None
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "disabled", "adaptive"):
        return "thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'"
    if thinking["type"] != "enabled":
        return None
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int) or budget < 1024:
        return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
    if budget >= body["max_tokens"]:
        return "`max_tokens` must be greater than `thinking.budget_tokens`"
    return None


def _check_cache(body: dict[str, Any]) -> str | None:
    """At most four breakpoints, each `ephemeral` with a known TTL, and no 1h one after a 5m one
    (tools, then system, then messages): a longer-lived prefix must not end after a shorter one."""
    controls = [block["cache_control"] for _, block in request_blocks(body) if _has_cache_control(block)]
    found = len(controls)
    if found > MAX_CACHE_CONTROL:
        return f"A maximum of {MAX_CACHE_CONTROL} blocks with cache_control may be provided. Found {found}."
    seen_short = False
    for control in controls:
        if not isinstance(control, dict) or control.get("type") != "ephemeral":
            return "cache_control.type: Input should be 'ephemeral'"
        ttl = control.get("ttl", "5m")
        if ttl not in CACHE_TTLS:
            return "cache_control.ttl: Input should be '5m' or '1h'"
        if ttl == "1h" and seen_short:
            return (
                "a cache_control block with ttl='1h' cannot come after one with ttl='5m': "
                "cache_control blocks with longer TTLs must come before those with shorter TTLs "
                "(in the order tools, system, messages)"
            )
        seen_short = seen_short or ttl == "5m"
    return None


def _has_cache_control(block: Any) -> bool:
    return isinstance(block, dict) and "cache_control" in block


def _check_tool_choice(body: dict[str, Any]) -> str | None:
    """`auto`, `any`, `none`, or `tool` naming one of `tools`; forcing a tool is not allowed with
    thinking on."""
    choice = body.get("tool_choice")
    if choice is None:
        return None
    kind = choice.get("type") if isinstance(choice, dict) else None
    if not isinstance(kind, str) or kind not in TOOL_CHOICE_FIELDS:
        return "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"
    extra = sorted(set(choice) - TOOL_CHOICE_FIELDS[kind])
    if extra:
        return f"tool_choice.{kind}.{extra[0]}: Extra inputs are not permitted"
    if "disable_parallel_tool_use" in choice and not isinstance(choice["disable_parallel_tool_use"], bool):
        return f"tool_choice.{kind}.disable_parallel_tool_use: Input should be a valid boolean"
    if kind == "tool":
        names = [
            t.get("name") for where, t in request_blocks(body) if where == "tool" and isinstance(t, dict)
        ]
        if not isinstance(choice.get("name"), str):
            return "tool_choice.tool.name: Field required"
        if choice["name"] not in names:
            return f"tool_choice: tool '{choice['name']}' not found in the tools of this request"
    thinking = body.get("thinking")
    if kind in ("any", "tool") and isinstance(thinking, dict) and thinking.get("type") != "disabled":
        return "Thinking may not be enabled when tool_choice forces tool use."
    return None

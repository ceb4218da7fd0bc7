"""`to_api_params`: the request the adapter sends, cache breakpoints included."""

from __future__ import annotations

from typing import Any

import pytest

from agentls.core.messages import (
    Message,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    user_text,
)
from agentls.core.model import ModelRequest, SystemBlock, ThinkingConfig, ToolSpec
from agentls.core.request_params import MAX_CACHE_BREAKPOINTS, count_cache_breakpoints, to_api_params

CACHE = {"type": "ephemeral"}


def request(**kwargs: Any) -> ModelRequest:
    fields: dict[str, Any] = {"model": "claude-test", "system": (), "messages": (user_text("hi"),)}
    fields.update(kwargs)
    return ModelRequest(**fields)


def test_basic_shape() -> None:
    tool = ToolSpec(name="read_file", description="Read a file", input_schema={"type": "object"})
    params = to_api_params(
        request(
            system=(SystemBlock(text="one"), SystemBlock(text="two", cache=True)),
            tools=(tool,),
            max_tokens=900,
        )
    )
    assert params["model"] == "claude-test"
    assert params["max_tokens"] == 900
    assert params["system"] == [
        {"type": "text", "text": "one"},
        {"type": "text", "text": "two", "cache_control": CACHE},
    ]
    assert params["tools"] == [
        {"name": "read_file", "description": "Read a file", "input_schema": {"type": "object"}}
    ]
    assert params["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": CACHE}]},
    ]
    assert "thinking" not in params
    assert "stream" not in params


def test_empty_system_and_tools_are_left_out() -> None:
    params = to_api_params(request(cache_points=()))
    assert "system" not in params
    assert "tools" not in params
    assert count_cache_breakpoints(params) == 0


def test_thinking_config() -> None:
    params = to_api_params(request(thinking=ThinkingConfig(budget_tokens=2048), max_tokens=4096))
    assert params["thinking"] == {"type": "enabled", "budget_tokens": 2048}


@pytest.mark.parametrize("max_tokens", [2048, 1500])
def test_thinking_budget_must_be_below_max_tokens(max_tokens: int) -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        to_api_params(request(thinking=ThinkingConfig(budget_tokens=2048), max_tokens=max_tokens))


def conversation(last: Message) -> tuple[Message, ...]:
    call = ToolUseBlock(id="toolu_1", name="read_file", input={"path": "a.py"})
    return (
        user_text("read a.py"),
        Message(role="assistant", content=(ThinkingBlock(thinking="hm", signature="s"), call)),
        last,
    )


def test_last_message_marker_goes_on_its_last_cacheable_block() -> None:
    last = Message(
        role="user",
        content=(ToolResultBlock(tool_use_id="toolu_1", content="x = 1"), TextBlock(text="and now?")),
    )
    params = to_api_params(request(messages=conversation(last)))
    messages = params["messages"]
    assert messages[-1]["content"][1] == {"type": "text", "text": "and now?", "cache_control": CACHE}
    assert "cache_control" not in messages[-1]["content"][0]
    assert count_cache_breakpoints(params) == 1
    # Earlier messages are never marked.
    assert all("cache_control" not in b for m in messages[:-1] for b in m["content"])


def test_thinking_blocks_never_get_the_marker() -> None:
    last = Message(
        role="assistant",
        content=(
            TextBlock(text="partial"),
            ThinkingBlock(thinking="more", signature="s"),
            RedactedThinkingBlock(data="xx"),
        ),
    )
    messages = to_api_params(request(messages=(user_text("hi"), last)))["messages"]
    assert messages[-1]["content"][0]["cache_control"] == CACHE
    assert "cache_control" not in messages[-1]["content"][1]
    assert "cache_control" not in messages[-1]["content"][2]


def test_no_marker_when_the_last_message_has_no_cacheable_block() -> None:
    last = Message(role="assistant", content=(ThinkingBlock(thinking="only thinking", signature="s"),))
    params = to_api_params(request(messages=(user_text("hi"), last)))
    assert count_cache_breakpoints(params) == 0


def test_tool_use_block_can_carry_the_marker() -> None:
    last = Message(role="assistant", content=(ToolUseBlock(id="toolu_9", name="ls", input={}),))
    params = to_api_params(request(messages=(user_text("hi"), last)))
    assert params["messages"][-1]["content"][0]["cache_control"] == CACHE


def test_no_message_breakpoints() -> None:
    params = to_api_params(request(system=(SystemBlock(text="s", cache=True),), cache_points=()))
    assert count_cache_breakpoints(params) == 1
    assert "cache_control" not in params["messages"][0]["content"][0]


def test_never_more_than_four_breakpoints_oldest_system_ones_dropped() -> None:
    system = tuple(SystemBlock(text=f"s{i}", cache=True) for i in range(6))
    params = to_api_params(request(system=system))
    assert count_cache_breakpoints(params) == MAX_CACHE_BREAKPOINTS
    marked = [b["text"] for b in params["system"] if "cache_control" in b]
    assert marked == ["s3", "s4", "s5"]
    assert params["messages"][-1]["content"][-1]["cache_control"] == CACHE


def test_four_system_breakpoints_kept_when_the_message_has_none() -> None:
    system = tuple(SystemBlock(text=f"s{i}", cache=True) for i in range(4))
    params = to_api_params(request(system=system, cache_points=()))
    assert [("cache_control" in b) for b in params["system"]] == [True] * 4


def test_request_is_not_mutated() -> None:
    req = request(system=(SystemBlock(text="s", cache=True),))
    first = to_api_params(req)
    second = to_api_params(req)
    assert first == second
    assert first["messages"][0]["content"][0] is not second["messages"][0]["content"][0]


def test_adaptive_thinking_has_no_budget() -> None:
    params = to_api_params(request(thinking=ThinkingConfig(type="adaptive"), max_tokens=1000))
    assert params["thinking"] == {"type": "adaptive"}


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "enabled"},
        {"type": "adaptive", "budget_tokens": 2048},
        {"type": "enabled", "budget_tokens": 10},
    ],
)
def test_thinking_config_is_validated(bad: dict[str, Any]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ThinkingConfig(**bad)

"""`AnthropicModel` through the real SDK against the fake Messages API over loopback."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest

from agentls.core.anthropic_model import DEFAULT_MODEL, AnthropicModel
from agentls.core.errors import ModelError
from agentls.core.messages import Message, TextBlock, ToolUseBlock, user_text
from agentls.core.model import (
    InputJsonDelta,
    MessageDelta,
    MessageStart,
    MessageStop,
    ModelRequest,
    RedactedThinking,
    StreamEvent,
    SystemBlock,
    TextDelta,
    ThinkingConfig,
    TokenUsage,
    ToolSpec,
    ToolUseStart,
)
from agentls.core.scripted import reply_events
from tests.fakeapi import (
    Delay,
    DropConnection,
    FakeMessagesAPI,
    HttpError,
    MalformedEvent,
    RawStream,
    Reply,
    Step,
    StreamError,
    Text,
    Thinking,
    ToolCall,
    count_reply_tokens,
    count_request_tokens,
)

MODEL = "claude-sonnet-5-5"
REQUEST = ModelRequest(model=MODEL, system=(SystemBlock(text="You are terse."),), messages=(user_text("hi"),))


@pytest.fixture
def fake() -> Iterator[FakeMessagesAPI]:
    with FakeMessagesAPI() as api:
        yield api


@pytest.fixture
async def model(fake: FakeMessagesAPI) -> AsyncIterator[AnthropicModel]:
    m = AnthropicModel(MODEL, api_key="test-key", base_url=fake.base_url)
    yield m
    await m.aclose()


async def collect(model: AnthropicModel, request: ModelRequest = REQUEST) -> list[StreamEvent]:
    return [event async for event in model.stream(request)]


async def collect_until_error(model: AnthropicModel) -> tuple[list[StreamEvent], ModelError]:
    events: list[StreamEvent] = []
    with pytest.raises(ModelError) as info:
        async for event in model.stream(REQUEST):
            events.append(event)
    return events, info.value


async def test_events_arrive_converted_and_in_order(fake: FakeMessagesAPI, model: AnthropicModel) -> None:
    reply = Reply(
        [
            Thinking("Let me look at the file first."),
            Text("Reading it now."),
            ToolCall("read_file", {"path": "a.py"}),
        ],
        chunk_size=7,
    )
    fake.add(reply)
    events = await collect(model)
    # The fake computes the usage: every input token is fresh (no breakpoint), output is the content.
    usage = TokenUsage(
        input_tokens=count_request_tokens(fake.requests[0]), output_tokens=count_reply_tokens(reply)
    )
    assert events == reply_events(replace(reply, usage=usage), 0, MODEL)
    assert [e.kind for e in events[:3]] == ["message_start", "thinking_start", "thinking_delta"]
    assert isinstance(events[-1], MessageStop)
    fake.assert_consumed()


async def test_input_json_deltas_reassemble(fake: FakeMessagesAPI, model: AnthropicModel) -> None:
    tool_input = {"path": "src/app.py", "edits": [{"old": "a", "new": "b" * 40}], "dry_run": False}
    fake.add(Reply([ToolCall("edit_file", tool_input, id="toolu_x")], chunk_size=5))
    events = await collect(model)
    start = next(e for e in events if isinstance(e, ToolUseStart))
    assert (start.id, start.name) == ("toolu_x", "edit_file")
    parts = [e.partial_json for e in events if isinstance(e, InputJsonDelta)]
    assert len(parts) > 5
    assert json.loads("".join(parts)) == tool_input
    delta = next(e for e in events if isinstance(e, MessageDelta))
    assert delta.stop_reason == "tool_use"


async def test_block_stop_arrives_while_the_server_still_sleeps(
    fake: FakeMessagesAPI, model: AnthropicModel
) -> None:
    fake.add(Reply([ToolCall("run_tests", {})], delay_before_stop_s=0.5))
    times: dict[str, float] = {}
    async for event in model.stream(REQUEST):
        times.setdefault(event.kind, time.monotonic())
    assert times["message_stop"] - times["block_stop"] >= 0.4


async def test_the_first_event_arrives_before_the_last_is_written(
    fake: FakeMessagesAPI, model: AnthropicModel
) -> None:
    fake.add(Delay(Reply([Text("one two three")], chunk_size=4), event_delay_s=0.1))
    times: list[float] = []
    async for _ in model.stream(REQUEST):
        times.append(time.monotonic())
    assert times[-1] - times[0] >= 0.4


async def test_message_start_carries_usage() -> None:
    usage = TokenUsage(
        input_tokens=7,
        output_tokens=3,
        cache_read_input_tokens=500,
        cache_creation_input_tokens=9,
        cache_creation_1h_input_tokens=4,
    )
    # Exact scripted numbers, so every field is seen to survive the wire and the SDK.
    with FakeMessagesAPI([Reply([Text("ok")], usage=usage)], simulate_usage=False) as fake:
        model = AnthropicModel(MODEL, api_key="test-key", base_url=fake.base_url)
        try:
            events = await collect(model)
        finally:
            await model.aclose()
    start, delta = events[0], next(e for e in events if isinstance(e, MessageDelta))
    assert isinstance(start, MessageStart)
    assert (start.message_id, start.model) == ("msg_00", MODEL)
    assert start.usage == TokenUsage(
        input_tokens=7,
        cache_read_input_tokens=500,
        cache_creation_input_tokens=9,
        cache_creation_1h_input_tokens=4,
    )
    assert delta.usage.output_tokens == 3


FAULTS: list[tuple[Step, str, bool, int | None, float | None]] = [
    (HttpError.rate_limited(7), "rate_limited", True, 429, 7.0),
    (HttpError.rate_limited(retry_after_ms=1500), "rate_limited", True, 429, 1.5),
    (HttpError.rate_limited(), "rate_limited", True, 429, None),
    (
        HttpError(429, "rate_limit_error", "Spend limit", error_code="enforced_spend_limit_reached"),
        "rate_limited",
        False,
        429,
        None,
    ),
    (HttpError.overloaded(), "overloaded", True, 529, None),
    (StreamError(3), "overloaded", True, None, None),
    (StreamError(2, "api_error", "Internal server error"), "api", True, None, None),
    (HttpError.server_error(500), "api", True, 500, None),
    (HttpError.server_error(502), "api", True, 502, None),
    (HttpError.server_error(503), "api", True, 503, None),
    (HttpError.server_error(504), "api", True, 504, None),
    (HttpError.unauthorized(), "authentication", False, 401, None),
    (HttpError.forbidden(), "authentication", False, 403, None),
    (HttpError.prompt_too_long(), "context_overflow", False, 400, None),
    (HttpError.invalid_request("messages.0: nope"), "invalid_request", False, 400, None),
    (HttpError(404, "not_found_error", "model: claude-nope"), "invalid_request", False, 404, None),
    (DropConnection(4), "connection", True, None, None),
    (DropConnection(0), "connection", True, None, None),
    (MalformedEvent(3), "connection", True, None, None),
    (
        MalformedEvent(2, data=b'{"type": "content_block_delta", "text": "\xff\xfe"}'),
        "connection",
        True,
        None,
        None,
    ),
    (MalformedEvent(0, data=b"[1, 2"), "connection", True, None, None),
]


@pytest.mark.parametrize(("step", "kind", "retryable", "status", "retry_after_s"), FAULTS)
async def test_faults_map_to_error_causes(
    fake: FakeMessagesAPI,
    model: AnthropicModel,
    step: Step,
    kind: str,
    retryable: bool,
    status: int | None,
    retry_after_s: float | None,
) -> None:
    fake.add(step)
    events, error = await collect_until_error(model)
    cause = error.cause
    assert (cause.kind, cause.retryable, cause.status, cause.retry_after_s) == (
        kind,
        retryable,
        status,
        retry_after_s,
    )
    assert "Traceback" not in cause.message
    if isinstance(step, HttpError):
        assert step.message in cause.message
        assert events == []
    if isinstance(step, DropConnection | StreamError | MalformedEvent):
        assert len(events) == step.after_events
    if kind == "connection":
        assert fake.base_url in cause.message
    fake.assert_consumed()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_connection_refused_names_the_base_url() -> None:
    base_url = f"http://127.0.0.1:{free_port()}"
    model = AnthropicModel(MODEL, api_key="test-key", base_url=base_url)
    try:
        _, error = await collect_until_error(model)
    finally:
        await model.aclose()
    assert error.cause.kind == "connection"
    assert error.cause.retryable
    assert error.cause.message.startswith(f"could not reach the API at {base_url}: ")


async def test_base_url_defaults_to_the_environment() -> None:
    model = AnthropicModel(MODEL, api_key="test-key")  # conftest points ANTHROPIC_BASE_URL at port 9.
    assert model.base_url == "http://127.0.0.1:9"
    try:
        _, error = await collect_until_error(model)
    finally:
        await model.aclose()
    assert error.cause.kind == "connection"
    assert "http://127.0.0.1:9" in error.cause.message


@pytest.mark.parametrize(
    ("step", "says"),
    [
        (Delay(Reply([Text("late")]), before_s=2.0), "timed out waiting for the API at {url}"),
        (Reply([Text("x")], delay_before_stop_s=2.0), "the response stream from {url} stalled"),
    ],
)
async def test_timeouts_are_connection_errors(fake: FakeMessagesAPI, step: Step, says: str) -> None:
    fake.add(step)
    model = AnthropicModel(MODEL, api_key="test-key", base_url=fake.base_url, idle_timeout_s=0.3)
    try:
        _, error = await collect_until_error(model)
    finally:
        await model.aclose()
    assert (error.cause.kind, error.cause.retryable) == ("connection", True)
    assert error.cause.message.startswith(says.format(url=fake.base_url))
    assert "no data for 0.3 s" in error.cause.message


async def test_no_key_fails_before_any_request(fake: FakeMessagesAPI) -> None:
    fake.add(Reply([Text("never sent")]))
    model = AnthropicModel(MODEL, base_url=fake.base_url)
    _, error = await collect_until_error(model)
    assert error.cause.kind == "authentication"
    assert not error.cause.retryable
    assert "ANTHROPIC_API_KEY" in error.cause.message
    assert fake.requests == []


async def test_keys_come_from_the_environment(fake: FakeMessagesAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.add(Reply([Text("a")]), Reply([Text("b")]))
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "token-from-env")
    by_token = AnthropicModel(MODEL, base_url=fake.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "key-from-env")
    by_key = AnthropicModel(MODEL, base_url=fake.base_url)
    for m in (by_token, by_key):
        await collect(m)
        await m.aclose()
    auth = [h.get("authorization", "") + h.get("x-api-key", "") for h in fake.request_headers]
    assert "token-from-env" in auth[0]
    assert "key-from-env" in auth[1]


async def test_closing_the_stream_early_closes_the_connection(
    fake: FakeMessagesAPI, model: AnthropicModel
) -> None:
    fake.add(Delay(Reply([Text("x" * 400)], chunk_size=4), event_delay_s=0.02))
    stream = model.stream(REQUEST)
    assert isinstance(stream, AsyncIterator)
    seen = [await anext(stream) for _ in range(3)]
    assert isinstance(seen[0], MessageStart)
    await stream.aclose()  # type: ignore[attr-defined]
    assert await asyncio.to_thread(fake.client_disconnected.wait, 5.0)


async def test_cancelling_the_consumer_closes_the_connection(
    fake: FakeMessagesAPI, model: AnthropicModel
) -> None:
    fake.add(Delay(Reply([Text("y" * 400)], chunk_size=4), event_delay_s=0.02))
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in model.stream(REQUEST):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(fake.client_disconnected.wait, 5.0)


async def test_the_fake_rejects_an_unanswered_tool_use(fake: FakeMessagesAPI, model: AnthropicModel) -> None:
    fake.add(Reply([Text("unused")]))
    call = ToolUseBlock(id="toolu_1", name="read_file", input={"path": "a.py"})
    messages = (user_text("read a.py"), Message(role="assistant", content=(call,)), user_text("well?"))
    request = ModelRequest(model=MODEL, system=(), messages=messages)
    with pytest.raises(ModelError) as info:
        await collect(model, request)
    assert (info.value.cause.kind, info.value.cause.status) == ("invalid_request", 400)
    assert "toolu_1" in info.value.cause.message
    assert fake.remaining == 1  # A rejected request takes no step.


async def test_request_body_carries_cache_markers_tools_and_thinking(
    fake: FakeMessagesAPI, model: AnthropicModel
) -> None:
    fake.add(Reply([Thinking("hmm"), Text("done")]))
    request = ModelRequest(
        model=MODEL,
        system=(SystemBlock(text="You are an agent.", cache=True), SystemBlock(text="Project notes.")),
        messages=(Message(role="user", content=(TextBlock(text="hello"),)),),
        tools=(
            ToolSpec(name="ls", description="List files", input_schema={"type": "object", "properties": {}}),
        ),
        max_tokens=4096,
        thinking=ThinkingConfig(budget_tokens=2048),
    )
    await collect(model, request)
    body = fake.requests[0]
    assert body["stream"] is True
    assert body["model"] == MODEL
    assert body["max_tokens"] == 4096
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["system"][1]
    assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert body["tools"] == [
        {"name": "ls", "description": "List files", "input_schema": request.tools[0].input_schema}
    ]


async def test_an_invalid_thinking_budget_fails_without_a_request(
    fake: FakeMessagesAPI, model: AnthropicModel
) -> None:
    request = REQUEST.model_copy(update={"thinking": ThinkingConfig(budget_tokens=4000), "max_tokens": 4000})
    with pytest.raises(ModelError) as info:
        await collect(model, request)
    assert info.value.cause.kind == "invalid_request"
    assert fake.requests == []


async def test_one_client_is_reused(fake: FakeMessagesAPI, model: AnthropicModel) -> None:
    fake.add(Reply([Text("a")]), Reply([Text("b")]))
    await collect(model)
    client = model._client
    await collect(model)
    assert model._client is client is not None


def message_start() -> tuple[str, dict[str, Any]]:
    message: dict[str, Any] = {
        "id": "msg_raw",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": MODEL,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1},
    }
    return "message_start", {"type": "message_start", "message": message}


def block_start(index: int, block: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}


def block_delta(index: int, delta: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}


def block_stop(index: int) -> tuple[str, dict[str, Any]]:
    return "content_block_stop", {"type": "content_block_stop", "index": index}


async def test_server_tool_blocks_and_unknown_shapes_are_skipped(
    fake: FakeMessagesAPI, model: AnthropicModel
) -> None:
    server_tool = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}
    search_result = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}
    citation = {
        "type": "char_location",
        "cited_text": "x",
        "document_index": 0,
        "start_char_index": 0,
        "end_char_index": 1,
        "document_title": None,
    }
    fake.add(
        RawStream(
            [
                message_start(),
                ("ping", {"type": "ping"}),
                block_start(0, server_tool),
                block_delta(0, {"type": "input_json_delta", "partial_json": '{"query": "x"}'}),
                block_stop(0),
                block_start(1, search_result),
                block_stop(1),
                block_start(2, {"type": "mystery_block", "payload": 1}),
                block_delta(2, {"type": "mystery_delta", "x": 1}),
                block_stop(2),
                block_start(3, {"type": "text", "text": ""}),
                block_delta(3, {"type": "text_delta", "text": "Found it."}),
                block_delta(3, {"type": "citations_delta", "citation": citation}),
                block_stop(3),
                block_start(4, {"type": "redacted_thinking", "data": "opaque"}),
                block_stop(4),
                ("mystery_event", {"type": "mystery_event"}),
                (
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": "a_future_reason"},
                        "usage": {"output_tokens": 5},
                    },
                ),
                ("message_stop", {"type": "message_stop"}),
            ]
        )
    )
    events = await collect(model)
    assert [e.kind for e in events] == [
        "message_start",
        "text_start",
        "text_delta",
        "block_stop",
        "redacted_thinking",
        "block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[2] == TextDelta(index=3, text="Found it.")
    assert events[4] == RedactedThinking(index=4, data="opaque")
    assert isinstance(events[6], MessageDelta)
    assert events[6].stop_reason is None
    assert events[6].usage.output_tokens == 5


async def test_a_stream_that_ends_without_message_stop_is_an_error(
    fake: FakeMessagesAPI, model: AnthropicModel
) -> None:
    fake.add(RawStream([message_start(), block_start(0, {"type": "text", "text": ""})]))
    events, error = await collect_until_error(model)
    assert [e.kind for e in events] == ["message_start", "text_start"]
    assert (error.cause.kind, error.cause.retryable) == ("connection", True)
    assert "message_stop" in error.cause.message


def test_default_model_is_a_current_sdk_model() -> None:
    from typing import get_args

    from anthropic.types.model import Model

    literal = get_args(Model)[0]
    assert DEFAULT_MODEL in get_args(literal)
    assert not DEFAULT_MODEL[-8:].isdigit()  # An alias, not a dated snapshot.


def test_importing_the_adapter_does_not_import_the_sdk() -> None:
    code = (
        "import sys, agentls.core.anthropic_model as m\n"
        "assert 'anthropic' not in sys.modules, 'anthropic imported at import time'\n"
        "m.preload_sdk()\n"
        "assert 'anthropic' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)

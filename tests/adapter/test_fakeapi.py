"""The fake Messages API itself: wire format, streaming, validation, scripts and the CLI."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakeapi import (
    DropConnection,
    FakeMessagesAPI,
    HttpError,
    Reply,
    StreamError,
    Text,
    Thinking,
    ToolCall,
    load_script,
    validate_request,
    wire_events,
)
from tests.fakeapi.faults import Delay

AUTH = {"x-api-key": "test-key"}
REPO = Path(__file__).resolve().parents[2]


def body(messages: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    msgs = messages if messages is not None else [{"role": "user", "content": "hi"}]
    return {"model": "m", "max_tokens": 100, "stream": True, "messages": msgs, **extra}


def post(
    fake: FakeMessagesAPI, payload: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/v1/messages",
            json.dumps(payload),
            {"content-type": "application/json", **(AUTH if headers is None else headers)},
        )
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def sse_events(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in data.decode().split("\n\n"):
        if chunk.strip():
            lines = dict(line.split(": ", 1) for line in chunk.splitlines())
            events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_wire_events_match_the_real_sse_shapes() -> None:
    reply = Reply([Thinking("hmm", signature="sig"), Text("hi"), ToolCall("ls", {"path": "."}, id="toolu_a")])
    events = wire_events(reply, 0, "claude-x")
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    start = events[0][1]["message"]
    assert start == {
        "id": "msg_00",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "claude-x",
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 100,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 0,
        },
    }
    blocks = [data["content_block"] for name, data in events if name == "content_block_start"]
    assert blocks == [
        {"type": "thinking", "thinking": "", "signature": ""},
        {"type": "text", "text": ""},
        {"type": "tool_use", "id": "toolu_a", "name": "ls", "input": {}},
    ]
    deltas = {data["delta"]["type"] for name, data in events if name == "content_block_delta"}
    assert deltas == {"thinking_delta", "signature_delta", "text_delta", "input_json_delta"}
    assert events[-2][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 20},
    }
    assert names.count("content_block_stop") == 3


def test_the_response_is_chunked_sse_and_streams_incrementally() -> None:
    with FakeMessagesAPI([Delay(Reply([Text("abcdefgh")], chunk_size=2), event_delay_s=0.1)]) as fake:
        conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
        try:
            started = time.monotonic()
            conn.request(
                "POST", "/v1/messages", json.dumps(body()), {"content-type": "application/json", **AUTH}
            )
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.getheader("content-type", "").startswith("text/event-stream")
            assert resp.getheader("transfer-encoding") == "chunked"
            first = resp.readline()
            first_at = time.monotonic() - started
            rest = resp.read()
            total = time.monotonic() - started
        finally:
            conn.close()
    assert first == b"event: message_start\n"
    assert first_at < 0.5 < total  # 10 events at 0.1 s each: the first came long before the last.
    assert sse_events(first + rest)[-1][0] == "message_stop"


def test_stream_error_is_an_sse_error_event() -> None:
    with FakeMessagesAPI([StreamError(2, "overloaded_error", "Overloaded")]) as fake:
        status, _, data = post(fake, body())
    events = sse_events(data)
    assert status == 200
    assert [name for name, _ in events if name != "ping"] == ["message_start", "content_block_start", "error"]
    assert events[-1][1] == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def test_drop_connection_truncates_the_body() -> None:
    with FakeMessagesAPI([DropConnection(2)]) as fake, pytest.raises(http.client.IncompleteRead):
        post(fake, body())


def test_http_errors_carry_the_api_error_body_and_headers() -> None:
    with FakeMessagesAPI([HttpError.rate_limited(12)]) as fake:
        status, headers, data = post(fake, body())
    assert status == 429
    assert headers["retry-after"] == "12"
    assert json.loads(data)["error"]["type"] == "rate_limit_error"


def test_a_script_that_runs_out_answers_500_and_assert_consumed() -> None:
    with FakeMessagesAPI([Reply([Text("one")]), Reply([Text("two")])]) as fake:
        assert post(fake, body())[0] == 200
        with pytest.raises(AssertionError, match="1 step"):
            fake.assert_consumed()
        assert post(fake, body())[0] == 200
        fake.assert_consumed()
        status, _, data = post(fake, body())
    assert status == 500
    assert "script ran out" in json.loads(data)["error"]["message"]


def test_callable_steps_see_the_request_body() -> None:
    seen: list[dict[str, Any]] = []

    def step(request: dict[str, Any]) -> Reply:
        seen.append(request)
        return Reply([Text(f"you said {request['messages'][-1]['content']}")])

    with FakeMessagesAPI([step]) as fake:
        _, _, data = post(fake, body([{"role": "user", "content": "ping"}]))
    texts = [d["delta"]["text"] for n, d in sse_events(data) if n == "content_block_delta"]
    assert "".join(texts) == "you said ping"
    assert seen[0]["messages"][-1]["content"] == "ping"


def test_rejected_requests_take_no_step() -> None:
    with FakeMessagesAPI([Reply([Text("ok")])]) as fake:
        status, _, data = post(fake, body([{"role": "assistant", "content": "hi"}]))
        assert status == 400
        assert json.loads(data)["error"]["type"] == "invalid_request_error"
        assert fake.remaining == 1
        assert post(fake, body(), headers={})[0] == 401
        assert post(fake, body())[0] == 200
        fake.assert_consumed()
    assert len(fake.requests) == 3
    assert len(fake.rejections) == 2


def tool_use(id_: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": id_, "name": "ls", "input": {}}


def tool_result(id_: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": id_, "content": "ok"}


def text(t: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": t, **extra}


CACHE = {"cache_control": {"type": "ephemeral"}}
VALID = [
    {"role": "user", "content": [text("list files")]},
    {"role": "assistant", "content": [text("sure"), tool_use("t1"), tool_use("t2")]},
    {"role": "user", "content": [tool_result("t2"), tool_result("t1"), text("thanks")]},
]
INVALID: list[tuple[dict[str, Any], str]] = [
    ({"max_tokens": 10, "messages": VALID, "stream": True}, "model: Field required"),
    ({"model": "m", "messages": VALID, "stream": True}, "max_tokens: Field required"),
    ({"model": "m", "max_tokens": 10, "stream": True}, "messages: Field required"),
    (body([]), "at least one message"),
    (body([{"role": "assistant", "content": "hi"}]), "first message"),
    (body([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]), "roles must alternate"),
    (body(VALID[:2]), "`tool_use` ids were found without `tool_result` blocks immediately after: t1, t2"),
    (
        body([*VALID[:2], {"role": "user", "content": [tool_result("t1"), text("x")]}]),
        "immediately after: t2.",
    ),
    (
        body([*VALID[:2], {"role": "user", "content": [text("x"), tool_result("t1"), tool_result("t2")]}]),
        "after: t1, t2.",
    ),
    (body([{"role": "user", "content": [tool_result("nope")]}]), "unexpected `tool_use_id`"),
    (body([{"role": "user", "content": [text("")]}]), "must be non-empty"),
    (
        body(
            [{"role": "user", "content": [text("d", **CACHE)]}],
            system=[text("a", **CACHE), text("b", **CACHE), text("c", **CACHE)],
            tools=[{"name": "x", **CACHE}],
        ),
        "maximum of 4 blocks with cache_control",
    ),
    (
        body(thinking={"type": "enabled", "budget_tokens": 2048}, max_tokens=2048),
        "must be greater than `thinking.budget_tokens`",
    ),
    (
        body(thinking={"type": "enabled", "budget_tokens": 100}, max_tokens=4096),
        "greater than or equal to 1024",
    ),
    (body(stream=False), "stream"),
]


def test_a_valid_conversation_passes() -> None:
    four = [text("a", **CACHE), text("b", **CACHE), text("c", **CACHE)]
    assert validate_request(body(VALID, system=four), AUTH) is None
    assert validate_request(body(VALID), {"authorization": "Bearer k"}) is None
    assert (
        validate_request(body(thinking={"type": "enabled", "budget_tokens": 1024}, max_tokens=2000), AUTH)
        is None
    )


@pytest.mark.parametrize(("payload", "expected"), INVALID)
def test_validation_rejects_like_the_api(payload: dict[str, Any], expected: str) -> None:
    rejection = validate_request(payload, AUTH)
    assert rejection is not None
    status, error_type, message = rejection
    assert (status, error_type) == (400, "invalid_request_error")
    assert expected in message


def test_missing_auth_is_an_authentication_error() -> None:
    assert validate_request(body(), {}) == (401, "authentication_error", "x-api-key header is required")


SCRIPT = [
    {"blocks": [{"thinking": "hm"}, {"text": "hello"}, {"tool_use": {"name": "ls", "input": {"path": "."}}}]},
    {"reply": {"blocks": [{"text": "done"}], "stop_reason": "end_turn", "delay_before_stop_s": 0.1}},
    {
        "http_error": {
            "status": 429,
            "error_type": "rate_limit_error",
            "message": "slow",
            "headers": {"retry-after": "3"},
        }
    },
    {"drop_connection": {"after_events": 2}},
    {"stream_error": {"after_events": 1, "error_type": "api_error", "message": "boom"}},
    {"delay": {"before_s": 0.1, "step": {"blocks": [{"text": "late"}]}}},
]


def test_json_scripts_load_into_steps(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(SCRIPT))
    steps = load_script(path)
    first, second = steps[0], steps[1]
    assert isinstance(first, Reply)
    assert first.blocks == [Thinking("hm"), Text("hello"), ToolCall("ls", {"path": "."})]
    assert isinstance(second, Reply)
    assert (second.stop_reason, second.delay_before_stop_s) == ("end_turn", 0.1)
    assert steps[2] == HttpError(429, "rate_limit_error", "slow", {"retry-after": "3"})
    assert steps[3] == DropConnection(2)
    assert isinstance(steps[4], StreamError)
    assert (steps[4].after_events, steps[4].error_type) == (1, "api_error")
    assert isinstance(steps[5], Delay)
    assert steps[5].before_s == 0.1
    with pytest.raises(ValueError, match="unknown step"):
        path.write_text(json.dumps([{"bogus": 1}]))
        load_script(path)


def test_the_cli_serves_a_script(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT[:1]))
    log = tmp_path / "requests.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakeapi", "--script", str(script), "--log-requests", str(log)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request(
                "POST", "/v1/messages", json.dumps(body()), {"content-type": "application/json", **AUTH}
            )
            data = conn.getresponse().read()
        finally:
            conn.close()
        assert sse_events(data)[-1][0] == "message_stop"
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "served 1 request(s); 0 step(s) unused" in err
    assert json.loads(log.read_text().splitlines()[0])["messages"] == body()["messages"]

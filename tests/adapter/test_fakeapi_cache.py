"""The fake Messages API's prompt cache, context window and usage, over HTTP like a client sees them."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from agentls.core.anthropic_model import AnthropicModel
from agentls.core.messages import Message, TextBlock, user_text
from agentls.core.model import MessageDelta, MessageStart, ModelRequest, StreamEvent, SystemBlock, TokenUsage
from tests.adapter.test_fakeapi import AUTH, REPO, post, sse_events
from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall, block_tokens, count_request_tokens
from tests.fakeapi.tokens import count_reply_tokens
from tests.fakeapi.validate import validate_request

FIVE_MIN = {"type": "ephemeral"}
ONE_HOUR = {"type": "ephemeral", "ttl": "1h"}
_TEXT_OVERHEAD = len('{"text":"","type":"text"}')


def block(tag: str, tokens: int, cache: dict[str, str] | None = None) -> dict[str, Any]:
    """A text block of exactly `tokens` tokens (at least 8); `tag` makes it unique."""
    made: dict[str, Any] = {"type": "text", "text": f"{tag}:".ljust(4 * tokens - _TEXT_OVERHEAD, "x")}
    assert block_tokens(made) == tokens, (tag, tokens)
    if cache is not None:
        made["cache_control"] = dict(cache)
    return made


def request(
    messages: list[dict[str, Any]],
    system: list[dict[str, Any]] | None = None,
    tools: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "m", "max_tokens": 4096, "stream": True, "messages": messages, **extra}
    if system is not None:
        body["system"] = system
    if tools is not None:
        body["tools"] = tools
    return body


def user(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def assistant(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


def tool(name: str) -> dict[str, Any]:
    return {"name": name, "description": f"The {name} tool.", "input_schema": {"type": "object"}}


def served(fake: FakeMessagesAPI, body: dict[str, Any]) -> dict[str, Any]:
    """Send one request; the `message_start` usage, checked against what the fake recorded."""
    fake.add(Reply([Text("ok")]))
    status, _, data = post(fake, body)
    assert status == 200, data
    usage = sse_events(data)[0][1]["message"]["usage"]
    assert fake.usages[-1] == {
        **usage,
        "output_tokens": fake.usages[-1]["output_tokens"],
        "request": len(fake.requests) - 1,
    }
    assert sum(split(usage)) == count_request_tokens(body)
    by_ttl = usage["cache_creation"]
    assert by_ttl["ephemeral_5m_input_tokens"] + by_ttl["ephemeral_1h_input_tokens"] == split(usage)[2]
    return usage


def split(usage: dict[str, Any]) -> tuple[int, int, int]:
    """(input, read, written)."""
    return usage["input_tokens"], usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- counting ------------------------------------------------------------------------------------


def test_a_block_counts_a_quarter_of_its_canonical_json_without_cache_control() -> None:
    assert block_tokens({"type": "text", "text": "hi"}) == 7  # '{"text":"hi","type":"text"}': 27 bytes
    assert block_tokens({"type": "text", "text": "hi", "cache_control": ONE_HOUR}) == 7
    assert block_tokens({}) == 1
    assert block_tokens(block("a", 600)) == 600
    body = request([user(block("u", 40))], system=[block("s", 30)], tools=[tool("ls")])
    assert count_request_tokens(body) == 70 + block_tokens(tool("ls"))
    assert count_request_tokens(request([{"role": "user", "content": "hi"}], system="hi")) == 14


# --- reads and writes ----------------------------------------------------------------------------


def test_the_first_request_writes_and_the_same_prefix_is_then_read() -> None:
    system = [block("s", 1500, FIVE_MIN)]
    with FakeMessagesAPI() as fake:
        first = served(fake, request([user(block("u", 600, FIVE_MIN))], system))
        assert split(first) == (0, 0, 2100)
        assert first["cache_creation"] == {"ephemeral_5m_input_tokens": 2100, "ephemeral_1h_input_tokens": 0}
        assert fake.cache_entries == 2  # the system prefix and the whole prompt
        assert split(served(fake, request([user(block("u", 600, FIVE_MIN))], system))) == (0, 2100, 0)
        # The next turn: the breakpoint moved to the new last block, which finds the old one behind it.
        grown = [
            user(block("u", 600)),
            assistant(block("a", 200)),
            user(block("v", 300, FIVE_MIN), block("w", 50)),
        ]
        assert split(served(fake, request(grown, system))) == (50, 2100, 500)


def test_a_breakpoint_finds_a_prefix_20_blocks_back_but_not_21() -> None:
    system = [block("s", 1500)]
    blocks = [block(f"b{i}", 10) for i in range(30)]

    def upto(n: int) -> dict[str, Any]:
        return request([user(*blocks[: n - 1], {**blocks[n - 1], "cache_control": FIVE_MIN})], system)

    for back, read in ((20, 1500 + 50), (21, 0)):
        with FakeMessagesAPI() as fake:
            assert split(served(fake, upto(5))) == (0, 0, 1550)
            later = served(fake, upto(5 + back))
        assert later["cache_read_input_tokens"] == read
        assert later["cache_creation_input_tokens"] == 1550 + 10 * back - read


def test_nothing_under_1024_tokens_is_written() -> None:
    with FakeMessagesAPI() as fake:
        small = request([user(block("u", 1023 - 500, FIVE_MIN))], [block("s", 500, FIVE_MIN)])
        assert split(served(fake, small)) == (1023, 0, 0)
        assert split(served(fake, small)) == (1023, 0, 0)
        assert fake.cache_entries == 0
        # A short system prefix is not written alone: its tokens are written with the first long one.
        enough = request([user(block("u", 1024 - 500, FIVE_MIN))], [block("s", 500, FIVE_MIN)])
        assert split(served(fake, enough)) == (0, 0, 1024)
        assert fake.cache_entries == 1
        assert split(served(fake, enough)) == (0, 1024, 0)


def test_a_changed_block_invalidates_the_prefixes_holding_it_and_no_others() -> None:
    tools = [tool("ls")]
    t = block_tokens(tool("ls"))
    with FakeMessagesAPI() as fake:
        served(fake, request([user(block("u", 600, FIVE_MIN))], [block("s", 1500, FIVE_MIN)], tools))
        changed_message = request([user(block("U", 600, FIVE_MIN))], [block("s", 1500, FIVE_MIN)], tools)
        assert split(served(fake, changed_message)) == (0, t + 1500, 600)
        changed_system = request([user(block("u", 600, FIVE_MIN))], [block("S", 1500, FIVE_MIN)], tools)
        assert split(served(fake, changed_system)) == (0, 0, t + 2100)
        changed_tool = request([user(block("u", 600, FIVE_MIN))], [block("s", 1500, FIVE_MIN)], [tool("cat")])
        assert split(served(fake, changed_tool))[1] == 0
        other_model = {**changed_system, "model": "other"}
        assert split(served(fake, other_model))[1] == 0


def test_tool_choice_and_thinking_invalidate_the_messages_but_not_tools_and_system() -> None:
    tools = [tool("ls"), tool("cat")]
    above = sum(block_tokens(t) for t in tools) + 1500

    def with_params(**params: Any) -> dict[str, Any]:
        return request([user(block("u", 600, FIVE_MIN))], [block("s", 1500, FIVE_MIN)], tools, **params)

    with FakeMessagesAPI() as fake:
        served(fake, with_params(tool_choice={"type": "auto"}))
        assert split(served(fake, with_params(tool_choice={"type": "auto"}))) == (0, above + 600, 0)
        assert split(served(fake, with_params(tool_choice={"type": "any"}))) == (0, above, 600)
        assert split(served(fake, with_params(tool_choice={"type": "tool", "name": "cat"}))) == (
            0,
            above,
            600,
        )
        thinking = {"type": "enabled", "budget_tokens": 1024}
        assert split(served(fake, with_params(thinking=thinking))) == (0, above, 600)
        assert split(served(fake, with_params(thinking=thinking))) == (0, above + 600, 0)


# --- lifetimes -------------------------------------------------------------------------------------


def test_entries_expire_after_5_minutes_unless_a_hit_refreshes_them() -> None:
    clock = Clock()
    body = request([user(block("u", 600, FIVE_MIN))], [block("s", 1500)])
    with FakeMessagesAPI(clock=clock) as fake:
        assert split(served(fake, body)) == (0, 0, 2100)
        clock.now += 299
        assert split(served(fake, body)) == (0, 2100, 0)
        clock.now += 299  # 598 s after the write, but 299 s after the hit that refreshed it.
        assert split(served(fake, body)) == (0, 2100, 0)
        clock.now += 300
        assert fake.cache_entries == 0
        assert split(served(fake, body)) == (0, 0, 2100)


def test_one_hour_breakpoints_are_written_and_kept_for_an_hour() -> None:
    clock = Clock()
    body = request([user(block("u", 600, FIVE_MIN))], [block("s", 1500, ONE_HOUR)])
    with FakeMessagesAPI(clock=clock) as fake:
        first = served(fake, body)
        assert first["cache_creation"] == {
            "ephemeral_5m_input_tokens": 600,
            "ephemeral_1h_input_tokens": 1500,
        }
        clock.now += 301  # The 5m entry is gone, the 1h one is not.
        second = served(fake, body)
        assert split(second) == (0, 1500, 600)
        assert second["cache_creation"] == {"ephemeral_5m_input_tokens": 600, "ephemeral_1h_input_tokens": 0}
        clock.now += 3599  # An hour after the first write, but not after the hit.
        assert split(served(fake, body))[1] == 1500
        clock.now += 3600
        assert split(served(fake, body)) == (0, 0, 2100)


# --- the invariant, on a random conversation ----------------------------------------------------


def test_input_read_and_written_always_add_up_to_the_request() -> None:
    rng = random.Random(20240607)
    ttls = [None, None, None, FIVE_MIN, ONE_HOUR]
    with FakeMessagesAPI() as fake:
        history: list[dict[str, Any]] = []
        for turn in range(25):
            role = "user" if turn % 2 == 0 else "assistant"
            history.append(
                {"role": role, "content": [block(f"{turn}.{k}", rng.randint(8, 400)) for k in range(3)]}
            )
            if role == "assistant":
                continue
            marked = json.loads(json.dumps(history))
            picks = sorted(rng.sample(range(sum(len(m["content"]) for m in marked)), rng.randint(0, 3)))
            flat = [b for m in marked for b in m["content"]]
            kinds = sorted((ttls[rng.randrange(len(ttls))] for _ in picks), key=lambda c: c != ONE_HOUR)
            for pick, kind in zip(picks, kinds, strict=True):
                if kind is not None:
                    flat[pick]["cache_control"] = dict(kind)
            usage = served(fake, request(marked, [block("s", 1200, ONE_HOUR)]))
            assert min(split(usage)) >= 0
    assert len(fake.usages) == 13
    assert sum(u["cache_read_input_tokens"] for u in fake.usages) > 0
    assert sum(u["cache_creation"]["ephemeral_5m_input_tokens"] for u in fake.usages) > 0


# --- the context window --------------------------------------------------------------------------


def test_a_request_over_the_window_is_refused_without_taking_a_step() -> None:
    body = request([user(block("u", 600, FIVE_MIN))], [block("s", 1500, FIVE_MIN)])
    with FakeMessagesAPI([Reply([Text("ok")])], context_window=2099) as fake:
        status, _, data = post(fake, body)
        assert status == 400
        error = json.loads(data)["error"]
        assert error == {
            "type": "invalid_request_error",
            "message": "prompt is too long: 2100 tokens > 2099 maximum",
        }
        assert fake.rejections == ["prompt is too long: 2100 tokens > 2099 maximum"]
        assert (fake.remaining, fake.usages, fake.cache_entries) == (1, [], 0)
        fake.context_window = 2100  # Exactly the window fits.
        assert post(fake, body)[0] == 200
        fake.assert_consumed()


def test_the_window_applies_with_the_cache_simulation_off() -> None:
    body = request([user(block("u", 600))])
    with FakeMessagesAPI([Reply([Text("ok")])], context_window=599, simulate_usage=False) as fake:
        status, _, data = post(fake, body)
    assert status == 400
    assert json.loads(data)["error"]["message"] == "prompt is too long: 600 tokens > 599 maximum"


def test_the_cli_takes_a_window_and_reports_the_simulated_usage(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"blocks": [{"text": "ok"}], "usage": {"output_tokens": 3}}] * 2))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakeapi", "--script", str(script), "--context-window", "2000"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().rsplit(":", 1)[1])
        fake: Any = SimpleNamespace(port=port)  # All `post` needs of a fake.
        fits = request([user(block("u", 1500, FIVE_MIN))])
        too_long = request([user(block("u", 2001))])
        assert post(fake, fits)[0] == post(fake, fits)[0] == 200
        status, _, data = post(fake, too_long)
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (status, json.loads(data)["error"]["message"]) == (
        400,
        "prompt is too long: 2001 tokens > 2000 maximum",
    )
    totals = {"input_tokens": 0, "cache_read_input_tokens": 1500, "cache_creation_input_tokens": 1500}
    assert f"fakeapi: usage {json.dumps({**totals, 'output_tokens': 6})}" in err


# --- output tokens and scripted usage ------------------------------------------------------------


def test_output_tokens_count_the_reply_unless_it_scripts_them() -> None:
    counted = Reply([Text("Reading it."), ToolCall("ls", {"path": "."}, id="toolu_1")])
    scripted = Reply([Text("ok")], usage=TokenUsage(input_tokens=5, output_tokens=42))
    expected_output = block_tokens({"type": "text", "text": "Reading it."}) + block_tokens(
        {"type": "tool_use", "id": "toolu_1", "name": "ls", "input": {"path": "."}}
    )
    assert count_reply_tokens(counted) == expected_output
    body = request([user(block("u", 30))])
    with FakeMessagesAPI([counted, scripted]) as fake:
        first = sse_events(post(fake, body)[2])
        second = sse_events(post(fake, body)[2])
    assert next(d for n, d in first if n == "message_delta")["usage"]["output_tokens"] == expected_output
    assert next(d for n, d in second if n == "message_delta")["usage"]["output_tokens"] == 42
    assert second[0][1]["message"]["usage"]["input_tokens"] == 30  # The scripted 5 is not the request's.


def test_with_the_simulation_off_the_scripted_usage_is_reported() -> None:
    body = request([user(block("u", 1500, FIVE_MIN))])
    with FakeMessagesAPI([Reply([Text("ok")]), Reply([Text("ok")])], simulate_usage=False) as fake:
        usages = [sse_events(post(fake, body)[2])[0][1]["message"]["usage"] for _ in range(2)]
        assert (fake.usages, fake.cache_entries) == ([], 0)
    assert [split(u) for u in usages] == [(100, 0, 0), (100, 0, 0)]


# --- validation ----------------------------------------------------------------------------------

BAD: list[tuple[dict[str, Any], str]] = [
    (request([user(block("u", 10, {"type": "ephemeral", "ttl": "10m"}))]), "Input should be '5m' or '1h'"),
    (request([user(block("u", 10, {"type": "persistent"}))]), "Input should be 'ephemeral'"),
    (
        request([user(block("u", 10, ONE_HOUR))], [block("s", 10, FIVE_MIN)]),
        "longer TTLs must come before those with shorter TTLs",
    ),
    (
        request(
            [user(block("u", 10))], [block("s", 10, ONE_HOUR)], [{**tool("ls"), "cache_control": FIVE_MIN}]
        ),
        "cannot come after one with ttl='5m'",
    ),
    (request([user(block("u", 10))], tool_choice={"type": "required"}), "tool_choice.type"),
    (request([user(block("u", 10))], tool_choice="auto"), "tool_choice.type"),
    (
        request([user(block("u", 10))], [], [tool("ls")], tool_choice={"type": "tool", "name": "cat"}),
        "not found",
    ),
    (request([user(block("u", 10))], tool_choice={"type": "tool"}), "tool_choice.tool.name: Field required"),
    (request([user(block("u", 10))], tool_choice={"type": "none", "name": "ls"}), "Extra inputs"),
    (
        request([user(block("u", 10))], tool_choice={"type": "auto", "disable_parallel_tool_use": "yes"}),
        "valid boolean",
    ),
    (
        request(
            [user(block("u", 10))],
            tool_choice={"type": "any"},
            thinking={"type": "enabled", "budget_tokens": 1024},
        ),
        "Thinking may not be enabled when tool_choice forces tool use",
    ),
]


@pytest.mark.parametrize(("payload", "expected"), BAD)
def test_bad_ttls_and_tool_choices_are_refused(payload: dict[str, Any], expected: str) -> None:
    with FakeMessagesAPI([Reply([Text("ok")])]) as fake:
        status, _, data = post(fake, payload)
        assert fake.remaining == 1
    assert status == 400
    error = json.loads(data)["error"]
    assert error["type"] == "invalid_request_error"
    assert expected in error["message"]


GOOD = [
    request(
        [user(block("u", 10, FIVE_MIN))],
        [block("s", 10, ONE_HOUR)],
        [{**tool("ls"), "cache_control": ONE_HOUR}],
    ),
    request([user(block("u", 10, {"type": "ephemeral", "ttl": "5m"}))], [block("s", 10, FIVE_MIN)]),
    request([user(block("u", 10))], [], [tool("ls")], tool_choice={"type": "tool", "name": "ls"}),
    request([user(block("u", 10))], tool_choice={"type": "auto", "disable_parallel_tool_use": True}),
    request([user(block("u", 10))], tool_choice={"type": "any"}),
    request([user(block("u", 10))], tool_choice={"type": "none"}),
]


@pytest.mark.parametrize("payload", GOOD)
def test_good_ttls_and_tool_choices_pass(payload: dict[str, Any]) -> None:
    assert validate_request(payload, AUTH) is None


# --- through the real SDK ------------------------------------------------------------------------


async def test_the_sdk_sees_cache_reads_on_the_next_request_with_the_same_prefix() -> None:
    system = (SystemBlock(text="You are a careful engineer. " * 200, cache=True),)
    first = ModelRequest(model="claude-sonnet-5-5", system=system, messages=(user_text("Read a.py"),))
    turn = (
        *first.messages,
        Message(role="assistant", content=(TextBlock(text="Done."),)),
        user_text("Now b.py"),
    )
    second = first.model_copy(update={"messages": turn})
    with FakeMessagesAPI([Reply([Text("Done.")]), Reply([Text("Done too.")])]) as fake:
        model = AnthropicModel("claude-sonnet-5-5", api_key="k", base_url=fake.base_url)
        try:
            events = [[e async for e in model.stream(r)] for r in (first, second)]
        finally:
            await model.aclose()
        bodies = list(fake.requests)
    starts = [e[0] for e in events]
    assert all(isinstance(s, MessageStart) for s in starts)
    one, two = (s.usage for s in starts if isinstance(s, MessageStart))
    assert (one.input_tokens, one.cache_read_input_tokens) == (0, 0)
    assert one.cache_creation_input_tokens == count_request_tokens(bodies[0]) > 1024
    assert two.cache_read_input_tokens == one.cache_creation_input_tokens
    assert two.cache_creation_input_tokens == count_request_tokens(bodies[1]) - count_request_tokens(
        bodies[0]
    )
    assert two.input_tokens == 0
    assert _output(events[0]) == count_reply_tokens(Reply([Text("Done.")]))


def _output(events: list[StreamEvent]) -> int:
    return next(e.usage.output_tokens for e in events if isinstance(e, MessageDelta))

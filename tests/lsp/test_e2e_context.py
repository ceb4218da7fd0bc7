"""Context and cost through the language server: the context meter and the cost in
`usage_update`, compaction updates, `agentls/compact` and `agentls.compact`, budgets and the
context options, against the fake Messages API with prompt caching."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from agentls.core.context.summary import SUMMARY_INSTRUCTIONS
from tests.fakeapi import Delay, FakeMessagesAPI, Reply, Text, ToolCall
from tests.lsp.harness import NVIM011, VSCODE, Env, wait_until

pytestmark = pytest.mark.slow

SUMMARY_MARK = SUMMARY_INSTRUCTIONS.splitlines()[0]
SUMMARY = Reply([Text("<summary>Read three notes files; they list groceries.</summary>")])


def _notes(root: Path, lines: int = 150) -> list[Path]:
    paths = []
    for n in range(3):
        path = root / f"notes{n}.txt"
        path.write_text("".join(f"item {n}.{i}: bread and milk\n" for i in range(lines)), encoding="utf-8")
        paths.append(path)
    return paths


def _reads(paths: list[Path]) -> list[Any]:
    return [*(Reply([ToolCall("Read", {"file_path": str(p)})]) for p in paths), Reply([Text("Groceries.")])]


def _text(body: dict[str, Any], index: int) -> str:
    content = body["messages"][index]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


async def test_usage_updates_carry_the_context_meter_and_the_cost(env: Env) -> None:
    with FakeMessagesAPI(_reads(_notes(env.root))) as fake:
        async with env.editor(VSCODE, fake, options={"contextWindow": 150_000}) as editor:
            session_id = await editor.new_session()
            result = await editor.prompt(session_id, "What do my notes say?")
            usage = editor.updates("usage_update", session_id)
    assert result["stopReason"] == "end_turn"
    assert len(usage) == 4  # One per API call.
    for update in usage:
        assert update["size"] == 150_000 and 0 < update["used"] < 150_000
        assert update["cost"]["currency"] == "USD" and update["cost"]["amount"] > 0
        assert update["requestCost"]["amount"] > 0 and update["purpose"] == "turn"
    costs = [u["cost"]["amount"] for u in usage]
    assert costs == sorted(costs) and costs[0] < costs[-1]
    assert usage[-1]["session"]["cache_read_input_tokens"] > 0  # The fake caches: the meter shows it.
    used = [u["used"] for u in usage]
    assert used[1] > used[0]  # Each file read fills the context a little more.


async def test_agentls_compact_summarises_reports_and_the_next_turn_continues_from_it(env: Env) -> None:
    script = [*_reads(_notes(env.root)), SUMMARY, Reply([Text("Still groceries.")])]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(VSCODE, fake) as editor:
            session_id = await editor.new_session()
            await editor.prompt(session_id, "Read my notes. Remember: kiwi-42.")
            before = editor.updates("usage_update", session_id)[-1]["used"]
            result = await editor.request(
                "agentls/compact", {"sessionId": session_id, "instructions": "keep the item numbers"}
            )
            compactions = editor.updates("compaction", session_id)
            after = editor.updates("usage_update", session_id)[-1]
            again = await editor.prompt(session_id, "And now?")
        fake.assert_consumed()
    assert result["compacted"] is True and result["tokensAfter"] < result["tokensBefore"]
    assert result["size"] > 0 and result["message"].startswith("compacted")
    assert [c["status"] for c in compactions] == ["started", "completed"]
    done = compactions[-1]
    assert done["tier"] == "summary" and done["trigger"] == "manual"
    assert done["summary"] == "Read three notes files; they list groceries."
    assert after["used"] < before and after["used"] == result["tokensAfter"]
    summary_request = fake.requests[4]
    assert SUMMARY_MARK in _text(summary_request, -1) and "keep the item numbers" in _text(
        summary_request, -1
    )
    assert again["stopReason"] == "end_turn"
    head = _text(fake.requests[5], 0)
    assert head.startswith("<compacted_context>") and "kiwi-42" in head and "groceries" in head


async def test_compact_is_refused_while_a_turn_runs_and_for_an_unknown_session(env: Env) -> None:
    script = [Delay(Reply([Text("slow")]), before_s=30.0)]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(NVIM011, fake, check_errors=False) as editor:
            session_id = await editor.new_session()
            msg_id, task = editor.start_prompt(session_id, "take your time")
            await wait_until(lambda: fake.requests, what="the turn's request")
            with pytest.raises(JsonRpcException) as busy:
                await editor.request("agentls/compact", {"sessionId": session_id})
            assert busy.value.code == -32001
            with pytest.raises(JsonRpcException) as missing:
                await editor.request("agentls/compact", {"sessionId": "no-such-session"})
            assert missing.value.code == -32002
            with pytest.raises(JsonRpcException) as bad:
                await editor.request("agentls/compact", {"instructions": "x"})
            assert "sessionId" in str(bad.value)
            editor.cancel_request(msg_id)
            await asyncio.gather(task, return_exceptions=True)


async def test_the_agentls_compact_command_tells_a_plain_client_what_happened(env: Env) -> None:
    script = [*_reads(_notes(env.root)), SUMMARY]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(NVIM011, fake) as editor:
            session_id = await editor.new_session()
            await editor.prompt(session_id, "Read my notes.")
            result = await editor.execute_command("agentls.compact", [{"sessionId": session_id}])
            await wait_until(
                lambda: any("compacted" in m.message for m in editor.client.messages), what="the message"
            )
    assert result["compacted"] is True


async def test_a_budget_from_the_editor_stops_the_turn_before_the_request_that_would_cross_it(
    env: Env,
) -> None:
    # The first request writes the system prompt and tools to the cache (about $0.015 at $2.50
    # per million), each read adds a 600-line file (about $0.01): the third request would cross.
    with FakeMessagesAPI(_reads(_notes(env.root, lines=600))) as fake:
        async with env.editor(VSCODE, fake, options={"budget": {"maxUsd": 0.03}}) as editor:
            session_id = await editor.new_session()
            result = await editor.prompt(session_id, "Read my notes.")
    assert result["stopReason"] == "budget_exceeded", result
    budget = result["budget"]
    assert budget["kind"] == "usd" and budget["limit"] == 0.03
    assert budget["spent"] <= 0.03 < budget["projected"]
    assert "budget" in result["message"]
    assert 1 <= len(fake.requests) < 4


async def test_bad_context_options_are_a_clear_error(env: Env) -> None:
    with FakeMessagesAPI([]) as fake:
        async with env.editor(VSCODE, fake, options={"contextWindow": -5}, check_errors=False) as editor:
            with pytest.raises(JsonRpcException) as err:
                await editor.new_session()
    assert "contextWindow" in str(err.value) or "context" in str(err.value).lower()


async def test_a_loaded_session_shows_where_it_was_compacted_and_its_meter(env: Env) -> None:
    script = [*_reads(_notes(env.root)), SUMMARY]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(VSCODE, fake) as editor:
            session_id = await editor.new_session()
            await editor.prompt(session_id, "Read my notes.")
            result = await editor.request("agentls/compact", {"sessionId": session_id})
            live_cost = editor.updates("usage_update", session_id)[-1]["cost"]["amount"]
    assert result["compacted"]
    with FakeMessagesAPI([]) as fake:
        async with env.editor(VSCODE, fake) as editor:
            await editor.request("agentls/loadSession", {"sessionId": session_id})
            await wait_until(lambda: editor.updates("usage_update", session_id), what="the replay")
            replay = editor.updates(session_id=session_id)
    kinds = [u["sessionUpdate"] for u in replay]
    assert kinds.count("user_message_chunk") == 1 and kinds[-2:] == ["compaction", "usage_update"]
    assert replay[-2]["summary"] == "Read three notes files; they list groceries."
    meter = replay[-1]
    assert meter["cost"]["amount"] == live_cost
    # The resumed estimate is calibrated against the API's counts: close to what the API said.
    assert abs(meter["used"] - result["tokensAfter"]) <= 0.1 * result["tokensAfter"]

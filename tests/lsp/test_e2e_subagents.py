"""Subagents through the language server (issue 11, item 2): the subagent's tool calls reach the
editor nested under the Agent call, its permission prompt reaches the editor in the parent's
session and the answer reaches the subagent, the session's usage is the parent's plus the
subagent's to the token, and the Agent card shows what the subagent used and cost."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentls.core.context.catalog import model_info
from agentls.core.model import TokenUsage
from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall
from tests.lsp.harness import VSCODE, Env

pytestmark = pytest.mark.slow


def is_subagent(body: dict[str, Any]) -> bool:
    system = body.get("system") or []
    first = system if isinstance(system, str) else (system[0].get("text", "") if system else "")
    return "subagent" in first.split("\n", 1)[0]


def token_usage(usage: dict[str, Any]) -> TokenUsage:
    one_hour = (usage.get("cache_creation") or {}).get("ephemeral_1h_input_tokens", 0)
    return TokenUsage(
        input_tokens=usage["input_tokens"],
        output_tokens=usage["output_tokens"],
        cache_read_input_tokens=usage["cache_read_input_tokens"],
        cache_creation_input_tokens=usage["cache_creation_input_tokens"],
        cache_creation_1h_input_tokens=one_hour,
    )


async def test_a_subagents_bash_prompt_reaches_the_editor_and_its_answer_the_subagent(env: Env) -> None:
    def respond(body: dict[str, Any]) -> Reply:
        if is_subagent(body):
            if len(body["messages"]) == 1:
                return Reply([ToolCall("Bash", {"command": "echo VERIFIED > checked.txt"})])
            return Reply([Text("VERIFY-REPORT: the check ran")])
        if len(body["messages"]) == 1:
            task = {"description": "Check it", "prompt": "Run the check", "subagent_type": "verify"}
            return Reply([ToolCall("Agent", task)])
        return Reply([Text("all checked")])

    with FakeMessagesAPI([respond] * 4) as fake:
        async with env.editor(VSCODE, fake) as editor:
            editor.answer("allow_once")
            session_id = await editor.new_session()
            result = await editor.prompt(session_id, "verify the project")
            updates = editor.updates(session_id=session_id)
            usage = editor.updates("usage_update", session_id)
    assert result["stopReason"] == "end_turn"
    assert (env.root / "checked.txt").read_text() == "VERIFIED\n"
    (prompt,) = editor.prompts
    assert "echo VERIFIED" in prompt.title or "echo VERIFIED" in str(prompt.params)
    agent_call = next(u for u in updates if u["sessionUpdate"] == "tool_call" and u["kind"] == "think")
    nested = [u for u in updates if u.get("_meta", {}).get("agentls", {}).get("parentToolCallId")]
    assert nested, updates
    assert all(u["_meta"]["agentls"]["parentToolCallId"] == agent_call["toolCallId"] for u in nested)
    started = [u for u in nested if u["sessionUpdate"] == "tool_call"]
    assert [u["title"].split(" › ")[0] for u in started] == ["verify"]
    assert started[0]["toolCallId"] != agent_call["toolCallId"]
    # The last usage update's session totals are the parent's requests plus the subagent's, to
    # the token, and its cost is theirs.
    assert len(fake.requests) == 4 and len(fake.usages) == 4
    last = usage[-1]
    for key in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
        assert last["session"][key] == sum(u[key] for u in fake.usages), key
    prices = model_info(fake.requests[0]["model"]).prices
    assert prices is not None
    costs = [prices.cost(token_usage(u)) for u in fake.usages]
    assert last["cost"]["amount"] == pytest.approx(sum(costs), abs=1e-6)
    # The Agent card shows what its subagent used and cost (display only, not the model's result).
    sub = [i for i, body in enumerate(fake.requests) if is_subagent(body)]
    assert len(sub) == 2
    sub_usage = [token_usage(fake.usages[i]) for i in sub]
    tokens_in = sum(
        u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens for u in sub_usage
    )
    tokens_out = sum(u.output_tokens for u in sub_usage)
    sub_cost = sum(costs[i] for i in sub)
    done = [
        u
        for u in updates
        if u["sessionUpdate"] == "tool_call_update"
        and u["toolCallId"] == agent_call["toolCallId"]
        and u.get("status") == "completed"
    ]
    assert done[-1]["rawOutput"]["note"] == (
        f"verify agent: 2 requests · {tokens_in:,} tokens in, {tokens_out:,} out · ${sub_cost:.4f}"
    )
    assert "verify agent: 2 requests" not in str(fake.requests[-1]["messages"])


async def test_a_background_agents_prompt_reaches_the_editor_while_the_parent_waits(env: Env) -> None:
    """`run_in_background` from an editor: the Agent card finishes at once, the agent's Bash
    prompt reaches the editor while the turn waits for it, and its answer reaches the parent."""

    def respond(body: dict[str, Any]) -> Reply:
        said = json.dumps(body["messages"][-1])
        if is_subagent(body):
            if len(body["messages"]) == 1:
                return Reply([ToolCall("Bash", {"command": "echo BG > bg.txt"})])
            return Reply([Text("BG-REPORT: wrote bg.txt")])
        if len(body["messages"]) == 1:
            task = {
                "description": "Write it",
                "prompt": "Write bg.txt",
                "subagent_type": "general-purpose",
                "run_in_background": True,
            }
            return Reply([ToolCall("Agent", task)])
        if "<status>completed" in said:
            return Reply([Text("PARENT saw the report")])
        return Reply([Text("Waiting for it.")])

    with FakeMessagesAPI([respond] * 5) as fake:
        async with env.editor(VSCODE, fake) as editor:
            editor.answer("allow_once")
            session_id = await editor.new_session()
            result = await editor.prompt(session_id, "write it in the background")
            updates = editor.updates(session_id=session_id)
    assert result["stopReason"] == "end_turn"
    assert (env.root / "bg.txt").read_text() == "BG\n"
    (prompt,) = editor.prompts
    assert "echo BG" in prompt.title or "echo BG" in str(prompt.params)
    agent_done = [
        u
        for u in updates
        if u["sessionUpdate"] == "tool_call_update" and u.get("status") == "completed" and "rawOutput" in u
    ]
    started = next(u for u in agent_done if "in the background" in json.dumps(u["content"]))
    # The Agent call finished before the subagent's own Bash call did.
    nested_done = [u for u in agent_done if u.get("_meta", {}).get("agentls", {}).get("parentToolCallId")]
    assert nested_done and updates.index(started) < updates.index(nested_done[0])
    assert "<status>completed" in json.dumps(fake.requests[-1]["messages"][-1])
    assert "BG-REPORT: wrote bg.txt" in json.dumps(fake.requests[-1]["messages"][-1])

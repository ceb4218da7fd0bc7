"""Subagents through the language server (issue 11, item 2): the subagent's tool calls reach the
editor nested under the Agent call, its permission prompt reaches the editor in the parent's
session and the answer reaches the subagent, and the session's usage includes its tokens."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall
from tests.lsp.harness import VSCODE, Env

pytestmark = pytest.mark.slow


def is_subagent(body: dict[str, Any]) -> bool:
    system = body.get("system") or []
    first = system if isinstance(system, str) else (system[0].get("text", "") if system else "")
    return "subagent" in first.split("\n", 1)[0]


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
    # The last usage update's session totals include the subagent's two requests.
    last = usage[-1]["session"]
    total_out = sum(u.get("output_tokens", 0) for u in fake.usages)
    assert last["output_tokens"] == total_out
    assert len(fake.requests) == 4

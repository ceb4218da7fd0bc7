"""MCP through the language server (the harness of `tests/lsp`): a server's prompt is listed by
`agentls/listCommands` and runs as `/mcp__echo__review args`; `@echo:<uri>` attaches its resource;
a deferred tool is found with ToolSearch and called, in an editor session as in `agentls run`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall
from tests.lsp.harness import VSCODE, Env, result_text, tool_results
from tests.mcp.helpers import echo_entry, pids, wait_gone

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
def env(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    """The user's settings (a private HOME) name the echo server, with many tools."""
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    entry = echo_entry(tmp_path / "pids")
    entry["env"]["ECHO_MANY_TOOLS"] = "40"
    settings = {
        "mcpServers": {"echo": entry},
        "permissions": {"allow": ["mcp__echo"]},
        "env": {"ENABLE_TOOL_SEARCH": "true"},
    }
    (home / ".claude" / "settings.json").write_text(json.dumps(settings))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return Env(root=project, home=tmp_path / "agentls-home")


def said(body: dict[str, Any]) -> str:
    return json.dumps(body["messages"][-1])


async def test_prompts_resources_and_tool_search_in_an_editor(env: Env, tmp_path: Path) -> None:
    script = [
        Reply([Text("Reviewed.")]),
        Reply([Text("Read the guide.")]),
        Reply([ToolCall("ToolSearch", {"query": "+echo translate"})]),
        Reply([ToolCall("mcp__echo__translate", {"text": "hi", "to": "de"})]),
        Reply([Text("Translated.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(VSCODE, fake) as editor:
            session_id = await editor.new_session()
            # Typed at once: the command waits for the server still starting.
            reviewed = await editor.prompt(session_id, "/mcp__echo__review app.py error handling")
            listed = await editor.request("agentls/listCommands", {"sessionId": session_id})
            guided = await editor.prompt(session_id, "Follow @echo:echo://guide here.")
            translated = await editor.prompt(session_id, "Translate hi into German.")
        fake.assert_consumed()
    assert reviewed["stopReason"] == guided["stopReason"] == translated["stopReason"] == "end_turn"
    review, guide, search, call, last = fake.requests
    assert "Review app.py, looking for error handling. ECHO-PROMPT" in said(review)
    by_name = {c["name"]: c for c in listed["commands"]}
    command = by_name["mcp__echo__review"]
    assert command["source"] == "mcp" and command["argumentHint"] == "<path> [focus]"
    assert "GUIDE-TEXT" in said(guide) and "echo://guide" in said(guide)
    names = [t["name"] for t in search["tools"]]
    assert "ToolSearch" in names and [n for n in names if n.startswith("mcp__")] == ["mcp__echo__pinned"]
    assert "mcp__echo__translate" in result_text(tool_results(call)[0])
    assert "mcp__echo__translate" in [t["name"] for t in call["tools"]]
    assert result_text(tool_results(last)[0]) == "translated to de: hi"
    started = pids(tmp_path / "pids")
    assert started, "the MCP server never started"
    for pid in started:
        wait_gone(pid)

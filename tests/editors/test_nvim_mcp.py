"""An MCP server's tool from the Neovim plugin (0.7.2 and 0.12-dev), against the real server, the
fake Messages API and the tests' echo server over stdio (the user's settings name it): the call
shows in the chat like any tool call and its answer reaches the model; `/mcp` in the chat lists the
server, connected, with its tools. (tests/editors/nvim/mcp_driver.lua)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.editors.nvim.runner import NVIM_BUILDS, new_project, nvim_env, run_driver
from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall
from tests.mcp.helpers import echo_entry

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DRIVER = Path(__file__).parent / "nvim" / "mcp_driver.lua"
PROMPT = "Echo something through the MCP server"
REPLY = "The server echoed it. MCP-DONE"


@pytest.mark.parametrize("which", NVIM_BUILDS)
def test_an_mcp_tool_call_and_the_mcp_command_in_the_chat(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    nvim: Path = request.getfixturevalue(which)
    project = new_project(tmp_path, {"app.py": "print('hi')\n"})
    env = nvim_env(tmp_path, tmp_path / "agentls-home", "")
    settings = {"mcpServers": {"echo": echo_entry()}, "permissions": {"allow": ["mcp__echo__echo"]}}
    config = Path(env["XDG_CONFIG_HOME"]) / "agentls"
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.json").write_text(json.dumps(settings))

    def route(body: dict[str, Any]) -> Reply:
        last = str(body["messages"][-1])
        if "echo: from neovim" in last:
            return Reply([Text(REPLY)])
        return Reply([ToolCall("mcp__echo__echo", {"text": "from neovim"})])

    with FakeMessagesAPI([route, route]) as fake:
        run = run_driver(
            nvim,
            DRIVER,
            cwd=project,
            env={**env, "ANTHROPIC_BASE_URL": fake.base_url},
            extra_env={"AGENTLS_TEST_FILE": str(project / "app.py"), "AGENTLS_TEST_PROMPT": PROMPT},
            out=tmp_path / "result.json",
        )
    r = run.result
    assert r.get("ok") is True, f"the driver did not finish\n{run.report()}"
    chat = "\n".join(r["chat"])
    assert "mcp__echo__echo" in chat and "MCP-DONE" in chat, run.report()
    assert "echo · connected" in chat and "tools (8)" in chat, run.report()
    result = fake.requests[1]["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and not result.get("is_error"), run.report()
    assert "echo: from neovim" in json.dumps(result), run.report()

"""The connections through the real SDK clients to the real test server: stdio, streamable HTTP and
SSE on 127.0.0.1; tools and their results; and the faults (a crash mid-call, a call that never
answers, a start that fails or takes too long, garbage on the wire), each contained: an error for
the call, a notice for the user, and no server process left behind."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

from agentls.mcp.config import Origin, ServerConfig, parse_entry
from agentls.mcp.manager import McpManager
from agentls.mcp.tool import McpTool
from agentls.tools.base import ToolContext, ToolError, ToolLimits, ToolOutput
from tests.mcp.helpers import echo_entry, http_server, pids, running, server_env, wait_gone

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

USER = Origin(level="user", path=Path("/home/me/.config/agentls/settings.json"))


def config(name: str, raw: dict[str, Any], env: dict[str, str] | None = None) -> ServerConfig:
    parsed = parse_entry(name, raw, USER, env or {})
    assert isinstance(parsed, ServerConfig), parsed
    return parsed


def manager(tmp_path: Path, *configs: ServerConfig) -> McpManager:
    return McpManager(configs, root=tmp_path, base_env=server_env()).start()


async def call(tool: McpTool, ctx: ToolContext, **arguments: Any) -> ToolOutput:
    return await tool.call(tool.parse(arguments), ctx)


def tools_of(m: McpManager) -> dict[str, McpTool]:
    return {t.name: t for t in m.tools()}


async def test_stdio_tools_calls_and_a_clean_stop(tmp_path: Path, tool_ctx: ToolContext) -> None:
    pid_file = tmp_path / "pids"
    m = manager(tmp_path, config("echo", echo_entry(pid_file)))
    try:
        await m.settle()
        [status] = m.status()
        assert (status.state, status.server) == ("connected", "echo")
        tools = tools_of(m)
        assert set(tools) >= {"mcp__echo__echo", "mcp__echo__add", "mcp__echo__peek", "mcp__echo__crash"}
        echo = tools["mcp__echo__echo"]
        assert echo.description(None) == "Repeat the text back."  # type: ignore[arg-type]
        assert echo.input_schema()["properties"]["text"]["type"] == "string"
        assert echo.tier == "plugin" and not echo.read_only
        assert tools["mcp__echo__peek"].read_only  # readOnlyHint: true, and only that one.
        assert [n for n, t in tools.items() if t.read_only] == ["mcp__echo__peek"]
        assert await call(echo, tool_ctx, text="hi") == ToolOutput("echo: hi")
        assert (await call(tools["mcp__echo__add"], tool_ctx, a=2, b=40)).content == "42"
        failed = await call(tools["mcp__echo__fail"], tool_ctx, reason="on purpose")
        assert failed.is_error and "fail" in failed.content
        bad = await call(tools["mcp__echo__add"], tool_ctx, a="two")  # The server checks its schema.
        assert bad.is_error
        assert m.take_notices() == []
    finally:
        await m.aclose()
    [pid] = pids(pid_file)
    wait_gone(pid)
    assert m.status()[0].state == "stopped"
    assert m.tools() == ()


async def test_a_crash_mid_call_is_an_error_a_notice_and_no_orphan(
    tmp_path: Path, tool_ctx: ToolContext
) -> None:
    pid_file = tmp_path / "pids"
    m = manager(tmp_path, config("echo", echo_entry(pid_file)))
    try:
        await m.settle()
        [pid] = pids(pid_file)
        version = m.version
        crash = tools_of(m)["mcp__echo__crash"]
        with pytest.raises(ToolError, match="closed the connection during the call"):
            await call(crash, tool_ctx)
        wait_gone(pid)
        [status] = m.status()
        assert status.state == "failed" and "closed the connection" in status.detail
        assert m.tools() == () and m.version > version
        notices = m.take_notices()
        assert any(
            level == "warning" and "MCP server echo stopped working" in text for level, text in notices
        )
        with pytest.raises(ToolError, match="not connected"):
            await call(crash, tool_ctx)  # A tool the model saw earlier: an error, not a hang.
    finally:
        await m.aclose()


async def test_a_call_that_never_answers_times_out_and_the_server_stays(
    tmp_path: Path, tool_ctx: ToolContext
) -> None:
    m = manager(tmp_path, config("echo", echo_entry(), {"MCP_TOOL_TIMEOUT": "1000"}))
    try:
        await m.settle()
        tools = tools_of(m)
        with pytest.raises(ToolError, match=r"did not answer hang within 1 s"):
            await call(tools["mcp__echo__hang"], tool_ctx)
        assert any("hang did not answer within 1 s" in text for _, text in m.take_notices())
        assert (
            await call(tools["mcp__echo__echo"], tool_ctx, text="still here")
        ).content == "echo: still here"
    finally:
        await m.aclose()


async def test_garbage_on_stdout_is_skipped(tmp_path: Path, tool_ctx: ToolContext) -> None:
    m = manager(tmp_path, config("echo", echo_entry()))
    try:
        await m.settle()
        tools = tools_of(m)
        assert (await call(tools["mcp__echo__garbage"], tool_ctx)).content == "answered after garbage"
        assert (await call(tools["mcp__echo__echo"], tool_ctx, text="x")).content == "echo: x"
    finally:
        await m.aclose()


async def test_a_changed_tool_list_reaches_the_pool(tmp_path: Path, tool_ctx: ToolContext) -> None:
    m = manager(tmp_path, config("echo", echo_entry()))
    try:
        await m.settle()
        version = m.version
        assert "mcp__echo__late" not in tools_of(m)
        await call(tools_of(m)["mcp__echo__grow"], tool_ctx)
        assert await _eventually(lambda: "mcp__echo__late" in tools_of(m))
        assert m.version > version
        assert (await call(tools_of(m)["mcp__echo__late"], tool_ctx)).content == "late tool here"
        assert any("its tools changed" in text for _, text in m.take_notices())
    finally:
        await m.aclose()


async def test_failed_starts_are_notices_and_never_raise(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    slow = config(
        "slow",
        echo_entry(pid_file, timeout=800, env={"ECHO_SLOW_START": "30", "ECHO_PID_FILE": str(pid_file)}),
    )
    missing = config("missing", {"command": str(tmp_path / "no-such-program")})
    exits = config(
        "exits",
        {"command": sys.executable, "args": ["-c", "import sys; print('bad config', file=sys.stderr)"]},
    )
    refused = config("refused", {"type": "http", "url": "http://127.0.0.1:9/mcp"})
    m = manager(tmp_path, slow, missing, exits, refused)
    try:
        await m.settle()
        states = {s.name: s for s in m.status()}
        assert {n: s.state for n, s in states.items()} == dict.fromkeys(states, "failed")
        assert "did not start within 0.8 s" in states["slow"].detail
        assert "no such program" in states["missing"].detail
        assert "bad config" in states["exits"].detail  # The last lines of its stderr.
        assert "cannot connect" in states["refused"].detail or "onnect" in states["refused"].detail
        notices = [text for _, text in m.take_notices()]
        assert len(notices) == 4 and all("could not start" in n for n in notices)
        assert m.tools() == ()
    finally:
        await m.aclose()
    [pid] = pids(pid_file)
    wait_gone(pid)  # A start given up on leaves no process either.


@pytest.mark.parametrize("mode", ["--http", "--sse"])
async def test_remote_servers_on_loopback(tmp_path: Path, tool_ctx: ToolContext, mode: str) -> None:
    with http_server(mode) as url:
        kind = "http" if mode == "--http" else "sse"
        m = manager(tmp_path, config("web", {"type": kind, "url": url, "headers": {"X-Test": "1"}}))
        try:
            await m.settle()
            [status] = m.status()
            assert status.state == "connected", status.detail
            tools = tools_of(m)
            assert (
                await call(tools["mcp__web__echo"], tool_ctx, text="over http")
            ).content == "echo: over http"
            assert tools["mcp__web__peek"].read_only
        finally:
            await m.aclose()


async def test_output_is_capped(tmp_path: Path, tool_ctx: ToolContext) -> None:
    m = manager(tmp_path, config("echo", echo_entry()))
    try:
        await m.settle()
        small = ToolContext(tool_ctx.workspace, tool_ctx.read_state, limits=ToolLimits(mcp_output_chars=20))
        out = await call(tools_of(m)["mcp__echo__echo"], small, text="x" * 100)
        assert (
            out.content.startswith("echo: xxxxxxxxxxxxxx")
            and "Output cut at 20 of 106 characters" in out.content
        )
    finally:
        await m.aclose()


async def _eventually(condition: Any, within_s: float = 30.0) -> bool:
    for _ in range(int(within_s / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return False


def test_running_knows_a_dead_pid() -> None:
    assert not running(2**22 + 12345)


async def test_closing_without_waiting_still_stops_the_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    m = manager(tmp_path, config("echo", echo_entry(pid_file)))
    await m.settle()
    [pid] = pids(pid_file)
    m.close_now()  # As `Session.close` from synchronous code: the SDK's shutdown goes on by itself.
    assert await _eventually(lambda: not running(pid))
    assert m.status()[0].state == "stopped"

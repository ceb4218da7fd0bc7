"""Deferred MCP tools and ToolSearch, in process: what a query finds, when deferral begins (the
setting, the threshold, a deny rule on ToolSearch), that the requests' tool list only grows
(tools sent before deferral began, loaded tools through `/clear`, a resume), that a call to a tool
the model has not loaded is not run, and that a subagent defers its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentls.core.config import AgentConfig
from agentls.core.context.settings import ContextConfig
from agentls.core.deferred_tools.search import Candidate, find
from agentls.core.deferred_tools.setting import search_setting
from agentls.core.events import CommandOutput, Notice, ToolCallFinished
from agentls.core.mcp_port import McpServers, McpStart
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.core.session import Session, SessionDeps
from agentls.policy.loader import SettingsSources
from agentls.store.sessions import SessionStore
from agentls.tools.base import ToolEnv
from agentls.workspace.disk import DiskWorkspace
from tests.core.fakes import ScriptedApprover
from tests.mcp.test_pool import FakeServers, FakeTool

LONG = " It does one small thing, described at length so that its definition is big." * 5


class BigTool(FakeTool):
    def description(self, env: ToolEnv) -> str:
        return f"Tool {self.name.rsplit('__', 1)[-1]}.{LONG}"


class ManyServers(FakeServers):
    def grow(self, count: int, prefix: str = "t") -> None:
        for i in range(count):
            self._tools.append(BigTool(f"mcp__fake__{prefix}{i:02d}", self))
        self.version += 1


# --- what a query finds -----------------------------------------------------------------------------

TOOLS = [
    Candidate("mcp__github__create_issue", "github", "Create an issue in a repository."),
    Candidate("mcp__github__get_issue", "github", "Read one issue."),
    Candidate("mcp__slack__send_message", "slack", "Send a message to a channel."),
    Candidate("mcp__slack__read_channel", "slack", "Read a channel's messages, issues included."),
]


def names(found: Any) -> list[str]:
    return [c.name for c in found.tools]


def test_select_names_exact_tools_and_says_which_are_not_there() -> None:
    found = find("select:mcp__slack__send_message, MCP__GITHUB__GET_ISSUE,nope", TOOLS, 5)
    assert names(found) == ["mcp__slack__send_message", "mcp__github__get_issue"]
    assert found.missing == ("nope",)


def test_keywords_rank_name_words_over_descriptions() -> None:
    assert names(find("issue", TOOLS, 5)) == [
        "mcp__github__create_issue",
        "mcp__github__get_issue",
        "mcp__slack__read_channel",
    ]
    assert names(find("github issue", TOOLS, 1)) == ["mcp__github__create_issue"]
    assert names(find("mcp__slack__read_channel", TOOLS, 5)) == ["mcp__slack__read_channel"]
    assert names(find("weather", TOOLS, 5)) == []


def test_a_plus_word_must_be_in_the_name() -> None:
    assert names(find("+slack issue", TOOLS, 5)) == ["mcp__slack__read_channel"]
    assert names(find("+slack", TOOLS, 5)) == ["mcp__slack__read_channel", "mcp__slack__send_message"]


@pytest.mark.parametrize(
    ("value", "percent"),
    [
        ("auto", 10.0),
        ("", 10.0),
        ("auto:5", 5.0),
        ("auto:0", 0.0),
        ("true", 0.0),
        ("1", 0.0),
        ("false", None),
    ],
)
def test_the_setting_follows_claude_codes_values(value: str, percent: float | None) -> None:
    setting, warnings = search_setting({}, {"ENABLE_TOOL_SEARCH": value})
    assert (setting.percent, warnings) == (percent, [])


def test_the_settings_env_wins_and_a_bad_value_is_a_warning() -> None:
    setting, _ = search_setting(
        {"ENABLE_TOOL_SEARCH": ("false", "user settings")}, {"ENABLE_TOOL_SEARCH": "true"}
    )
    assert setting.percent is None and "user settings" in setting.describe()
    setting, warnings = search_setting({}, {"ENABLE_TOOL_SEARCH": "auto:200"})
    assert setting.percent == 10.0 and "auto:200" in warnings[0]
    assert search_setting({}, {})[0].percent == 10.0


# --- in a session ------------------------------------------------------------------------------------


async def start(
    project: Path, tmp_path: Path, steps: list[Any], settings: dict[str, Any], tools: int = 30
) -> tuple[Session, ManyServers, ScriptedModel]:
    servers = ManyServers()
    servers.grow(tools)

    def starter(setup: McpStart) -> McpServers:
        return servers

    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "settings.json").write_text(json.dumps(settings))
    model = ScriptedModel(steps)
    deps = SessionDeps(
        config=AgentConfig(model="test-model", retry_base_delay_s=0.0, context=ContextConfig(window=200_000)),
        model=model,
        workspace=DiskWorkspace(project),
        approver=ScriptedApprover([]),
        settings=SettingsSources(project=project, home=tmp_path / "home", config=config, managed=()),
        store=SessionStore(tmp_path / "sessions"),
        mcp=starter,
    )
    return await Session.start(deps), servers, model


def sent(request: Any) -> list[str]:
    return [t.name for t in request.tools]


def mcp(request: Any) -> list[str]:
    return [n for n in sent(request) if n.startswith("mcp__")]


# 30 big tools are about 4,000 tokens: over 1% of the window (`auto:1`), under the default 10%.
AUTO_1 = {"env": {"ENABLE_TOOL_SEARCH": "auto:1"}, "permissions": {"allow": ["mcp__fake"]}}


async def test_under_the_threshold_every_definition_is_sent(project: Path, tmp_path: Path) -> None:
    session, _, model = await start(project, tmp_path, [Reply([Text("hi")])], {})
    [e async for e in session.run("go").events()]
    (request,) = model.requests
    assert "ToolSearch" not in sent(request) and len(mcp(request)) == 31
    await session.end()


async def test_searching_loads_tools_for_the_rest_of_the_session(project: Path, tmp_path: Path) -> None:
    steps = [
        Reply([ToolCall("ToolSearch", {"query": "select:mcp__fake__t07,mcp__fake__nope"})]),
        Reply([ToolCall("mcp__fake__t07", {"x": "a"})]),
        Reply([Text("done")]),
        Reply([Text("after the clear")]),
    ]
    session, _, model = await start(project, tmp_path, steps, AUTO_1)
    events = [e async for e in session.run("go").events()]
    first, second, third = model.requests
    assert mcp(first) == [] and sent(first)[-1] == "ToolSearch"
    search = next(t for t in first.tools if t.name == "ToolSearch")
    assert "- mcp__fake__t07: Tool t07." in search.description
    assert any(isinstance(e, Notice) and "ToolSearch" in e.message for e in events)
    found, called = (e for e in events if isinstance(e, ToolCallFinished))
    assert (
        "- mcp__fake__t07: Tool t07." in found.output
        and "Not deferred tools here: mcp__fake__nope" in found.output
    )
    assert mcp(second) == ["mcp__fake__t07"] and sent(third) == sent(second)
    assert called.output == 'mcp__fake__t07 got {"x": "a"}' and not called.is_error
    status = await session.submit("/mcp")
    [output] = [e async for e in status.events() if isinstance(e, CommandOutput)]
    assert "Tool search is on (past 1% of the context window, ENABLE_TOOL_SEARCH=auto:1" in output.text
    assert "loaded 1 of the 31 MCP tools" in output.text and "mcp__fake__t08 (deferred)" in output.text
    shown = await session.submit("/context")
    [context] = [e async for e in shown.events() if isinstance(e, CommandOutput)]
    assert "Deferred (not sent until ToolSearch loads them): 30 MCP tools" in context.text
    cleared = await session.submit("/clear")
    [e async for e in cleared.events()]
    [e async for e in session.run("again").events()]
    assert sent(model.requests[-1]) == sent(second)  # Still loaded: the cached tools stay.
    sid = session.state.session_id
    await session.end()
    # A resume sends the loaded tools again.
    steps2 = [Reply([Text("resumed")])]
    model2 = ScriptedModel(steps2)
    servers2 = ManyServers()
    servers2.grow(30)
    deps = SessionDeps(
        config=AgentConfig(model="test-model", context=ContextConfig(window=200_000)),
        model=model2,
        workspace=DiskWorkspace(project),
        approver=ScriptedApprover([]),
        settings=session.state.permissions.sources if session.state.permissions else None,
        store=SessionStore(tmp_path / "sessions"),
        mcp=lambda _setup: servers2,
    )
    resumed = await Session.resume(deps, sid)
    [e async for e in resumed.run("go on").events()]
    assert sent(model2.requests[0]) == sent(second)
    await resumed.end()


async def test_a_call_to_a_tool_not_loaded_is_not_run_and_loads_it(project: Path, tmp_path: Path) -> None:
    steps = [
        Reply([ToolCall("ToolSearch", {"query": "t03"}), ToolCall("mcp__fake__t03", {"x": "guess"})]),
        Reply([ToolCall("mcp__fake__t04", {"x": "guess"})]),
        Reply([Text("done")]),
    ]
    session, _, model = await start(project, tmp_path, steps, AUTO_1)
    events = [e async for e in session.run("go").events()]
    searched, early, direct = (e for e in events if isinstance(e, ToolCallFinished))
    assert not searched.is_error
    # In the response that searched for it: the model had not seen its schema yet.
    assert early.is_error and "not run" in early.output and "It is loaded now" in early.output
    assert direct.is_error and "mcp__fake__t04 is a deferred tool" in direct.output
    assert mcp(model.requests[1]) == ["mcp__fake__t03"]
    assert mcp(model.requests[2]) == ["mcp__fake__t03", "mcp__fake__t04"]
    await session.end()


async def test_tools_sent_before_deferral_began_stay(project: Path, tmp_path: Path) -> None:
    steps = [Reply([Text("one")]), Reply([Text("two")])]
    session, servers, model = await start(project, tmp_path, steps, AUTO_1, tools=2)
    [e async for e in session.run("go").events()]
    servers.grow(40, prefix="u")  # The server's list grows past the threshold.
    [e async for e in session.run("go on").events()]
    first, second = model.requests
    assert "ToolSearch" not in sent(first) and "ToolSearch" in sent(second)
    assert mcp(second) == mcp(first) == ["mcp__fake__one", "mcp__fake__t00", "mcp__fake__t01"]
    await session.end()


async def test_always_on_and_a_deny_rule_on_tool_search(project: Path, tmp_path: Path) -> None:
    on = {"env": {"ENABLE_TOOL_SEARCH": "true"}}
    session, _, model = await start(project, tmp_path, [Reply([Text("hi")])], on, tools=0)
    [e async for e in session.run("go").events()]
    assert mcp(model.requests[0]) == [] and "ToolSearch" in sent(model.requests[0])
    await session.end()
    denied = {**on, "permissions": {"deny": ["ToolSearch"]}}
    session, _, model = await start(project, tmp_path, [Reply([Text("hi")])], denied, tools=0)
    [e async for e in session.run("go").events()]
    assert mcp(model.requests[0]) == ["mcp__fake__one"]  # No way to load them: all are sent.
    await session.end()


async def test_a_search_leaves_out_tools_a_deny_rule_hides(project: Path, tmp_path: Path) -> None:
    settings = {**AUTO_1, "permissions": {"deny": ["mcp__fake__t01"], "allow": ["mcp__fake"]}}
    steps = [Reply([ToolCall("ToolSearch", {"query": "+t0", "max_results": 3})]), Reply([Text("done")])]
    session, _, model = await start(project, tmp_path, steps, settings)
    events = [e async for e in session.run("go").events()]
    [found] = [e for e in events if isinstance(e, ToolCallFinished)]
    assert "mcp__fake__t00" in found.output and "mcp__fake__t01" not in found.output
    assert mcp(model.requests[1]) == ["mcp__fake__t00", "mcp__fake__t02", "mcp__fake__t03"]
    await session.end()


async def test_a_subagent_defers_its_own(project: Path, tmp_path: Path) -> None:
    task = {"description": "Use t05", "prompt": "Use t05", "subagent_type": "general-purpose"}
    steps = [
        Reply([ToolCall("Agent", task)]),
        Reply([ToolCall("ToolSearch", {"query": "select:mcp__fake__t05"})]),
        Reply([ToolCall("mcp__fake__t05", {"x": "sub"})]),
        Reply([Text("SUB DONE")]),
        Reply([Text("done")]),
    ]
    settings = {**AUTO_1, "permissions": {"allow": ["mcp__fake", "Agent"]}}
    session, _, model = await start(project, tmp_path, steps, settings)
    [e async for e in session.run("go").events()]
    parent_first, sub_first, sub_second, _, parent_last = model.requests
    assert "ToolSearch" in sent(sub_first) and mcp(sub_first) == []
    assert mcp(sub_second) == ["mcp__fake__t05"]
    assert "SUB DONE" in json.dumps(parent_last.model_dump(mode="json")["messages"][-1])
    assert mcp(parent_last) == []  # The subagent's loads are its own.
    assert sent(parent_last) == sent(parent_first)
    await session.end()

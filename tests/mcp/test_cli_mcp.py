"""MCP end to end: `agentls run` as a subprocess, the fake Messages API, the real SDK clients and the
test server. The model calls MCP tools and reads their results; permission rules hold; crashes and
hangs are error results and the turn finishes; an untrusted project spawns nothing; bad entries are
warnings; and no server process outlives the run (checked in the process table)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import TIMEOUT_S, cli_argv, cli_env, parse_events
from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall
from tests.mcp.helpers import echo_entry, pids, running, wait_gone

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@dataclass
class World:
    project: Path
    home: Path
    config: Path
    pid_file: Path
    tmp: Path

    def env(self, base_url: str | None = None, **extra: str) -> dict[str, str]:
        out = cli_env(self.tmp / "agentls", base_url)
        out["HOME"] = str(self.home)
        out["XDG_CONFIG_HOME"] = str(self.config.parent)
        out.update(extra)
        return out

    def user_settings(self, data: dict[str, Any]) -> Path:
        path = self.config / "settings.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
        return path

    def run(
        self, args: list[str], base_url: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            cli_argv(args),
            env=self.env(base_url, **env),
            cwd=self.project,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S * 3,
            check=False,
        )


@pytest.fixture
def world(tmp_path: Path) -> World:
    project = tmp_path / "proj"
    project.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    return World(project, home, tmp_path / "xdg" / "agentls", tmp_path / "pids", tmp_path)


def mcp_config(**servers: dict[str, Any]) -> str:
    return json.dumps({"mcpServers": servers})


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t["name"] for t in body.get("tools", [])]


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    content = body["messages"][-1]["content"]
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def result_text(block: dict[str, Any]) -> str:
    inner = block.get("content")
    return inner if isinstance(inner, str) else "".join(c.get("text", "") for c in inner or [])


def notices(events: list[dict[str, Any]]) -> list[str]:
    return [e["message"] for e in events if e["kind"] == "notice"]


def all_gone(pid_file: Path) -> None:
    found = pids(pid_file)
    assert found, "the MCP server never started"
    for pid in found:
        wait_gone(pid)


def replies(*steps: Reply | Callable[[dict[str, Any]], Reply]) -> list[Any]:
    return list(steps)


def test_the_model_calls_an_mcp_tool_and_reads_the_result(world: World) -> None:
    world.user_settings({"permissions": {"allow": ["mcp__echo"]}})
    # `${VAR:-default}`: the pid file's path comes from the default (the variable is not set).
    entry = echo_entry()
    entry["env"] = {"ECHO_PID_FILE": "${ECHO_PID_PATH_UNSET:-" + str(world.pid_file) + "}"}
    script = [
        Reply([ToolCall("mcp__echo__echo", {"text": "hello"})]),
        Reply([Text("The server said hello.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        done = world.run(
            ["run", "say hello", "--output-format", "stream-json", "--mcp-config", mcp_config(echo=entry)],
            fake.base_url,
        )
    assert done.returncode == 0, done.stderr
    first, second = fake.requests
    tools = {t["name"]: t for t in first["tools"]}
    assert tools["mcp__echo__echo"]["description"] == "Repeat the text back."
    assert tools["mcp__echo__echo"]["input_schema"]["required"] == ["text"]
    names = tool_names(first)
    at = [i for i, n in enumerate(names) if n.startswith("mcp__")]
    assert len(at) == 8 and at == list(range(len(names) - 8, len(names)))  # After agentls' own tools.
    [result] = tool_results(second)
    assert result_text(result) == "echo: hello" and not result.get("is_error")
    events = parse_events(done.stdout)
    assert events[-1]["kind"] == "turn_ended" and events[-1]["stop"]["kind"] == "end_turn"
    all_gone(world.pid_file)


def test_deny_rules_hold_for_a_tool_and_for_a_whole_server(world: World) -> None:
    world.user_settings({"permissions": {"allow": ["mcp__echo"], "deny": ["mcp__echo__echo"]}})
    config = mcp_config(echo=echo_entry(world.pid_file))
    script = [Reply([ToolCall("mcp__echo__echo", {"text": "x"})]), Reply([Text("ok")])]
    with FakeMessagesAPI(script) as fake:
        done = world.run(
            ["run", "try", "--output-format", "stream-json", "--mcp-config", config], fake.base_url
        )
    assert done.returncode == 0, done.stderr
    first, second = fake.requests
    assert "mcp__echo__echo" not in tool_names(first) and "mcp__echo__add" in tool_names(first)
    [result] = tool_results(second)
    assert result.get("is_error") and "denied by the rule mcp__echo__echo" in result_text(result)

    world.user_settings({"permissions": {"deny": ["mcp__echo"]}})
    with FakeMessagesAPI([Reply([Text("nothing to use")])]) as fake:
        done = world.run(
            ["run", "try", "--output-format", "stream-json", "--mcp-config", config], fake.base_url
        )
    assert done.returncode == 0, done.stderr
    assert not [n for n in tool_names(fake.requests[0]) if n.startswith("mcp__")]
    all_gone(world.pid_file)


def test_a_hang_and_a_crash_are_error_results_and_the_turn_finishes(world: World) -> None:
    world.user_settings({"permissions": {"allow": ["mcp__echo"]}})
    config = mcp_config(echo=echo_entry(world.pid_file))
    script = [
        Reply([ToolCall("mcp__echo__hang", {})]),
        Reply([ToolCall("mcp__echo__crash", {})]),
        Reply([ToolCall("mcp__echo__echo", {"text": "anyone?"})]),
        Reply([Text("The server is gone; I carried on.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        done = world.run(
            ["run", "break it", "--output-format", "stream-json", "--mcp-config", config],
            fake.base_url,
            MCP_TOOL_TIMEOUT="1500",
        )
    assert done.returncode == 0, done.stderr
    _, after_hang, after_crash, last = fake.requests
    [hang] = tool_results(after_hang)
    assert hang.get("is_error") and "did not answer hang within 1.5 s" in result_text(hang)
    [crash] = tool_results(after_crash)
    assert crash.get("is_error") and "closed the connection during the call" in result_text(crash)
    assert not [n for n in tool_names(last) if n.startswith("mcp__echo")]  # Its tools left the pool.
    [unknown] = tool_results(last)
    assert unknown.get("is_error")  # Called anyway: an error result, not a hang.
    events = parse_events(done.stdout)
    said = notices(events)
    assert any("hang did not answer within 1.5 s" in n for n in said)
    assert any("MCP server echo stopped working" in n for n in said)
    assert events[-1]["stop"]["kind"] == "end_turn"
    all_gone(world.pid_file)


def test_an_untrusted_projects_servers_spawn_nothing(world: World) -> None:
    (world.project / ".mcp.json").write_text(mcp_config(echo=echo_entry(world.pid_file)))
    with FakeMessagesAPI([Reply([Text("no tools here")])]) as fake:
        done = world.run(["run", "hi", "--output-format", "stream-json"], fake.base_url)
    assert done.returncode == 0, done.stderr
    assert not [n for n in tool_names(fake.requests[0]) if n.startswith("mcp__")]
    said = " ".join(notices(parse_events(done.stdout)))
    assert "MCP servers (echo)" in said and "not trusted" in said
    assert pids(world.pid_file) == []


def test_a_trusted_project_server_runs_once_approved_and_subagents_get_its_tools(world: World) -> None:
    (world.project / ".mcp.json").write_text(mcp_config(echo=echo_entry(world.pid_file)))
    trust = world.run(["trust"])
    assert trust.returncode == 0, trust.stderr
    # No terminal to ask: the run refuses to start it, and says how to approve it.
    with FakeMessagesAPI([Reply([Text("hi")])]) as fake:
        done = world.run(["run", "hi", "--output-format", "stream-json"], fake.base_url)
    assert done.returncode == 0, done.stderr
    assert any("MCP server echo" in n and "not approved" in n for n in notices(parse_events(done.stdout)))
    assert pids(world.pid_file) == []
    # Approved as Claude Code records it: it runs, and a subagent has its tools too.
    world.user_settings({"enabledMcpjsonServers": ["echo"], "permissions": {"allow": ["mcp__echo"]}})

    def is_subagent(body: dict[str, Any]) -> bool:
        system = "".join(b.get("text", "") for b in body.get("system") or [])
        return "subagent" in system.split("\n", 1)[0]

    def respond(body: dict[str, Any]) -> Reply:
        if is_subagent(body):
            if len(body["messages"]) == 1:
                return Reply([ToolCall("mcp__echo__add", {"a": 20, "b": 22})])
            return Reply([Text("SUB: " + result_text(tool_results(body)[0]))])
        if len(body["messages"]) == 1:
            task = {"description": "Add", "prompt": "Add 20 and 22", "subagent_type": "general-purpose"}
            return Reply([ToolCall("Agent", task)])
        return Reply([Text("done")])

    with FakeMessagesAPI([respond] * 4) as fake:
        done = world.run(["run", "add", "--output-format", "stream-json"], fake.base_url)
    assert done.returncode == 0, done.stderr
    sub_first = next(b for b in fake.requests if is_subagent(b))
    assert "mcp__echo__add" in tool_names(sub_first)
    assert "mcp__echo__echo" in tool_names(sub_first)
    parent_last = fake.requests[-1]
    assert "SUB: 42" in json.dumps(parent_last["messages"][-1])
    all_gone(world.pid_file)


def test_bad_entries_are_warnings_naming_the_file_and_the_rest_load(world: World) -> None:
    settings = world.user_settings(
        {"mcpServers": {"typo": {"type": "stdoi", "command": "x"}}, "permissions": {"allow": ["mcp__echo"]}}
    )
    extra = world.tmp / "servers.json"
    extra.write_text(mcp_config(remote={"url": "http://127.0.0.1:9/mcp"}, echo=echo_entry(world.pid_file)))
    broken = world.tmp / "broken.json"
    broken.write_text("{ not json")
    with FakeMessagesAPI([Reply([Text("fine")])]) as fake:
        done = world.run(
            [
                "run",
                "hi",
                "--output-format",
                "stream-json",
                "--mcp-config",
                str(extra),
                "--mcp-config",
                str(broken),
                "--mcp-config",
                mcp_config(empty={"command": "${NOT_SET_ANYWHERE}"}),
            ],
            fake.base_url,
        )
    assert done.returncode == 0, done.stderr
    said = notices(parse_events(done.stdout))
    assert any(str(settings) in n and "'typo'" in n and "unknown type" in n for n in said)
    assert any(str(extra) in n and "'remote'" in n and "needs a `type`" in n for n in said)
    assert any(str(broken) in n and "not valid JSON" in n for n in said)
    assert any("'empty'" in n and "${NOT_SET_ANYWHERE} is not set" in n for n in said)
    assert "mcp__echo__echo" in tool_names(fake.requests[0])
    all_gone(world.pid_file)


def test_the_mcp_slash_command(world: World) -> None:
    config = mcp_config(echo=echo_entry(world.pid_file), gone={"command": str(world.tmp / "no-such")})
    done = world.run(["run", "/mcp", "--output-format", "stream-json", "--mcp-config", config])
    assert done.returncode == 0, done.stderr
    [output] = [e for e in parse_events(done.stdout) if e["kind"] == "command_output"]
    text = output["text"]
    assert "MCP servers (1 of 2 connected):" in text
    assert "echo · connected" in text and "mcp__echo__echo" in text and "tools (8)" in text
    assert "gone · failed: cannot run" in text
    assert {s["name"]: s["state"] for s in output["data"]["servers"]} == {
        "echo": "connected",
        "gone": "failed",
    }
    all_gone(world.pid_file)


def test_mcp_list_add_get_remove(world: World) -> None:
    entry = echo_entry(world.pid_file)
    added = world.run(
        [
            "mcp",
            "add",
            "echo",
            "-e",
            f"ECHO_PID_FILE={world.pid_file}",
            "--",
            *[entry["command"], *entry["args"]],
        ]
    )
    assert added.returncode == 0, added.stderr
    local = world.project / ".agentls" / "settings.local.json"
    assert f"to local settings ({local})" in added.stdout
    assert json.loads(local.read_text())["mcpServers"]["echo"] == {
        "type": "stdio",
        "command": entry["command"],
        "args": entry["args"],
        "env": {"ECHO_PID_FILE": str(world.pid_file)},
    }
    web = world.run(
        [
            "mcp",
            "add",
            "--scope",
            "user",
            "--transport",
            "http",
            "-H",
            "Authorization: Bearer t",
            "web",
            "http://127.0.0.1:9/mcp",
        ]
    )
    assert web.returncode == 0, web.stderr
    shared = world.run(["mcp", "add", "-s", "project", "shared", "--", "some-server", "--flag"])
    assert shared.returncode == 0 and "approves it once" in shared.stdout
    dup = world.run(["mcp", "add", "echo", "--", "other"])
    assert dup.returncode == 2 and "already has an MCP server 'echo'" in dup.stderr

    listed = world.run(["mcp", "list", "--json"])
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    by_name = {s["name"]: s for s in data["servers"]}
    assert set(by_name) == {"echo", "web"}  # The project's `shared`: the folder is not trusted.
    assert by_name["web"]["headers"] == ["Authorization"] and by_name["web"]["level"] == "user"
    assert any("MCP servers (shared)" in w and "not trusted" in w for w in data["warnings"])

    checked = world.run(["mcp", "list", "--check"])
    assert checked.returncode == 0, checked.stderr
    assert "echo:" in checked.stdout and "connected · 8 tools: mcp__echo__echo" in checked.stdout
    assert "web:" in checked.stdout and "failed" in checked.stdout
    all_gone(world.pid_file)

    got = world.run(["mcp", "get", "web"])
    assert got.returncode == 0 and "url: http://127.0.0.1:9/mcp" in got.stdout
    assert "headers: Authorization (values not shown)" in got.stdout and "Bearer" not in got.stdout
    missing = world.run(["mcp", "get", "nope"])
    assert missing.returncode == 1 and "no MCP server 'nope'" in missing.stderr

    for name in ("echo", "web", "shared"):
        removed = world.run(["mcp", "remove", name])
        assert removed.returncode == 0, removed.stderr
    assert world.run(["mcp", "remove", "echo"]).returncode == 1
    empty = world.run(["mcp", "list"])
    assert "No MCP servers" in empty.stdout
    assert not any(running(pid) for pid in pids(world.pid_file))


def test_an_mcp_prompt_runs_as_a_slash_command(world: World) -> None:
    config = mcp_config(echo=echo_entry(world.pid_file))
    with FakeMessagesAPI([Reply([Text("Reviewed.")])]) as fake:
        done = world.run(
            [
                "run",
                "/mcp__echo__review app.py security issues",
                "--output-format",
                "stream-json",
                "--mcp-config",
                config,
            ],
            fake.base_url,
        )
        assert done.returncode == 0, done.stderr
        (request,) = fake.requests
    # The last declared argument took the rest of the line; the server's text is the prompt.
    said = json.dumps(request["messages"][-1])
    assert "Review app.py, looking for security issues. ECHO-PROMPT" in said
    missing = world.run(["run", "/mcp__echo__review", "--mcp-config", config])
    assert missing.returncode != 0 and "needs path" in missing.stderr, missing.stderr
    listed = world.run(["run", "/mcp", "--output-format", "stream-json", "--mcp-config", config])
    [output] = [e for e in parse_events(listed.stdout) if e["kind"] == "command_output"]
    assert "prompts (1): /mcp__echo__review" in output["text"]
    assert "resources (1): @echo:echo://guide" in output["text"]
    all_gone(world.pid_file)


def test_a_resource_mention_attaches_the_resource(world: World) -> None:
    config = mcp_config(echo=echo_entry(world.pid_file))
    with FakeMessagesAPI([Reply([Text("Read it.")]), Reply([Text("Still fine.")])]) as fake:
        done = world.run(
            [
                "run",
                "Follow @echo:echo://guide, please.",
                "--output-format",
                "stream-json",
                "--mcp-config",
                config,
            ],
            fake.base_url,
        )
        assert done.returncode == 0, done.stderr
        said = json.dumps(fake.requests[0]["messages"][-1])
        assert '<mcp_resource server=\\"echo\\" uri=\\"echo://guide\\">' in said and "GUIDE-TEXT" in said
        # A resource the server does not have: the mention stays text, the user is told.
        bad = world.run(
            [
                "run",
                "See @echo:echo://missing and me@example.com",
                "--output-format",
                "stream-json",
                "--mcp-config",
                config,
            ],
            fake.base_url,
        )
        assert bad.returncode == 0, bad.stderr
        said = json.dumps(fake.requests[1]["messages"][-1])
    assert "@echo:echo://missing" in said and "<mcp_resource" not in said
    assert any("@echo:echo://missing was not attached" in n for n in notices(parse_events(bad.stdout)))
    all_gone(world.pid_file)


def test_many_tools_are_deferred_and_found_with_tool_search(world: World) -> None:
    world.user_settings({"permissions": {"allow": ["mcp__echo"]}})
    entry = echo_entry(world.pid_file)
    entry["env"]["ECHO_MANY_TOOLS"] = "40"
    config = mcp_config(echo=entry)
    run = ["run", "--output-format", "stream-json", "--mcp-config", config, "--context-window", "200000"]
    script = [
        # A deferred tool called before it was loaded: not run, loaded for the next response.
        Reply([ToolCall("mcp__echo__filler_03", {"text": "x"})]),
        Reply([ToolCall("ToolSearch", {"query": "translate language"})]),
        Reply([ToolCall("mcp__echo__translate", {"text": "hello", "to": "fr"})]),
        Reply([Text("Translated.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        # 40 long definitions are more than 1% of the window (`auto:1`); the default 10% is not.
        done = world.run([*run, "translate hello"], fake.base_url, ENABLE_TOOL_SEARCH="auto:1")
    assert done.returncode == 0, done.stderr
    first, second, third, fourth = fake.requests
    names = tool_names(first)
    assert "ToolSearch" in names and "Read" in names
    assert [n for n in names if n.startswith("mcp__")] == ["mcp__echo__pinned"]  # alwaysLoad
    search = next(t for t in first["tools"] if t["name"] == "ToolSearch")
    assert "- mcp__echo__translate: Translate text into another language" in search["description"]
    assert search["input_schema"]["required"] == ["query"]
    [refused] = tool_results(second)
    assert (
        refused["is_error"] and "deferred tool" in result_text(refused) and "not run" in result_text(refused)
    )
    assert tool_names(second) == [*names, "mcp__echo__filler_03"]
    [found] = tool_results(third)
    assert "- mcp__echo__translate: Translate text" in result_text(found)
    assert "mcp__echo__translate" in tool_names(third) and "mcp__echo__filler_03" in tool_names(third)
    [translated] = tool_results(fourth)
    assert result_text(translated) == "translated to fr: hello"
    # Loaded tools stay: the tool list only grew, and it is the same for the last request.
    assert tool_names(fourth) == tool_names(third)
    assert any("ToolSearch" in n for n in notices(parse_events(done.stdout)))
    # A resumed session sends the tools it had loaded.
    sid = next(e["session_id"] for e in parse_events(done.stdout) if e["kind"] == "session_started")
    with FakeMessagesAPI([Reply([Text("Again.")])]) as fake:
        again = world.run([*run, "--resume", sid, "once more"], fake.base_url, ENABLE_TOOL_SEARCH="auto:1")
        assert again.returncode == 0, again.stderr
        (resumed,) = fake.requests
    assert tool_names(resumed) == tool_names(fourth)
    # The default threshold (10%) is not reached: every definition is sent, and no ToolSearch.
    with FakeMessagesAPI([Reply([Text("All of them.")])]) as fake:
        off = world.run([*run, "hi"], fake.base_url)
        assert off.returncode == 0, off.stderr
        (everything,) = fake.requests
    assert "ToolSearch" not in tool_names(everything) and "mcp__echo__filler_39" in tool_names(everything)
    all_gone(world.pid_file)

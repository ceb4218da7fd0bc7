"""Server entries (Claude Code's format) and where a session's servers come from: precedence,
trust, `${VAR}` expansion, and a warning (never a crash) for every bad entry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentls.mcp.config import (
    DEFAULT_CALL_S,
    DEFAULT_STARTUP_S,
    Origin,
    ServerConfig,
    parse_entry,
    server_name,
)
from agentls.mcp.sources import FoundServers, find_servers
from agentls.policy.loader import SettingsSources

ORIGIN = Origin(level="project", path=Path("/p/.mcp.json"))


def parse(raw: object, env: dict[str, str] | None = None, name: str = "srv") -> ServerConfig | str:
    return parse_entry(name, raw, ORIGIN, env or {})


def test_a_stdio_entry_with_or_without_its_type() -> None:
    for raw in (
        {"command": "npx", "args": ["-y", "pkg"]},
        {"type": "stdio", "command": "npx", "args": ["-y", "pkg"]},
    ):
        config = parse(raw)
        assert isinstance(config, ServerConfig)
        assert (config.transport, config.command, config.args) == ("stdio", "npx", ("-y", "pkg"))
        assert config.target == "npx -y pkg"
        assert (config.startup_timeout_s, config.call_timeout_s) == (DEFAULT_STARTUP_S, DEFAULT_CALL_S)


@pytest.mark.parametrize(
    ("kind", "transport"), [("http", "http"), ("streamable-http", "http"), ("sse", "sse")]
)
def test_remote_entries(kind: str, transport: str) -> None:
    config = parse({"type": kind, "url": "https://h/mcp", "headers": {"Authorization": "Bearer x"}})
    assert isinstance(config, ServerConfig)
    assert (config.transport, config.url, config.headers) == (
        transport,
        "https://h/mcp",
        {"Authorization": "Bearer x"},
    )


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"url": "https://h/mcp"}, "a `url` needs a `type`"),
        ({"type": "websocket", "url": "wss://h"}, "unknown type 'websocket'"),
        ({"type": "stdio"}, "`command` is missing"),
        ({"type": "http"}, "`url` is missing"),
        ({}, "needs a `command`"),
        ([], "must be a JSON object"),
        ({"command": "x", "args": "a b"}, "`args`"),
        ({"command": "x", "env": {"A": 1}}, "`env.A`"),
        ({"command": "x", "timeout": -5}, "`timeout`"),
        ({"type": "http", "url": "ftp://h"}, "http:// or https://"),
        ({"command": "${NOPE}"}, "${NOPE} is not set"),
    ],
)
def test_a_bad_entry_is_one_sentence_naming_the_server_and_the_file(raw: object, problem: str) -> None:
    text = parse(raw)
    assert isinstance(text, str)
    assert problem in text
    assert text.startswith("MCP server 'srv' in project settings (/p/.mcp.json): ")
    assert text.endswith("it was not loaded")


def test_variables_are_expanded_everywhere_with_defaults() -> None:
    env = {"TOKEN": "t0k", "EMPTY": ""}
    stdio = parse(
        {
            "command": "${BIN:-node}",
            "args": ["--token=${TOKEN}", "${EMPTY:-fallback}", "$LITERAL"],
            "env": {"KEY": "${TOKEN}", "OTHER": "${MISSING:-}"},
        },
        env,
    )
    assert isinstance(stdio, ServerConfig)
    assert stdio.command == "node"
    assert stdio.args == ("--token=t0k", "fallback", "$LITERAL")
    assert stdio.env == {"KEY": "t0k", "OTHER": ""}
    assert stdio.entry["command"] == "${BIN:-node}"  # What the user approves: as written.
    remote = parse(
        {"type": "http", "url": "${HOST:-http://127.0.0.1:9}/mcp", "headers": {"X": "${TOKEN}"}}, env
    )
    assert isinstance(remote, ServerConfig)
    assert (remote.url, remote.headers) == ("http://127.0.0.1:9/mcp", {"X": "t0k"})


def test_timeouts_from_the_entry_or_claude_codes_variables() -> None:
    own = parse({"command": "x", "timeout": 2500})
    assert isinstance(own, ServerConfig)
    assert (own.startup_timeout_s, own.call_timeout_s) == (2.5, 2.5)
    from_env = parse({"command": "x"}, {"MCP_TIMEOUT": "4000", "MCP_TOOL_TIMEOUT": "90000"})
    assert isinstance(from_env, ServerConfig)
    assert (from_env.startup_timeout_s, from_env.call_timeout_s) == (4.0, 90.0)


def test_server_names_are_what_tool_names_allow() -> None:
    assert server_name("my server.v2") == "my_server_v2"
    assert server_name("a__b") == "a_b"  # `__` separates the server from the tool.
    assert server_name("git-hub") == "git-hub"
    assert isinstance(parse({"command": "x"}, name="///"), str)


# --- where servers come from --------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, SettingsSources]:
    project = tmp_path / "project"
    project.mkdir()
    sources = SettingsSources(project=project, home=tmp_path / "home", config=tmp_path / "config", managed=())
    return project, sources


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def servers(name_to_cmd: dict[str, str]) -> dict[str, Any]:
    return {"mcpServers": {name: {"command": cmd} for name, cmd in name_to_cmd.items()}}


def found(
    sources: SettingsSources, mcp_config: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> FoundServers:
    return find_servers(sources, sources.load(), mcp_config=mcp_config, env=env or {})


def by_name(result: FoundServers) -> dict[str, ServerConfig]:
    return {s.name: s for s in result.servers}


def test_precedence_command_line_then_local_then_project_then_user(
    world: tuple[Path, SettingsSources],
) -> None:
    project, sources = world
    sources.trust_store.trust(project)
    write(
        sources.config / "settings.json",
        servers({"a": "user-a", "b": "user-b", "c": "user-c", "d": "user-d"}),
    )
    write(sources.home / ".claude.json", servers({"e": "claude-user-e"}))
    write(project / ".mcp.json", servers({"a": "project-a", "b": "project-b", "c": "project-c"}))
    write(project / ".agentls" / "settings.local.json", servers({"a": "local-a", "b": "local-b"}))
    inline = json.dumps(servers({"a": "cli-a"}))
    result = by_name(found(sources, (inline,)))
    assert {n: s.command for n, s in result.items()} == {
        "a": "cli-a",
        "b": "local-b",
        "c": "project-c",
        "d": "user-d",
        "e": "claude-user-e",
    }
    assert result["c"].origin == Origin(level="project", path=project / ".mcp.json")
    assert result["a"].origin.level == "cli"


def test_claude_json_has_user_and_per_project_servers(world: tuple[Path, SettingsSources]) -> None:
    project, sources = world
    write(
        sources.home / ".claude.json",
        {
            "mcpServers": {"x": {"command": "user-x"}},
            "projects": {
                str(project): {"mcpServers": {"x": {"command": "local-x"}, "y": {"command": "local-y"}}},
                "/elsewhere": {"mcpServers": {"z": {"command": "other"}}},
            },
        },
    )
    result = by_name(found(sources))
    assert {n: (s.command, s.origin.level) for n, s in result.items()} == {
        "x": ("local-x", "local"),
        "y": ("local-y", "local"),
    }


def test_an_untrusted_folder_uses_none_of_its_own_servers(world: tuple[Path, SettingsSources]) -> None:
    project, sources = world
    write(project / ".mcp.json", servers({"repo": "evil"}))
    write(sources.config / "settings.json", servers({"mine": "ok"}))
    settings = sources.load()
    result = find_servers(sources, settings, env={})
    assert [s.name for s in result.servers] == ["mine"]
    said = " ".join(settings.warnings)
    assert "MCP servers (repo)" in said and "not trusted" in said and ".mcp.json" in said


def test_bad_entries_are_warnings_naming_the_file_and_the_others_load(
    world: tuple[Path, SettingsSources],
) -> None:
    project, sources = world
    sources.trust_store.trust(project)
    mcp_json = write(
        project / ".mcp.json",
        {
            "mcpServers": {
                "good": {"command": "ok"},
                "typo": {"type": "stdoi", "command": "x"},
                "remote": {"url": "https://h"},
            }
        },
    )
    result = found(sources)
    assert [s.name for s in result.servers] == ["good"]
    assert len(result.warnings) == 2
    for warning in result.warnings:
        assert str(mcp_json) in warning
    assert any("'typo'" in w and "unknown type 'stdoi'" in w for w in result.warnings)
    assert any("'remote'" in w and "needs a `type`" in w for w in result.warnings)


def test_a_file_that_is_not_json_is_a_warning_naming_it(world: tuple[Path, SettingsSources]) -> None:
    project, sources = world
    sources.trust_store.trust(project)
    mcp_json = write(project / ".mcp.json", '{"mcpServers": {"a": ')
    write(sources.home / ".claude.json", "not json at all")
    write(sources.config / "settings.json", servers({"fine": "ok"}))
    settings = sources.load()
    result = find_servers(sources, settings, mcp_config=("{broken", "missing.json"), env={})
    assert [s.name for s in result.servers] == ["fine"]
    said = [*settings.warnings, *result.warnings]
    assert any(str(mcp_json) in w and "not valid JSON" in w for w in said)
    assert any(str(sources.home / ".claude.json") in w and "not valid JSON" in w for w in said)
    assert any(w.startswith("--mcp-config: not valid JSON") for w in said)
    assert any("--mcp-config" in w and "missing.json: no such file" in w for w in said)


def test_mcp_config_files_are_relative_to_the_project(world: tuple[Path, SettingsSources]) -> None:
    project, sources = world
    write(project / "tools.json", servers({"t": "from-file"}))
    result = by_name(found(sources, ("tools.json",)))
    assert result["t"].command == "from-file"
    assert result["t"].origin == Origin(level="cli", path=project / "tools.json")


def test_managed_only_ignores_every_other_source(world: tuple[Path, SettingsSources], tmp_path: Path) -> None:
    project, sources = world
    managed = write(
        tmp_path / "managed.json", {"allowManagedMcpServersOnly": True, **servers({"corp": "corp-server"})}
    )
    sources = SettingsSources(project=project, home=sources.home, config=sources.config, managed=(managed,))
    write(sources.config / "settings.json", servers({"mine": "x"}))
    result = found(sources, (json.dumps(servers({"cli": "y"})),))
    assert [s.name for s in result.servers] == ["corp"]
    assert any("managed settings allow only their own servers" in w for w in result.warnings)


def test_two_names_that_become_one_keep_the_first(world: tuple[Path, SettingsSources]) -> None:
    _, sources = world
    write(sources.config / "settings.json", servers({"my.server": "one", "my server": "two"}))
    result = found(sources)
    assert [(s.name, s.command) for s in result.servers] == [("my_server", "one")]
    assert any("'my server'" in w and "mcp__my_server__" in w for w in result.warnings)

"""Which MCP servers a session in a project has, and where each came from.

Entries come from, highest precedence first (a name is taken from the highest level that has it):

- managed settings (`mcpServers`; with `allowManagedMcpServersOnly`, nothing else counts);
- the command line: `agentls run --mcp-config FILE|JSON` (repeatable) and `--settings`;
- the user's local settings for this project: `.agentls/settings.local.json`,
  `.claude/settings.local.json`, and Claude Code's `projects["<this folder>"].mcpServers` in
  `~/.claude.json`;
- the project: `.mcp.json` (and `mcpServers` in `.agentls/settings.json`, `.claude/settings.json`);
- the user: `mcpServers` in `~/.config/agentls/settings.json`, `~/.claude/settings.json`, and
  the top level of `~/.claude.json`.

The settings files are merged by `policy.settings_levels` (one reading for permissions and
servers); workspace trust is applied there: an untrusted folder's own servers are dropped with a
warning that says so. This module adds the sources that are not settings files, picks each name's
entry and checks it (`config.parse_entry`). Every problem is a warning; nothing here fails.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentls.mcp.config import Origin, ServerConfig, parse_entry
from agentls.policy.loader import SettingsSources
from agentls.policy.settings_levels import EffectivePolicyConfig
from agentls.store.settings import SettingsError, read_settings
from agentls.store.settings_files import LEVELS, Level

CLAUDE_STATE = ".claude.json"
"""Claude Code's state file in the home directory (its user- and local-scope servers)."""


@dataclass(frozen=True)
class Candidate:
    name: str
    entry: object
    origin: Origin


@dataclass(frozen=True)
class FoundServers:
    servers: tuple[ServerConfig, ...]
    warnings: tuple[str, ...]


def find_servers(
    sources: SettingsSources,
    settings: EffectivePolicyConfig,
    *,
    mcp_config: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> FoundServers:
    """The servers of a session in `sources.project`: `settings` is the merged settings (trust
    applied), `mcp_config` the `--mcp-config` values, `env` what `${VAR}` expands from."""
    env = os.environ if env is None else env
    warnings: list[str] = []
    candidates = [
        Candidate(name, s.value, Origin(level=_level(s.level), path=s.path))
        for name, s in settings.mcp_servers.items()
    ]
    extra = [*command_line_servers(mcp_config, cwd or sources.project, warnings)]
    extra += claude_state_servers(sources.home, sources.project, warnings)
    if settings.mcp_managed_only:
        if extra:
            names = ", ".join(sorted({c.name for c in extra}))
            warnings.append(f"MCP servers ignored ({names}): managed settings allow only their own servers")
    else:
        candidates += extra
    chosen: dict[str, Candidate] = {}
    for candidate in candidates:
        held = chosen.get(candidate.name)
        if held is None or LEVELS.index(candidate.origin.level) < LEVELS.index(held.origin.level):
            chosen[candidate.name] = candidate
    servers: dict[str, ServerConfig] = {}
    for candidate in chosen.values():
        parsed = parse_entry(candidate.name, candidate.entry, candidate.origin, env)
        if isinstance(parsed, str):
            warnings.append(parsed)
        elif parsed.name in servers:
            warnings.append(
                f"MCP server {candidate.name!r} in {candidate.origin.describe()}: its tools would be "
                f"named like those of {servers[parsed.name].origin.describe()}'s server "
                f"(mcp__{parsed.name}__…); it was not loaded"
            )
        else:
            servers[parsed.name] = parsed
    return FoundServers(tuple(servers.values()), tuple(warnings))


def command_line_servers(values: Sequence[str], cwd: Path, warnings: list[str]) -> list[Candidate]:
    """`--mcp-config` values: inline JSON (starts with `{`) or a file, each `{"mcpServers": {…}}`."""
    out: list[Candidate] = []
    for value in values:
        path: Path | None = None
        try:
            if value.lstrip().startswith("{"):
                data = _json_object(value)
            else:
                path = (cwd / Path(value).expanduser()).resolve()
                if not path.is_file():
                    raise SettingsError(f"{path}: no such file")
                data = read_settings(path)
        except SettingsError as err:
            warnings.append(f"--mcp-config: {err}; its MCP servers were not loaded")
            continue
        out += _servers_of(data, Origin(level="cli", path=path), "--mcp-config", warnings)
    return out


def claude_state_servers(home: Path, project: Path, warnings: list[str]) -> list[Candidate]:
    """Claude Code's `~/.claude.json`: `projects[<folder>].mcpServers` (local to this project)
    and the top-level `mcpServers` (the user's)."""
    path = home / CLAUDE_STATE
    try:
        data = read_settings(path)
    except SettingsError as err:
        warnings.append(f"{err}; its MCP servers were not loaded")
        return []
    out: list[Candidate] = []
    entry = project_entry(data, project)
    if entry is not None:
        out += _servers_of(entry, Origin(level="local", path=path), str(path), warnings)
    out += _servers_of(data, Origin(level="user", path=path), str(path), warnings, quiet=True)
    return out


def project_entry(state: Mapping[str, Any], project: Path) -> Mapping[str, Any] | None:
    """This project's object in `~/.claude.json` (keyed by the folder's path as Claude Code saw it)."""
    projects = state.get("projects")
    if not isinstance(projects, Mapping):
        return None
    for key in dict.fromkeys([str(project), os.path.realpath(project)]):
        entry = projects.get(key)
        if isinstance(entry, Mapping):
            return entry
    return None


def _servers_of(
    data: Mapping[str, Any], origin: Origin, where: str, warnings: list[str], *, quiet: bool = False
) -> list[Candidate]:
    servers = data.get("mcpServers")
    if servers is None:
        if not quiet and origin.level == "cli":
            warnings.append(
                f"--mcp-config {where if origin.path else '(inline JSON)'}: no `mcpServers` object"
            )
        return []
    if not isinstance(servers, Mapping):
        warnings.append(f"{origin.describe()}: `mcpServers` must be an object; its servers were not loaded")
        return []
    return [Candidate(str(name), entry, origin) for name, entry in servers.items()]


def _json_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SettingsError(f"not valid JSON ({err.msg}, column {err.colno})") from None
    if not isinstance(data, dict):
        raise SettingsError("must be a JSON object")
    return data


def _level(text: str) -> Level:
    for level in LEVELS:
        if level == text:
            return level
    return "user"

"""The files `agentls mcp add` and `remove` edit, one per scope (Claude Code's scopes):

- `local` (the default): `.agentls/settings.local.json` in the project, yours and not shared;
  recorded as written by agentls for you (`TrustStore.own`), so it applies in an untrusted folder;
- `project`: `.mcp.json` in the project, shared with everyone who clones it (each of them
  approves its servers once);
- `user`: `~/.config/agentls/settings.json`, every project of yours.

Claude Code's own files (`~/.claude.json`, `~/.claude/settings.json`) are read, never written.
Edits are atomic replaces of the whole (small) file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from agentls.policy.loader import SettingsSources
from agentls.store.settings import SettingsError, read_settings, write_atomic
from agentls.store.settings_files import user_files

Scope = Literal["local", "project", "user"]
SCOPES: tuple[Scope, ...] = ("local", "project", "user")


def scope_file(scope: Scope, sources: SettingsSources) -> Path:
    if scope == "project":
        return sources.project / ".mcp.json"
    if scope == "user":
        return user_files(sources.home, sources.config)[0]
    return sources.project / ".agentls" / "settings.local.json"


def servers_in(path: Path) -> dict[str, Any]:
    """The `mcpServers` object of a file (empty if it has none); raises `SettingsError`."""
    servers = read_settings(path).get("mcpServers", {})
    if not isinstance(servers, dict):
        raise SettingsError(f"{path}: `mcpServers` must be an object")
    return servers


def add_server(scope: Scope, sources: SettingsSources, name: str, entry: dict[str, Any]) -> Path:
    """Write `entry` as server `name` in the scope's file; raises `SettingsError` if the name is
    taken there or the file cannot be used."""
    path = scope_file(scope, sources)
    data = read_settings(path)
    servers = data.setdefault("mcpServers", {})
    if not isinstance(servers, dict):
        raise SettingsError(f"{path}: `mcpServers` must be an object")
    if name in servers:
        raise SettingsError(f"{path} already has an MCP server {name!r}; remove it first")
    servers[name] = entry
    _write(scope, sources, path, data)
    return path


def remove_server(scope: Scope, sources: SettingsSources, name: str) -> Path | None:
    """Remove server `name` from the scope's file; the file, or None if it was not there."""
    path = scope_file(scope, sources)
    data = read_settings(path)
    servers = data.get("mcpServers")
    if not isinstance(servers, dict) or name not in servers:
        return None
    del servers[name]
    _write(scope, sources, path, data)
    return path


def _write(scope: Scope, sources: SettingsSources, path: Path, data: dict[str, Any]) -> None:
    store = sources.trust_store
    # The local file is the user's only while it holds what agentls last wrote for them (as for
    # remembered permission answers, `core/permissions.py`).
    ours = scope == "local" and (not path.exists() or store.owns(path))
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    if ours:
        store.own(path)

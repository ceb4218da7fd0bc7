"""The user's answers about a project's own MCP servers, kept next to the trusted folders.

A project's `.mcp.json` names programs that would run on the user's machine, so each of its
servers is started only once the user said yes (`agentls.mcp.approval`). The answer is kept per
project and per server, in `<config>/mcp-approvals.json`:

    {"projects": {"/real/path": {"github": {"approved": true, "digest": "…"}}}}

with the digest of the server's entry as the user saw it: a repository that later changes what an
approved server runs (its command, arguments, URL…) is asked about again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentls.store.settings import SettingsError, read_settings, write_atomic

APPROVALS_FILE = "mcp-approvals.json"


def entry_digest(entry: Any) -> str:
    """The digest an answer is tied to: the entry's JSON, keys sorted (formatting does not count)."""
    text = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class McpApprovals:
    path: Path

    @classmethod
    def in_config(cls, config: Path) -> McpApprovals:
        return cls(config / APPROVALS_FILE)

    def answer(self, project: Path, name: str, digest: str) -> bool | None:
        """True/False: the user approved/rejected this very entry; None: not asked yet (or it
        changed since). An unreadable file counts as never asked."""
        try:
            servers = self._projects(read_settings(self.path)).get(_key(project), {})
        except SettingsError:
            return None
        entry = servers.get(name) if isinstance(servers, dict) else None
        if not isinstance(entry, dict) or entry.get("digest") != digest:
            return None
        approved = entry.get("approved")
        return approved if isinstance(approved, bool) else None

    def record(self, project: Path, name: str, digest: str, approved: bool) -> None:
        """Keep the answer (atomic replace); raises `SettingsError` if the file cannot be used."""
        data = read_settings(self.path)
        projects = self._projects(data)
        servers = projects.setdefault(_key(project), {})
        if not isinstance(servers, dict):
            servers = projects[_key(project)] = {}
        servers[name] = {"approved": approved, "digest": digest}
        data["projects"] = projects
        write_atomic(self.path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def forget(self, project: Path, name: str | None = None) -> list[str]:
        """Drop the answers about one server, or all of the project's (they are asked about
        again); returns the names dropped."""
        data = read_settings(self.path)
        projects = self._projects(data)
        servers = projects.get(_key(project))
        if not isinstance(servers, dict):
            return []
        names = [n for n in servers if name is None or n == name]
        if not names:
            return []
        for n in names:
            del servers[n]
        data["projects"] = projects
        write_atomic(self.path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return names

    @staticmethod
    def _projects(data: dict[str, Any]) -> dict[str, Any]:
        projects = data.get("projects", {})
        return projects if isinstance(projects, dict) else {}


def _key(project: Path) -> str:
    # The same folder reached through a symlink is the same project (as for trusted folders).
    return os.path.realpath(project.expanduser())

"""MCP servers an ACP client passes in `session/new` / `session/load`, as the `--mcp-config` JSON
the core already reads (Claude Code's `mcpServers` format): they join the session's tool pool at
the command-line level, as if given to `agentls run --mcp-config`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def mcp_config(servers: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """ACP's server entries (stdio: name, command, args, env; http/sse: type, name, url,
    headers) as one inline `--mcp-config` document; () when there are none. Entries of a kind
    agentls does not speak (ACP's own transport) are passed on, and the core's checks name them."""
    if not servers:
        return ()
    entries: dict[str, dict[str, Any]] = {}
    for server in servers:
        name = str(server.get("name", ""))
        kind = server.get("type")
        if kind in ("http", "sse"):
            entry: dict[str, Any] = {"type": kind, "url": server.get("url", "")}
            if headers := _pairs(server.get("headers")):
                entry["headers"] = headers
        elif "command" in server:
            entry = {"type": "stdio", "command": server["command"], "args": list(server.get("args") or [])}
            if env := _pairs(server.get("env")):
                entry["env"] = env
        else:
            entry = {"type": str(kind or "unknown")}
        entries[name] = entry
    return (json.dumps({"mcpServers": entries}),)


def _pairs(items: Any) -> dict[str, str]:
    """ACP's `[{name, value}]` lists as a mapping."""
    if not isinstance(items, list):
        return {}
    return {str(i.get("name", "")): str(i.get("value", "")) for i in items if isinstance(i, Mapping)}

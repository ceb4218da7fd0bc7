"""One MCP server entry, in Claude Code's format, read as it is.

    {"type": "stdio", "command": "npx", "args": ["-y", "pkg"], "env": {"TOKEN": "${TOKEN}"}}
    {"type": "http", "url": "https://host/mcp", "headers": {"Authorization": "Bearer ${KEY}"}}
    {"type": "sse", "url": "https://host/sse"}

`type` may be left out of a stdio entry (a `command` says what it is), never out of a remote one:
a `url` alone could mean either protocol, and guessing wrong fails in confusing ways. `http` and
`streamable-http` are the same transport. `timeout` (milliseconds) bounds the start-up and each
call; without it, `MCP_TIMEOUT` and `MCP_TOOL_TIMEOUT` (milliseconds, Claude Code's variables) or
the defaults below apply. `${VAR}` and `${VAR:-default}` are expanded in the command, the
arguments, `env`, the URL and the headers (`expand.py`). Keys we do not know are ignored, so an
entry written for a newer Claude Code still loads.

A bad entry is never fatal: `parse_entry` returns the problem as one sentence naming the server
and the file, and the caller shows it as a warning while the other servers load.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentls.mcp.expand import ExpansionError, expand, expand_all
from agentls.store.settings_files import Level

TransportKind = Literal["stdio", "http", "sse"]

DEFAULT_STARTUP_S = 30.0
"""As Claude Code: a server started with `npx` may first download itself."""
DEFAULT_CALL_S = 600.0
"""A call that takes longer is given up (the model gets an error); Bash's longest timeout too."""

_TYPES: dict[str, TransportKind] = {"stdio": "stdio", "http": "http", "streamable-http": "http", "sse": "sse"}
_INVALID_NAME = re.compile(r"[^A-Za-z0-9_-]+")


class Origin(BaseModel):
    """Where an entry was found."""

    model_config = ConfigDict(frozen=True)

    level: Level
    path: Path | None = None
    """None: an inline `--mcp-config` or `--settings` JSON."""

    def describe(self) -> str:
        if self.path is None:
            return f"{self.level} settings (the command line)"
        return f"{self.level} settings ({self.path})"


class ServerConfig(BaseModel):
    """A server entry, checked and expanded."""

    model_config = ConfigDict(frozen=True)

    name: str
    """As tool names use it (`mcp__<name>__<tool>`): letters, digits, `_` and `-`."""
    entry_name: str
    """The name as the file writes it (Claude Code's `enabledMcpjsonServers` use this one)."""
    transport: TransportKind
    command: str = ""
    args: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    """Set for the server's process, over agentls' own environment without its secrets."""
    url: str = ""
    headers: dict[str, str] = Field(default_factory=dict)
    startup_timeout_s: float = DEFAULT_STARTUP_S
    call_timeout_s: float = DEFAULT_CALL_S
    origin: Origin
    entry: dict[str, Any] = Field(default_factory=dict)
    """The entry as written, before expansion: what the user approves, what `agentls mcp get` shows."""

    @property
    def target(self) -> str:
        """What it runs or where it connects, for people (never the env or header values)."""
        if self.transport == "stdio":
            return " ".join([self.command, *self.args])
        return self.url


class _Entry(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    timeout: float | None = Field(default=None, gt=0)
    """Milliseconds."""


class _StdioEntry(_Entry):
    type: Literal["stdio"] = "stdio"
    command: str = Field(min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)


class _RemoteEntry(_Entry):
    type: Literal["http", "streamable-http", "sse"]
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)


def server_name(name: str) -> str:
    """The name tools and rules use: runs of other characters become `_`, and `__` (which separates
    the server from the tool in `mcp__server__tool`) becomes `_`."""
    cleaned = _INVALID_NAME.sub("_", name.strip())
    return re.sub("_{2,}", "_", cleaned)


def parse_entry(name: str, raw: object, origin: Origin, env: Mapping[str, str]) -> ServerConfig | str:
    """The server, or why it cannot be used (one sentence naming the server and the file)."""

    def problem(text: str) -> str:
        return f"MCP server {name!r} in {origin.describe()}: {text}; it was not loaded"

    clean = server_name(name)
    if not clean.strip("_-"):
        return problem("the name needs a letter or digit")
    if not isinstance(raw, Mapping):
        return problem("an entry must be a JSON object")
    kind = raw.get("type")
    if kind is None:
        if "command" in raw:
            kind = "stdio"
        elif "url" in raw:
            return problem('a `url` needs a `type`: "http" (streamable HTTP) or "sse"')
        else:
            return problem("it needs a `command` (a program to run) or a `type` and a `url`")
    if not isinstance(kind, str) or kind not in _TYPES:
        return problem(f"unknown type {kind!r}: use stdio, http, streamable-http or sse")
    try:
        parsed: _StdioEntry | _RemoteEntry = (
            _StdioEntry.model_validate({**raw, "type": kind})
            if _TYPES[kind] == "stdio"
            else _RemoteEntry.model_validate(raw)
        )
    except ValidationError as err:
        return problem(_first_error(err))
    try:
        return _expanded(clean, name, parsed, origin, dict(raw), env)
    except ExpansionError as err:
        return problem(str(err))
    except ValueError as err:
        return problem(str(err))


def _expanded(
    name: str,
    entry_name: str,
    parsed: _StdioEntry | _RemoteEntry,
    origin: Origin,
    entry: dict[str, Any],
    env: Mapping[str, str],
) -> ServerConfig:
    startup, call = _timeouts(parsed.timeout, env)
    common: dict[str, Any] = {
        "name": name,
        "entry_name": entry_name,
        "origin": origin,
        "entry": entry,
        "startup_timeout_s": startup,
        "call_timeout_s": call,
    }
    if isinstance(parsed, _StdioEntry):
        return ServerConfig(
            transport="stdio",
            command=expand(parsed.command, env),
            args=tuple(expand(a, env) for a in parsed.args),
            env=expand_all(parsed.env, env),
            **common,
        )
    url = expand(parsed.url, env)
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"the url must start with http:// or https:// (got {url!r})")
    return ServerConfig(
        transport=_TYPES[parsed.type],
        url=url,
        headers=expand_all(parsed.headers, env),
        **common,
    )


def _timeouts(timeout_ms: float | None, env: Mapping[str, str]) -> tuple[float, float]:
    if timeout_ms is not None:
        return timeout_ms / 1000, timeout_ms / 1000
    return _env_ms(env, "MCP_TIMEOUT", DEFAULT_STARTUP_S), _env_ms(env, "MCP_TOOL_TIMEOUT", DEFAULT_CALL_S)


def _env_ms(env: Mapping[str, str], name: str, default_s: float) -> float:
    try:
        value = float(env.get(name, ""))
    except ValueError:
        return default_s
    return value / 1000 if value > 0 else default_s


def _first_error(err: ValidationError) -> str:
    first = err.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    message = str(first["msg"])
    if first["type"] == "missing":
        return f"`{where}` is missing"
    return f"`{where}`: {message[0].lower()}{message[1:]}" if where else message

"""`agentls mcp`: list, show, add and remove MCP servers, and forget approvals (`reset`).

`list` and `get` show what a session in the folder would use: each server, the file it comes
from, its transport and, for a project's own server, whether it is approved; `--check` connects to
each (never asking about, or starting, an unapproved project server) and shows its tools.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from agentls.cli.main import CliError
from agentls.mcp.approval import Approvals, needs_approval
from agentls.mcp.config import Origin, ServerConfig, parse_entry, server_name
from agentls.mcp.config_files import SCOPES, Scope, add_server, remove_server, scope_file, servers_in
from agentls.mcp.connection import ServerStatus
from agentls.mcp.manager import check_servers
from agentls.mcp.sources import FoundServers, find_servers
from agentls.policy.loader import SettingsSources
from agentls.store.mcp_approvals import McpApprovals
from agentls.store.settings import SettingsError


def mcp_command(args: argparse.Namespace) -> int:
    sources = SettingsSources(project=_folder(args.cwd))
    match args.mcp_command:
        case "list":
            return _list(sources, args)
        case "get":
            return _get(sources, args)
        case "add":
            return _add(sources, args)
        case "remove":
            return _remove(sources, args)
        case _:
            return _reset(sources, args)


# --- list, get -----------------------------------------------------------------------------------


def _found(sources: SettingsSources, args: argparse.Namespace) -> tuple[FoundServers, list[str]]:
    settings = sources.load()
    found = find_servers(sources, settings, mcp_config=args.mcp_config)
    # The settings' own warnings about MCP servers (an untrusted folder's servers, a managed-only rule).
    notes = [w for w in settings.warnings if "MCP" in w or ".mcp.json" in w]
    return found, [*notes, *found.warnings]


def _describe(
    config: ServerConfig, approvals: Approvals | None, status: ServerStatus | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": config.name,
        "transport": config.transport,
        "target": config.target,
        "source": config.origin.describe(),
        "level": config.origin.level,
        "env": sorted(config.env),
        "headers": sorted(config.headers),
        "startupTimeoutS": config.startup_timeout_s,
        "callTimeoutS": config.call_timeout_s,
    }
    if needs_approval(config) and approvals is not None:
        allowed, why = approvals.known(config)
        out["approval"] = {True: "approved", False: "declined", None: "not yet approved"}[allowed]
        out["approvalDetail"] = why
    if status is not None:
        out |= {"state": status.state, "detail": status.detail, "tools": list(status.tools)}
    return out


def _check(found: FoundServers, sources: SettingsSources, check: bool) -> Mapping[str, ServerStatus]:
    if not check or not found.servers:
        return {}
    statuses = asyncio.run(check_servers(found.servers, sources))
    return {s.name: s for s in statuses}


def _list(sources: SettingsSources, args: argparse.Namespace) -> int:
    found, warnings = _found(sources, args)
    approvals = Approvals.of(sources) if any(needs_approval(s) for s in found.servers) else None
    statuses = _check(found, sources, args.check)
    servers = [_describe(c, approvals, statuses.get(c.name)) for c in found.servers]
    if args.json:
        print(
            json.dumps({"project": str(sources.project), "servers": servers, "warnings": warnings}, indent=2)
        )
        return 0
    if not servers:
        print(f"No MCP servers for {sources.project}.")
    else:
        print(f"MCP servers for {sources.project}:")
    for s in servers:
        print(f"  {s['name']}: {s['target']} ({s['transport']}) · {s['source']}")
        if "approval" in s:
            print(f"    {s['approval']}{': ' + s['approvalDetail'] if s['approvalDetail'] else ''}")
        if "state" in s:
            print(f"    {_state_line(s)}")
    for warning in warnings:
        print(f"warning: {warning}")
    return 0


def _state_line(s: Mapping[str, Any]) -> str:
    line = str(s["state"]) + (f": {s['detail']}" if s["detail"] else "")
    if s["tools"]:
        line += f" · {len(s['tools'])} tools: {', '.join(s['tools'])}"
    return line


def _get(sources: SettingsSources, args: argparse.Namespace) -> int:
    found, warnings = _found(sources, args)
    wanted = server_name(args.name)
    config = next((c for c in found.servers if c.name == wanted), None)
    if config is None:
        problems = [w for w in warnings if repr(args.name) in w]
        hint = f" ({'; '.join(problems)})" if problems else " (`agentls mcp list` shows the servers)"
        raise CliError(f"no MCP server {args.name!r} for {sources.project}{hint}", code=1)
    approvals = Approvals.of(sources) if needs_approval(config) else None
    statuses = _check(FoundServers((config,), ()), sources, args.check)
    data = _describe(config, approvals, statuses.get(config.name))
    data["entry"] = config.entry
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"{config.name}")
    print(f"  from: {data['source']}")
    print(f"  transport: {config.transport}")
    print(f"  {'command' if config.transport == 'stdio' else 'url'}: {config.target}")
    if config.env:
        print(f"  env: {', '.join(data['env'])} (values not shown)")
    if config.headers:
        print(f"  headers: {', '.join(data['headers'])} (values not shown)")
    print(f"  timeouts: start-up {config.startup_timeout_s:g} s, each call {config.call_timeout_s:g} s")
    if "approval" in data:
        print(
            f"  approval: {data['approval']}{': ' + data['approvalDetail'] if data['approvalDetail'] else ''}"
        )
    if "state" in data:
        print(f"  {_state_line(data)}")
    return 0


# --- add, remove, reset --------------------------------------------------------------------------


def _add(sources: SettingsSources, args: argparse.Namespace) -> int:
    entry = _entry(args)
    checked = parse_entry(args.name, entry, _origin(args.scope, sources), _AnyValue())
    if isinstance(checked, str):
        raise CliError(checked.removesuffix("; it was not loaded"))
    scope: Scope = args.scope
    try:
        path = add_server(scope, sources, args.name, entry)
    except SettingsError as err:
        raise CliError(str(err)) from None
    print(f"Added the {checked.transport} MCP server {args.name} to {scope} settings ({path}).")
    if scope == "project":
        print("Each user of the project approves it once, when a session first starts it.")
    if checked.name != args.name:
        print(f"Its tools are named mcp__{checked.name}__<tool>.")
    return 0


def _entry(args: argparse.Namespace) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": args.transport}
    args_list = [a for a in args.args if a != "--"] if args.args[:1] == ["--"] else list(args.args)
    if args.transport == "stdio":
        entry["command"] = args.target
        if args_list:
            entry["args"] = args_list
        if args.header:
            raise CliError("--header is for http and sse servers")
    else:
        if args_list:
            raise CliError(f"an {args.transport} server takes a URL and no arguments")
        entry["url"] = args.target
        if args.header:
            entry["headers"] = dict(_pairs(args.header, ":", "--header", "'Name: value'"))
    if args.env:
        entry["env"] = dict(_pairs(args.env, "=", "--env", "KEY=VALUE"))
    if args.timeout is not None:
        if args.timeout <= 0:
            raise CliError("--timeout must be a positive number of milliseconds")
        entry["timeout"] = args.timeout
    return entry


def _pairs(values: list[str], sep: str, flag: str, shape: str) -> Iterator[tuple[str, str]]:
    for value in values:
        key, found, rest = value.partition(sep)
        if not found or not key.strip():
            raise CliError(f"{flag} {value!r}: expected {shape}")
        yield key.strip(), rest.strip()


def _remove(sources: SettingsSources, args: argparse.Namespace) -> int:
    scopes: tuple[Scope, ...] = (args.scope,) if args.scope else SCOPES
    try:
        holding = [s for s in scopes if args.name in servers_in(scope_file(s, sources))]
    except SettingsError as err:
        raise CliError(str(err)) from None
    if not holding:
        where = (
            f"{args.scope} settings ({scope_file(args.scope, sources)})" if args.scope else "agentls' files"
        )
        raise CliError(
            f"no MCP server {args.name!r} in {where}; `agentls mcp get {args.name}` says where it is "
            "(Claude Code's own files are edited with Claude Code)",
            code=1,
        )
    if len(holding) > 1:
        raise CliError(f"{args.name!r} is in the {' and '.join(holding)} settings; say which with --scope")
    scope = holding[0]
    try:
        path = remove_server(scope, sources, args.name)
        if scope == "project":
            McpApprovals.in_config(sources.config).forget(sources.project, args.name)
    except SettingsError as err:
        raise CliError(str(err)) from None
    print(f"Removed the MCP server {args.name} from {scope} settings ({path}).")
    return 0


def _reset(sources: SettingsSources, args: argparse.Namespace) -> int:
    try:
        names = McpApprovals.in_config(sources.config).forget(sources.project, args.name)
    except SettingsError as err:
        raise CliError(str(err)) from None
    if not names:
        print(f"No answers to forget for {sources.project}.")
    else:
        print(f"Forgot your answers about {', '.join(names)}: a session here asks again.")
    return 0


class _AnyValue(dict[str, str]):
    """Every variable is set: `add` checks an entry's shape, not the environment it will meet."""

    def get(self, key: str, default: Any = None) -> str:
        return "x"


def _origin(scope: Scope, sources: SettingsSources) -> Origin:
    return Origin(level=scope, path=scope_file(scope, sources))


def _folder(raw: str | None) -> Path:
    folder = Path(raw).expanduser() if raw else Path.cwd()
    if not folder.is_dir():
        raise CliError(f"{raw}: not a directory")
    return folder.resolve()

"""The arguments of `agentls mcp` (argparse only: `agentls` with no command is the language server,
whose `initialize` waits for what `main.py` imports; the work is in `mcp.py`)."""

from __future__ import annotations

import argparse
from typing import Any

SCOPES = ("local", "project", "user")
"""As `agentls.mcp.config_files.SCOPES`."""


def add_parser(sub: Any) -> None:
    """The `mcp` command and its subcommands (called by `main._parser`)."""
    mcp = sub.add_parser("mcp", help="list, show, add and remove MCP servers")
    actions = mcp.add_subparsers(dest="mcp_command", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser, *, config: bool = True) -> None:
        p.add_argument("--cwd", help="the project directory (default: the current directory)")
        if config:
            p.add_argument(
                "--mcp-config", action="append", default=[], metavar="FILE|JSON", help="as for `agentls run`"
            )

    listing = actions.add_parser("list", help="the servers a session here would use")
    common(listing)
    listing.add_argument("--check", action="store_true", help="connect to each and show its tools")
    listing.add_argument("--json", action="store_true", help="print JSON instead of text")

    get = actions.add_parser("get", help="one server in detail")
    get.add_argument("name")
    common(get)
    get.add_argument("--check", action="store_true", help="connect to it and show its tools")
    get.add_argument("--json", action="store_true", help="print JSON instead of text")

    add = actions.add_parser(
        "add",
        help="add a server: `agentls mcp add NAME -- COMMAND [ARGS...]` or "
        "`agentls mcp add --transport http NAME URL`",
    )
    add.add_argument("--scope", "-s", choices=SCOPES, default="local", help="which file (default: local)")
    add.add_argument("--transport", "-t", choices=("stdio", "http", "sse"), default="stdio")
    add.add_argument("--env", "-e", action="append", default=[], metavar="KEY=VALUE")
    add.add_argument("--header", "-H", action="append", default=[], metavar="'NAME: VALUE'")
    add.add_argument("--timeout", type=int, metavar="MS", help="start-up and per-call timeout")
    common(add, config=False)
    add.add_argument("name")
    add.add_argument("target", metavar="COMMAND_OR_URL")
    add.add_argument("args", nargs=argparse.REMAINDER, help="the command's arguments")

    remove = actions.add_parser("remove", help="remove a server from the file that defines it")
    remove.add_argument("name")
    remove.add_argument("--scope", "-s", choices=SCOPES, help="which file (default: where it is)")
    common(remove, config=False)

    reset = actions.add_parser(
        "reset", help="forget your answers about this project's own servers (you are asked again)"
    )
    reset.add_argument("name", nargs="?", help="one server (default: all of the project's)")
    common(reset, config=False)

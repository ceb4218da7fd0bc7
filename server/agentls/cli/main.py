"""`agentls` entry point: argument parsing and exit codes; the work lives in the sub-modules.

Exit codes: 0 the turn ended normally; 1 the API or the agent failed (the context overflowed
even after compacting included); 2 bad usage or setup (a flag, a missing key, an unknown
session); 3 the turn stopped early (max turns, max tokens, refusal, a budget); 4 the API was
still failing at the deadline (`--deadline`); 130 cancelled.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentls import __version__
from agentls.core.defaults import DEFAULT_MAX_TURNS
from agentls.policy.decision import PERMISSION_MODES

if TYPE_CHECKING:
    from agentls.core.model import ThinkingConfig

# Keep this module's imports light: `agentls` with no command starts the language server, whose
# first answer (initialize) waits on everything imported here. pydantic and the core come later.


class CliError(Exception):
    """A user-facing error: printed as one line, no traceback."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentls", description="A coding agent for every LSP editor.")
    parser.add_argument("--version", action="version", version=f"agentls {__version__}")
    parser.add_argument(
        "--tcp", metavar="HOST:PORT", help="with no command: serve LSP on a TCP socket instead of stdio"
    )
    parser.add_argument("--log-file", help="with no command: write the server's log here")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", description="with no command, agentls is an LSP server on stdio"
    )

    run = sub.add_parser("run", help="run one prompt headless and stream the result")
    run.add_argument("prompt", help="what to ask the agent")
    run.add_argument("--cwd", help="the project directory (default: the current directory)")
    run.add_argument("--model", help="model id (default: the session's, or agentls' default)")
    run.add_argument(
        "--fallback-model",
        metavar="MODEL",
        help="switch to this model (for the rest of the session) after 3 overloaded answers in a row",
    )
    run.add_argument(
        "--no-checkpoints",
        dest="checkpoints",
        action="store_false",
        default=None,
        help="keep no checkpoints of what the agent changes (then `agentls rewind` has nothing to do)",
    )
    run.add_argument(
        "--unattended",
        action="store_true",
        default=None,
        help="nobody is watching: retry API failures without limit (back-off up to 5 minutes, "
        "a heartbeat every 30 s) until --deadline",
    )
    run.add_argument(
        "--deadline",
        type=_duration,
        metavar="DURATION",
        help="stop retrying this long after the run starts (e.g. 90m, 2h, 1h30m; a number is seconds); "
        "the run then fails with exit code 4",
    )
    run.add_argument(
        "--permission-mode",
        choices=PERMISSION_MODES,
        help="default: the settings' defaultMode, else `default`",
    )
    run.add_argument("--output-format", choices=("text", "stream-json"), default="text")
    run.add_argument("--resume", metavar="ID", help="continue a session (an id or a unique prefix)")
    run.add_argument(
        "--settings",
        metavar="FILE|JSON",
        help="settings at the command-line level (above the project's and the user's; below managed)",
    )
    run.add_argument(
        "--mcp-config",
        action="append",
        default=[],
        metavar="FILE|JSON",
        help='MCP servers for this run, as in .mcp.json ({"mcpServers": {...}}); repeatable; above the '
        "project's and the user's servers",
    )
    run.add_argument(
        "--max-turns",
        type=_positive_int,
        default=DEFAULT_MAX_TURNS,
        help=f"model requests allowed in this turn (default {DEFAULT_MAX_TURNS})",
    )
    run.add_argument(
        "--context-window",
        type=_positive_int,
        metavar="TOKENS",
        help="the model's context window (default: from agentls' model table, or what the API says)",
    )
    run.add_argument(
        "--max-budget-usd",
        type=_positive_float,
        metavar="USD",
        help="stop the session before an API call that would take its cost over this many dollars",
    )
    run.add_argument(
        "--max-total-tokens",
        type=_positive_int,
        metavar="TOKENS",
        help="stop the session before an API call that would take its tokens (all kinds) over this",
    )
    run.add_argument(
        "--thinking",
        type=_thinking,
        default=None,
        metavar="adaptive|TOKENS",
        help="extended thinking: 'adaptive' (the model decides) or a fixed budget of at least 1024 tokens",
    )

    demo = sub.add_parser("demo", help="run the bundled offline demo (scripted model, sample project)")
    demo.add_argument("--dir", help="copy the sample project here instead of a temporary directory")
    demo.add_argument("--output-format", choices=("text", "stream-json"), default="text")

    compact = sub.add_parser(
        "compact", help="compact a session now: its earlier conversation is replaced by a summary"
    )
    compact.add_argument("session", help="the session (an id or a unique prefix)")
    compact.add_argument("--instructions", help="what the summary should focus on")
    compact.add_argument("--output-format", choices=("text", "stream-json"), default="text")

    acp = sub.add_parser(
        "acp", help="run as an ACP agent on stdio (Zed, JetBrains IDEs and other ACP clients)"
    )
    acp.add_argument("--model", help="the model of new sessions (default: the settings', else agentls')")
    acp.add_argument("--permission-mode", choices=PERMISSION_MODES, help="the mode sessions start in")

    checkpoints = sub.add_parser(
        "checkpoints", help="list a session's checkpoints and what changed after each"
    )
    checkpoints.add_argument("session", help="the session (an id or a unique prefix)")
    checkpoints.add_argument("--json", action="store_true", help="print JSON instead of text")

    rewind = sub.add_parser(
        "rewind", help="put back what the agent changed since a checkpoint (and/or rewind the conversation)"
    )
    rewind.add_argument("session", help="the session (an id or a unique prefix)")
    rewind.add_argument("--to", type=_positive_int, help="the checkpoint (default: the last prompt's)")
    part = rewind.add_mutually_exclusive_group()
    part.add_argument("--code", action="store_true", help="the files only (the default)")
    part.add_argument("--conversation", action="store_true", help="the conversation only")
    part.add_argument("--both", action="store_true", help="the files and the conversation")
    rewind.add_argument("--dry-run", action="store_true", help="show what would change; change nothing")
    overwrite = rewind.add_mutually_exclusive_group()
    overwrite.add_argument(
        "--overwrite", nargs="+", metavar="PATH", help="conflicting files to put back anyway (as listed)"
    )
    overwrite.add_argument("--overwrite-all", action="store_true", help="put back every conflicting file")
    rewind.add_argument("--json", action="store_true", help="print JSON instead of text")

    sessions = sub.add_parser("sessions", help="list recorded sessions")
    sessions.add_argument("--limit", type=_positive_int, default=20)

    permissions = sub.add_parser(
        "permissions", help="show the effective permission rules, their sources and recent decisions"
    )
    permissions.add_argument("--cwd", help="the project directory (default: the current directory)")
    permissions.add_argument("--permission-mode", choices=PERMISSION_MODES)
    permissions.add_argument("--settings", metavar="FILE|JSON", help="command-line settings, as for `run`")
    permissions.add_argument("--limit", type=_positive_int, default=20, help="recent decisions to show")
    permissions.add_argument("--json", action="store_true", help="print JSON instead of text")

    memory = sub.add_parser(
        "memory", help="show the memory files (CLAUDE.md, AGENTS.md, rules) a session here would load"
    )
    memory.add_argument("--cwd", help="the project directory (default: the current directory)")
    memory.add_argument("--json", action="store_true", help="print JSON instead of text")

    trust = sub.add_parser(
        "trust", help="trust a folder: its own allow rules, hooks, MCP servers and env settings then apply"
    )
    trust.add_argument("folder", nargs="?", help="default: the current directory")
    trust.add_argument("--revoke", action="store_true", help="stop trusting the folder")

    log = sub.add_parser(
        "log", help="print a session's black box: start-up, requests, retries, tool calls, errors"
    )
    log.add_argument("session", help="the session (an id or a unique prefix)")
    log.add_argument("--tail", type=_positive_int, help="only the last N records")
    log.add_argument("--json", action="store_true", help="print the records as JSON lines")

    from agentls.cli.mcp_args import add_parser as add_mcp_parser

    add_mcp_parser(sub)

    doctor = sub.add_parser("doctor", help="check the installation and say what to fix")
    doctor.add_argument("--cwd", help="the project whose settings and trust to check")
    return parser


def _thinking(text: str) -> ThinkingConfig:
    from agentls.core.model import ThinkingConfig

    if text == "adaptive":
        return ThinkingConfig(type="adaptive")
    try:
        budget = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'adaptive' or a number of tokens, got {text!r}") from None
    if budget < 1024:
        raise argparse.ArgumentTypeError(f"a thinking budget must be at least 1024 tokens, got {budget}")
    return ThinkingConfig(type="enabled", budget_tokens=budget)


def _duration(text: str) -> float:
    from agentls.core.retry import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be longer than 0, got {text}")
    return seconds


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    from agentls.cli import startup

    args = _parser().parse_args(argv)
    if args.command != "run":
        startup.release()  # The entry point held the collector for `run`'s sake (`launch.py`).
    try:
        return _run(args) if args.command == "run" else _command(args)
    except CliError as err:
        print(f"agentls: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        print("agentls: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from agentls.cli import startup

    startup.hold_collection()  # Until the SDK is in (`run_command`).
    try:
        from agentls.cli.run import run_command

        return asyncio.run(run_command(args))
    finally:
        startup.release()


def _command(args: argparse.Namespace) -> int:
    if args.command == "demo":
        import asyncio

        from agentls.cli.demo import demo_command

        return asyncio.run(demo_command(args))
    if args.command == "compact":
        import asyncio

        from agentls.cli.compact import compact_command

        return asyncio.run(compact_command(args))
    if args.command == "acp":
        import asyncio

        from agentls.cli.acp import acp_command

        return asyncio.run(acp_command(args))
    if args.command in ("checkpoints", "rewind"):
        import asyncio

        from agentls.cli.rewind import checkpoints_command, rewind_command

        command = checkpoints_command if args.command == "checkpoints" else rewind_command
        return asyncio.run(command(args))
    if args.command == "sessions":
        from agentls.cli.sessions import sessions_command

        return sessions_command(args)
    if args.command == "permissions":
        from agentls.cli.permissions import permissions_command

        return permissions_command(args)
    if args.command == "memory":
        from agentls.cli.memory import memory_command

        return memory_command(args)
    if args.command == "trust":
        from agentls.cli.permissions import trust_command

        return trust_command(args)
    if args.command == "log":
        from agentls.cli.diagnose import log_command

        return log_command(args)
    if args.command == "mcp":
        from agentls.cli.mcp import mcp_command

        return mcp_command(args)
    if args.command == "doctor":
        from agentls.cli.diagnose import doctor_command

        return doctor_command(args)
    from agentls.cli.serve import serve

    return serve(tcp=args.tcp, log_file=args.log_file)


if __name__ == "__main__":
    sys.exit(main())

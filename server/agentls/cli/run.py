"""`agentls run`: one prompt, headless, against the Anthropic API (or whatever ANTHROPIC_BASE_URL names)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from agentls.cli import startup
from agentls.cli.approver import RefusingApprover, TerminalApprover
from agentls.cli.drive import drive_turn
from agentls.cli.main import CliError
from agentls.cli.permissions import cli_settings
from agentls.cli.render import make_renderer
from agentls.core.anthropic_model import AnthropicModel, preload_sdk
from agentls.core.context.settings import BudgetConfig, ContextConfig
from agentls.core.factory import SessionFactory, SessionSetupError, SessionSpec
from agentls.core.session import Session
from agentls.policy.decision import Approver
from agentls.store.sessions import SessionStore
from agentls.workspace.disk import DiskWorkspace

NO_KEY = (
    "ANTHROPIC_API_KEY is not set. Export your key (export ANTHROPIC_API_KEY=sk-ant-...) and run again, "
    "or try `agentls demo`, which needs no key."
)


def terminal_approver() -> Approver:
    return TerminalApprover() if sys.stdin.isatty() and sys.stderr.isatty() else RefusingApprover()


def resolve_cwd(raw: str | None) -> Path:
    cwd = Path(raw).expanduser() if raw else Path.cwd()
    if not cwd.is_dir():
        raise CliError(f"--cwd {raw}: not a directory")
    return cwd.resolve()


async def run_command(args: argparse.Namespace) -> int:
    # Only what was given on the command line: the rest comes from the settings files, a resumed
    # session's own values, or the defaults (`core/factory.py`).
    chosen = {
        name: value
        for name, value in (
            ("max_turns", args.max_turns),
            ("permission_mode", args.permission_mode),
            ("thinking", args.thinking),
            ("fallback_model", args.fallback_model),
            ("unattended", args.unattended),
            ("checkpoints", args.checkpoints),
            ("deadline_s", args.deadline),
        )
        if value is not None
    }
    if args.context_window:
        chosen["context"] = ContextConfig(window=args.context_window)
    if args.max_budget_usd is not None or args.max_total_tokens is not None:
        chosen["budget"] = BudgetConfig(max_usd=args.max_budget_usd, max_tokens=args.max_total_tokens)
    session = await open_session(
        resume=args.resume,
        model=args.model,
        cwd=args.cwd,
        settings=args.settings,
        config=chosen,
        mcp_config=tuple(args.mcp_config),
    )
    # The SDK now rather than in the turn: the start-up's objects are then all made (`startup.py`).
    preload_sdk()
    startup.settle()
    return await drive_turn(session, args.prompt, make_renderer(args.output_format))


async def open_session(
    *,
    resume: str | None,
    model: str | None,
    cwd: str | None,
    settings: str | None,
    config: dict[str, Any],
    approver: Approver | None = None,
    mcp_config: tuple[str, ...] = (),
    mcp_servers: bool = True,
    needs_key: bool = True,
) -> Session:
    """A new session, or `resume`d, on the Anthropic API with a disk workspace and a session store.
    `needs_key=False`: the caller makes no model request (a rewind), so no API key is asked for."""
    if needs_key and not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
        raise CliError(NO_KEY)
    factory = SessionFactory(
        store=SessionStore(),
        model_for=AnthropicModel,
        workspace_for=DiskWorkspace,
        approver_for=lambda _session_id: approver or terminal_approver(),
        default_cwd=Path.cwd,
        mcp_servers=mcp_servers,
    )
    spec = SessionSpec(
        model=model,
        cwd=resolve_cwd(cwd) if cwd else None,
        config=config,
        cli_settings=cli_settings(settings),
        mcp_config=mcp_config,
    )
    try:
        return await (factory.resume(resume, spec) if resume else factory.start(spec))
    except SessionSetupError as err:
        raise CliError(str(err)) from None

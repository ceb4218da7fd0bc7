"""`agentls run`: one prompt, headless, against the Anthropic API (or whatever ANTHROPIC_BASE_URL names)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from agentls.cli.approver import RefusingApprover, TerminalApprover
from agentls.cli.drive import drive_turn
from agentls.cli.main import CliError
from agentls.cli.permissions import cli_settings
from agentls.cli.render import make_renderer
from agentls.core.anthropic_model import DEFAULT_MODEL, AnthropicModel
from agentls.core.config import AgentConfig
from agentls.core.context.settings import BudgetConfig, ContextConfig
from agentls.core.model import ThinkingConfig
from agentls.core.session import Session, SessionDeps
from agentls.policy.decision import Approver
from agentls.policy.loader import SettingsSources
from agentls.store.jsonl import read_jsonl
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


def _resumed_model(store: SessionStore, session_id: str) -> tuple[str | None, Path | None]:
    """The model and cwd a session was created with, from its header record."""
    try:
        path = store.find(session_id)
    except LookupError as err:
        raise CliError(str(err)) from None
    records = read_jsonl(path).records
    header = records[0] if records and records[0].get("type") == "session" else {}
    cwd = header.get("cwd")
    return header.get("config", {}).get("model"), Path(cwd) if cwd else None


async def run_command(args: argparse.Namespace) -> int:
    thinking: ThinkingConfig | None = args.thinking
    # Thinking tokens count against max_tokens: leave room for the answer after the budget.
    budget = thinking.budget_tokens if thinking and thinking.budget_tokens else 0
    # Given only when on the command line: otherwise the settings files may set them.
    reliability = {
        name: value
        for name, value in (
            ("fallback_model", args.fallback_model),
            ("unattended", args.unattended),
            ("deadline_s", args.deadline),
        )
        if value is not None
    }
    session = await open_session(
        resume=args.resume,
        model=args.model,
        cwd=args.cwd,
        settings=args.settings,
        config={
            "max_turns": args.max_turns,
            "permission_mode": args.permission_mode,
            "thinking": thinking,
            "max_tokens": max(32_000 if thinking else 16_000, budget + 16_000),
            "context": ContextConfig(window=args.context_window) if args.context_window else ContextConfig(),
            "budget": BudgetConfig(max_usd=args.max_budget_usd, max_tokens=args.max_total_tokens),
            **reliability,
        },
    )
    return await drive_turn(session, args.prompt, make_renderer(args.output_format))


async def open_session(
    *,
    resume: str | None,
    model: str | None,
    cwd: str | None,
    settings: str | None,
    config: dict[str, Any],
    approver: Approver | None = None,
) -> Session:
    """A new session, or `resume`d, on the Anthropic API with a disk workspace and a session store."""
    if not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
        raise CliError(NO_KEY)
    store = SessionStore()
    model_name = model
    root = resolve_cwd(cwd) if cwd else None
    if resume:
        previous_model, previous_cwd = _resumed_model(store, resume)
        model_name = model_name or previous_model
        root = root or previous_cwd
    root = root or resolve_cwd(None)
    if not root.is_dir():
        raise CliError(f"the session's directory {root} no longer exists; pass --cwd")
    model_name = model_name or DEFAULT_MODEL
    deps = SessionDeps(
        config=AgentConfig(model=model_name, **config),
        model=AnthropicModel(model_name),
        workspace=DiskWorkspace(root),
        approver=approver or terminal_approver(),
        store=store,
        settings=SettingsSources(project=root, cli=cli_settings(settings)),
    )
    if not resume:
        return await Session.start(deps)
    try:
        # A model named on the command line wins over a fallback the session switched to earlier.
        return await Session.resume(deps, resume, keep_fallback=model is None)
    except LookupError as err:
        raise CliError(str(err)) from None

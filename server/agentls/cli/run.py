"""`agentls run`: one prompt, headless, against the Anthropic API (or whatever ANTHROPIC_BASE_URL names)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from agentls.cli.approver import RefusingApprover, TerminalApprover
from agentls.cli.drive import drive_turn
from agentls.cli.main import CliError
from agentls.cli.permissions import cli_settings
from agentls.cli.render import Renderer, TextRenderer, json_renderer
from agentls.core.anthropic_model import DEFAULT_MODEL, AnthropicModel
from agentls.core.config import AgentConfig
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


def make_renderer(output_format: str) -> Renderer:
    return json_renderer() if output_format == "stream-json" else TextRenderer()


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
    if not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
        raise CliError(NO_KEY)
    store = SessionStore()
    model_name = args.model
    cwd = resolve_cwd(args.cwd) if args.cwd else None
    if args.resume:
        previous_model, previous_cwd = _resumed_model(store, args.resume)
        model_name = model_name or previous_model
        cwd = cwd or previous_cwd
    cwd = cwd or resolve_cwd(None)
    if not cwd.is_dir():
        raise CliError(f"the session's directory {cwd} no longer exists; pass --cwd")
    model_name = model_name or DEFAULT_MODEL
    thinking: ThinkingConfig | None = args.thinking
    # Thinking tokens count against max_tokens: leave room for the answer after the budget.
    budget = thinking.budget_tokens if thinking and thinking.budget_tokens else 0
    max_tokens = max(32_000 if thinking else 16_000, budget + 16_000)
    config = AgentConfig(
        model=model_name,
        max_turns=args.max_turns,
        permission_mode=args.permission_mode,
        thinking=thinking,
        max_tokens=max_tokens,
    )
    deps = SessionDeps(
        config=config,
        model=AnthropicModel(model_name),
        workspace=DiskWorkspace(cwd),
        approver=terminal_approver(),
        store=store,
        settings=SettingsSources(project=cwd, cli=cli_settings(args.settings)),
    )
    if args.resume:
        try:
            session = await Session.resume(deps, args.resume)
        except LookupError as err:
            raise CliError(str(err)) from None
    else:
        session = await Session.start(deps)
    return await drive_turn(session, args.prompt, make_renderer(args.output_format))

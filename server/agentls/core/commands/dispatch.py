"""Running what a user typed: `Session.submit(prompt)`, the one entry point of every front end.

An ordinary prompt starts a turn. A slash command (see `invocation.py` for when a prompt is one)
runs the command: a built-in that reports or changes the session runs locally (`LocalRun`), one
that needs the model (`/review`, `/init`), every custom command and every user-invocable skill
start a turn with the prompt it builds. A custom command's (or skill's) `allowed-tools` narrow the
tools for that turn and its `model` is used for that turn only (`ScopedTurn`). Problems with the
registry's files (a file that does not parse, an `allowed-tools` rule that does not) come first,
as warning notices.

The machinery of slash commands (`slash.py`, and through it the registry, the built-ins, custom
commands, skills and MCP prompts) is imported only when a prompt is one: an ordinary prompt, the
common case and the first of every `agentls run`, does not pay for it (issue 15).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentls.core.commands.errors import CommandError, UnknownCommand
from agentls.core.commands.invocation import parse_invocation

if TYPE_CHECKING:
    from agentls.core.commands.registry import CommandRegistry
    from agentls.core.commands.runs import Run
    from agentls.core.session import Session
    from agentls.core.state import SessionState

__all__ = ["CommandError", "UnknownCommand", "dispatch", "session_commands"]


async def dispatch(session: Session, prompt: str) -> Run:
    parsed = parse_invocation(prompt)
    if isinstance(parsed, str):
        return session.run(parsed)
    from agentls.core.commands.slash import run_slash_command

    return await run_slash_command(session, parsed)


async def session_commands(state: SessionState, *, wait_for_servers: bool = False) -> CommandRegistry:
    """The commands this session offers now (`slash.py`)."""
    from agentls.core.commands.slash import session_commands as load

    return await load(state, wait_for_servers=wait_for_servers)

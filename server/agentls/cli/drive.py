"""Drive one turn (or slash command) in a terminal: render its events, turn Ctrl-C into a clean
cancel, pick the exit code."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from agentls.cli.main import CliError
from agentls.cli.render import Renderer
from agentls.core.commands.dispatch import CommandError
from agentls.core.events import Notice, StopReason
from agentls.core.session import Session

EXIT_CODES = {
    "end_turn": 0,
    "error": 1,
    "context_overflow": 1,
    "max_turns": 3,
    "max_tokens": 3,
    "refusal": 3,
    "budget_exceeded": 3,
    "cancelled": 130,
}


EXIT_DEADLINE = 4
"""The API was still failing when the deadline came (`--deadline`): a scheduler may try later."""


def exit_code(stop: StopReason | None) -> int:
    if stop is None:
        return 1
    if stop.kind == "error" and stop.cause.kind == "deadline":
        return EXIT_DEADLINE
    return EXIT_CODES[stop.kind]


async def drive_turn(session: Session, prompt: str, render: Renderer) -> int:
    """Run what the user typed (a prompt, or a slash command: `Session.submit`) and render it."""
    render(session.started_event())
    for notice in session.notices:
        render(Notice(level="warning", message=notice))
    try:
        turn = await session.submit(prompt)
    except CommandError as err:
        await session.end(emit=render)
        raise CliError(str(err)) from None
    loop = asyncio.get_running_loop()
    interrupts = 0

    def on_sigint() -> None:
        nonlocal interrupts
        interrupts += 1
        session.state.blackbox.write("signal", signal="SIGINT", count=interrupts)
        if interrupts == 1:
            print("\n(cancelling the turn; Ctrl-C again to quit at once)", file=sys.stderr)
            turn.cancel()
        else:
            raise KeyboardInterrupt

    def on_terminate(sig: signal.Signals) -> None:
        # The turn winds down as on a cancel: running commands are killed, their sandboxes'
        # placeholders removed, the transcript closed with the turn's end.
        session.state.blackbox.write("signal", signal=sig.name)
        turn.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, on_terminate, sig)
    except (NotImplementedError, RuntimeError):
        pass  # Not the main thread (tests): Ctrl-C handling is the caller's.
    try:
        async for event in turn.events():
            render(event)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await session.end(emit=render)  # SessionEnd hooks, then the session closes.
    return exit_code(turn.stop)

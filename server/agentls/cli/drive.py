"""Drive one turn in a terminal: render its events, turn Ctrl-C into a clean cancel, pick the exit code."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from agentls.cli.render import Renderer
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


def exit_code(stop: StopReason | None) -> int:
    return 1 if stop is None else EXIT_CODES[stop.kind]


async def drive_turn(session: Session, prompt: str, render: Renderer) -> int:
    render(session.started_event())
    for notice in session.notices:
        render(Notice(level="warning", message=notice))
    turn = session.run(prompt)
    loop = asyncio.get_running_loop()
    interrupts = 0

    def on_sigint() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            print("\n(cancelling the turn; Ctrl-C again to quit at once)", file=sys.stderr)
            turn.cancel()
        else:
            raise KeyboardInterrupt

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        loop.add_signal_handler(signal.SIGTERM, turn.cancel)
    except (NotImplementedError, RuntimeError):
        pass  # Not the main thread (tests): Ctrl-C handling is the caller's.
    try:
        async for event in turn.events():
            render(event)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        session.close()
    return exit_code(turn.stop)

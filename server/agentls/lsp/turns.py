"""Running a turn for the editor: progress, session updates, and the final text.

Every way of starting a turn (the `agentls/prompt` request, the `agentls.ask` and `agentls.command`
commands, a code action) ends up in `run_turn`, so they all report the same way and cancel the
same way. The prompt goes to `Session.submit`, so a slash command runs as in every front end; one
that does not start a turn (`/cost`) reports `command_output`, and the result's text is its output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentls.core.commands.dispatch import CommandError
from agentls.core.commands.runs import Run, ScopedTurn
from agentls.core.events import AgentEvent, Cancelled, CommandOutput, Notice, StopReason, TurnEnded
from agentls.core.loop import Turn
from agentls.core.session import Session, SessionBusy
from agentls.lsp.reporter import TurnReporter

if TYPE_CHECKING:
    from collections.abc import Callable

    from agentls.lsp.client_channel import ClientChannel


@dataclass(frozen=True)
class TurnResult:
    stop: StopReason
    text: str


class TurnBusy(Exception):
    """The session already runs a turn; we refuse rather than queue (documented in docs/editors.md)."""


class TurnRefused(Exception):
    """The prompt is a slash command that cannot run as typed (unknown, nothing to review)."""


async def submit(session: Session, prompt: str) -> Run:
    """`Session.submit`, its refusals as this module's exceptions."""
    try:
        return await session.submit(prompt)
    except SessionBusy as err:
        raise TurnBusy(str(err)) from None
    except CommandError as err:
        raise TurnRefused(str(err)) from None


async def run_turn(
    client: ClientChannel,
    session: Session,
    prompt: str,
    *,
    title: str = "agentls",
    on_event: Callable[[AgentEvent], None] | None = None,
    run: Run | None = None,
) -> TurnResult:
    """`run`: what `submit(session, prompt)` returned already (the caller wanted its refusal
    before answering); None: submit here."""
    turn = run if run is not None else await submit(session, prompt)
    reporter = TurnReporter(client, session.id, turn.cancel)
    await reporter.begin(title)
    for notice in session.notices:
        reporter.handle(Notice(level="warning", message=notice))
    session.notices.clear()
    end: TurnEnded | None = None
    outputs: list[str] = []
    try:
        async for event in turn.events():
            reporter.handle(event)
            if on_event is not None:
                on_event(event)
            if isinstance(event, TurnEnded):
                end = event
            elif isinstance(event, CommandOutput):
                outputs.append(event.text)
    finally:
        # Cancelled from outside (e.g. `$/cancelRequest`): `events()` has already let the turn
        # clean up; show what it reported meanwhile, and `turn.stop` says how it ended.
        for event in turn.leftover():
            reporter.handle(event)
            if isinstance(event, TurnEnded):
                end = event
        stop = end.stop if end is not None else (turn.stop or Cancelled())
        if not isinstance(turn, Turn | ScopedTurn):
            # A local command may have changed the context (/clear, /model): the meter follows.
            state = session.state
            context = state.context
            reporter.context(context.fill(state.history), context.meter.window, state.spending.session_cost)
        reporter.end(stop)
    return TurnResult(stop=stop, text=end.text if end else "\n\n".join(outputs))

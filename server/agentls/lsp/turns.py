"""Running a turn for the editor: progress, session updates, and the final text.

Every way of starting a turn (the `agentls/prompt` request, the `agentls.ask` command, a code
action) ends up in `run_turn`, so they all report the same way and cancel the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentls.core.events import AgentEvent, Cancelled, Notice, StopReason, TurnEnded
from agentls.core.session import Session, SessionBusy
from agentls.lsp.reporter import TurnReporter

if TYPE_CHECKING:
    from collections.abc import Callable

    from agentls.lsp.server import AgentServer


@dataclass(frozen=True)
class TurnResult:
    stop: StopReason
    text: str


class TurnBusy(Exception):
    """The session already runs a turn; we refuse rather than queue (documented in docs/editors.md)."""


async def run_turn(
    server: AgentServer,
    session: Session,
    prompt: str,
    *,
    title: str = "agentls",
    on_event: Callable[[AgentEvent], None] | None = None,
) -> TurnResult:
    try:
        turn = session.run(prompt)
    except SessionBusy as err:
        raise TurnBusy(str(err)) from None
    reporter = TurnReporter(server, session.id, turn.cancel)
    await reporter.begin(title)
    for notice in session.notices:
        reporter.handle(Notice(level="warning", message=notice))
    session.notices.clear()
    end: TurnEnded | None = None
    try:
        async for event in turn.events():
            reporter.handle(event)
            if on_event is not None:
                on_event(event)
            if isinstance(event, TurnEnded):
                end = event
    finally:
        # Cancelled from outside (e.g. `$/cancelRequest`): `events()` has already let the turn
        # clean up; show what it reported meanwhile, and `turn.stop` says how it ended.
        for event in turn.leftover():
            reporter.handle(event)
            if isinstance(event, TurnEnded):
                end = event
        stop = end.stop if end is not None else (turn.stop or Cancelled())
        reporter.end(stop)
    return TurnResult(stop=stop, text=end.text if end else "")

"""What `Session.submit` hands a front end: something whose events it renders, as for a turn.

- A model turn (`Turn`), for an ordinary prompt.
- `ScopedTurn`: a turn run under a custom command's `allowed-tools` and `model`, which hold from
  the moment its events are iterated until the turn has ended (however it ends), and no longer.
- `LocalRun`: a command that does not start a turn (`/cost`, `/clear`, `/compact`, …): its body
  runs as a task and emits events (`CommandOutput`, and for `/compact` the compaction's own), and
  it ends with `end_turn`, `cancelled`, or `error` if the body failed. It emits no `TurnEnded`:
  there was no turn, and the transcript records none.

Each is iterated once; `cancel()` stops it; `leftover()` gives the events emitted after its
consumer stopped iterating (as `Turn.leftover`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from agentls.core.errors import ErrorCause
from agentls.core.event_pump import EventPump
from agentls.core.events import AgentEvent, Cancelled, CommandOutput, EndTurn, Errored, StopReason

if TYPE_CHECKING:
    from agentls.core.blackbox import BlackBox
    from agentls.core.loop import Turn

log = logging.getLogger(__name__)

Emit = Callable[[AgentEvent], None]


class Run(Protocol):
    @property
    def stop(self) -> StopReason | None:
        """How it ended; None while it runs."""
        ...

    def events(self) -> AsyncIterator[AgentEvent]: ...

    def cancel(self) -> None: ...

    def leftover(self) -> list[AgentEvent]: ...


class LocalRun:
    def __init__(
        self, command: str, body: Callable[[Emit], Awaitable[None]], blackbox: BlackBox | None = None
    ) -> None:
        self.command = command
        self._body = body
        self._pump = EventPump(blackbox)
        self._cancelled_early = False
        self.stop: StopReason | None = None

    def cancel(self) -> None:
        if not self._pump.started:
            self._cancelled_early = True
        self._pump.cancel()

    def events(self) -> AsyncIterator[AgentEvent]:
        # Its warnings and errors land in the session's black box (when it has one).
        return self._pump.run(self._drive, "a command")

    def leftover(self) -> list[AgentEvent]:
        return self._pump.leftover()

    def _emit(self, event: AgentEvent) -> None:
        self._pump.emit(event)

    async def _drive(self) -> None:
        stop: StopReason
        try:
            if self._cancelled_early:
                raise asyncio.CancelledError
            await self._body(self._emit)
            stop = EndTurn()
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()  # Ours: handled here.
            stop = Cancelled()
        except Exception as err:  # A bug must end the command visibly, not kill the server.
            log.exception("/%s failed", self.command)
            message = f"{type(err).__name__}: {err}"
            self._emit(
                CommandOutput(command=self.command, text=f"/{self.command} failed: {message}", level="error")
            )
            stop = Errored(cause=ErrorCause(kind="internal", message=message))
        self.stop = stop
        self._pump.close()


class ScopedTurn:
    """A turn with `enter()` applied while it runs and `leave()` undoing it after; `before` are
    events to show first (warnings about the command)."""

    def __init__(
        self,
        turn: Turn,
        enter: Callable[[], None],
        leave: Callable[[], None],
        *,
        before: Sequence[AgentEvent] = (),
    ) -> None:
        self.turn = turn
        self._enter = enter
        self._leave = leave
        self._before = tuple(before)
        self._left = False

    @property
    def stop(self) -> StopReason | None:
        # Not over until the scope is gone: the session stays busy until then.
        return self.turn.stop if self._left else None

    def cancel(self) -> None:
        self.turn.cancel()

    def leftover(self) -> list[AgentEvent]:
        return self.turn.leftover()

    async def events(self) -> AsyncIterator[AgentEvent]:
        try:
            for event in self._before:
                yield event
            self._enter()
            async for event in self.turn.events():
                yield event
        finally:
            self._leave()
            self._left = True

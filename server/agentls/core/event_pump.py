"""The events of a task, queued as they happen and yielded to the one consumer that drives it.

A turn (`loop.Turn`) and a local command (`commands.runs.LocalRun`) both run their work as a
task that emits events while the front end iterates them; this is that mechanism, once. The
consumer gets events as the task emits them, and if it stops iterating early the task is
cancelled and awaited; what the task emitted after that is `leftover()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from agentls.core.events import AgentEvent

if TYPE_CHECKING:
    from agentls.core.blackbox import BlackBox

_DONE = object()


class EventPump:
    def __init__(self, blackbox: BlackBox | None) -> None:
        self._blackbox = blackbox
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        return self._task is not None

    def emit(self, event: AgentEvent) -> None:
        if self._blackbox is not None:
            self._blackbox.event(event)
        self._queue.put_nowait(event)

    def close(self) -> None:
        """The task's last word: the consumer's iteration ends after the events before it."""
        self._queue.put_nowait(_DONE)

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def run(
        self, drive: Callable[[], Coroutine[Any, Any, None]], what: str
    ) -> AsyncIterator[AgentEvent]:
        """Start `drive` (which must end with `close()`) and yield its events; once only."""
        if self._task is not None:
            raise RuntimeError(f"{what}'s events can be iterated only once")
        if self._blackbox is not None:
            # The task inherits the black box as the place its warnings and errors go.
            with self._blackbox.active():
                self._task = asyncio.create_task(drive())
        else:
            self._task = asyncio.create_task(drive())
        try:
            while (item := await self._queue.get()) is not _DONE:
                yield item  # type: ignore[misc]
        finally:
            if not self._task.done():
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def leftover(self) -> list[AgentEvent]:
        """Events emitted after the consumer stopped iterating (e.g. it was cancelled while the
        task cleaned up), so a front end can still show them."""
        out: list[AgentEvent] = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not _DONE:
                out.append(item)  # type: ignore[arg-type]
        return out

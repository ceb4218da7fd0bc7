"""Background subagents (`Agent` with `run_in_background`): the Agent call returns at once with
the agent's id, the agent works on, and when it is done its answer reaches the model as a
`<task-notification>` with the next user message.

Nothing is lost, and nothing outlives the turn that started it:
- a turn the model would end while background agents still run waits for them: each
  notification goes to the model as it arrives, and the model answers again;
- a turn that ends any other way (cancelled, an error, a limit) stops them; the model is told at
  its next request, with the id to resume each;
- a notification counts as delivered once it is in the conversation (a `subagent` record with
  `delivered`); a session resumed with undelivered ones (the process died) tells the model those
  agents were interrupted, and how to resume them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agentls.core.journal import Journal
from agentls.core.records import SubagentRecord
from agentls.tools.agent import resume_hint

log = logging.getLogger(__name__)

Status = Literal["completed", "failed", "stopped", "interrupted"]


@dataclass(frozen=True)
class Notification:
    record: SubagentRecord
    """The background agent's `subagent` record (call, agent id and type)."""
    status: Status
    text: str
    """Its answer, or why there is none (ends with its agentId)."""

    def render(self) -> str:
        r = self.record
        return (
            "<task-notification>\n"
            f"<agent-id>{r.agent_id}</agent-id>\n<agent-type>{r.agent_type}</agent-type>\n"
            f"<status>{self.status}</status>\n<result>\n{self.text}\n</result>\n"
            "</task-notification>"
        )


@dataclass
class _Job:
    record: SubagentRecord
    task: asyncio.Task[None]


class BackgroundAgents:
    """The background agents of one session, and the notifications waiting for its model."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._jobs: dict[str, _Job] = {}
        self._waiting: list[Notification] = []
        self._changed = asyncio.Event()

    def running(self) -> int:
        return len(self._jobs)

    def waiting(self) -> int:
        """Notifications not yet given to the model."""
        return len(self._waiting)

    def start(self, record: SubagentRecord, work: Coroutine[Any, Any, tuple[Status, str]]) -> None:
        """Run `work` (the agent's turn, answering its status and text) in the background."""

        async def job() -> None:
            try:
                status, text = await work
            except asyncio.CancelledError:
                status, text = "stopped", _stopped_text(record)
                raise
            except Exception as err:  # A bug ends this agent visibly, not the session.
                log.exception("background agent %s failed", record.agent_id)
                status, text = "failed", f"The agent failed: {type(err).__name__}: {err}"
            finally:
                self._jobs.pop(record.agent_id, None)
                self._waiting.append(Notification(record, status, text))
                self._changed.set()

        self._jobs[record.agent_id] = _Job(record, asyncio.create_task(job()))

    async def wait(self) -> None:
        """Until at least one notification waits (returns at once if one does)."""
        while not self._waiting and self._jobs:
            self._changed.clear()
            await self._changed.wait()

    async def stop_all(self) -> None:
        """Stop every running agent (its notification says so and how to resume it)."""
        tasks = [job.task for job in self._jobs.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def take(self) -> list[str]:
        """The waiting notifications, as text for the model; from now on they count as delivered."""
        waiting, self._waiting = self._waiting, []
        for note in waiting:
            self._journal.write(note.record.model_copy(update={"delivered": True}), sync=True)
        return [note.render() for note in waiting]

    def undelivered(self, records: Sequence[SubagentRecord]) -> None:
        """From a resumed transcript: background agents whose answer never reached the model."""
        for record in records:
            self._waiting.append(Notification(record, "interrupted", _stopped_text(record, died=True)))


def _stopped_text(record: SubagentRecord, *, died: bool = False) -> str:
    why = "the session ended (crash, kill or shutdown)" if died else "the turn that started it ended"
    return f"Stopped before it answered: {why}. {resume_hint(record.agent_type, record.agent_id)}"

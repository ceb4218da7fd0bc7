"""Shows one turn in the editor: a cancellable `$/progress` for every client, and ACP
`agentls/sessionUpdate` notifications for rich clients.

Text and thought deltas are coalesced (flushed every `COALESCE_S`, and before any other update,
so order is kept): a model streaming hundreds of tiny deltas a second costs the editor a few
dozen notifications.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentls import to_proto
from agentls.core.events import (
    AgentEvent,
    CompactionStarted,
    ModelFallback,
    RequestStarted,
    RetryHeartbeat,
    Retrying,
    StopReason,
    SubagentEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallStarted,
    ToolCallUpdated,
    UsageUpdated,
)
from agentls.lsp.protocol import SESSION_UPDATE

if TYPE_CHECKING:
    from agentls.lsp.client_channel import ClientChannel

log = logging.getLogger(__name__)

COALESCE_S = 0.03


class TurnReporter:
    def __init__(self, client: ClientChannel, session_id: str, on_cancel: Callable[[], None]) -> None:
        self._client = client
        self._session_id = session_id
        self._on_cancel = on_cancel
        self._rich = client.features.session_update
        self._token: str | None = None
        self._status = ""
        self._titles: dict[str, str] = {}
        self._pending_kind = ""
        self._pending: list[str] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._cost: float | None = None
        """The session's cost as last reported, for context updates after a compaction."""

    async def begin(self, title: str) -> None:
        self._token = await self._client.progress_begin(title, lambda: self._on_cancel())

    def handle(self, event: AgentEvent) -> None:
        self._progress(event)
        if not self._rich:
            return
        if isinstance(event, TextDelta | ThinkingDelta):
            kind = "agent_message_chunk" if isinstance(event, TextDelta) else "agent_thought_chunk"
            if self._pending and kind != self._pending_kind:
                self.flush()
            self._pending_kind = kind
            self._pending.append(event.text)
            if self._flush_handle is None:
                self._flush_handle = asyncio.get_running_loop().call_later(COALESCE_S, self.flush)
            return
        if isinstance(event, UsageUpdated):
            self._cost = event.session_cost_usd
        updates = to_proto.updates_for(event, self._cost)
        if updates:
            self.flush()
            for update in updates:
                self._send(update)

    def flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._pending:
            text, self._pending = "".join(self._pending), []
            self._send(to_proto.text_chunk(self._pending_kind, text))

    def context(self, used: int, size: int, cost: float | None) -> None:
        """The context meter's figures, outside any model request (after a slash command)."""
        if self._rich:
            self.flush()
            self._send(to_proto.context_usage(used, size, cost))

    def end(self, stop: StopReason) -> None:
        self.close(stop.kind if stop.kind != "error" else f"error: {stop.cause.message}")

    def close(self, message: str) -> None:
        self.flush()
        if self._token is None:
            return
        self._client.progress_end(self._token, message)

    def _send(self, update: dict[str, Any]) -> None:
        self._client.notify(SESSION_UPDATE, {"sessionId": self._session_id, "update": update})

    def _progress(self, event: AgentEvent) -> None:
        if self._token is None:
            return
        status = self._status_for(event)
        if status is None or status == self._status:
            return
        self._status = status
        self._client.progress_report(self._token, status)

    def _status_for(self, event: AgentEvent) -> str | None:
        match event:
            case RequestStarted():
                return "thinking" if event.attempt == 1 else f"thinking (retry {event.attempt})"
            case CompactionStarted():
                return "compacting the context"
            case Retrying() if event.long_wait:
                return str(to_proto.api_retry(event)["message"])
            case RetryHeartbeat():
                return str(to_proto.api_retry(event)["message"])
            case ModelFallback():
                return f"switched to {event.to_model} (overloaded)"
            case SubagentEvent():
                status = self._status_for(event.event)
                return f"{event.agent_type}: {status}" if status else None
            case ToolCallStarted():
                self._titles[event.call_id] = event.title or event.name
                return None
            case ToolCallUpdated():
                title = self._titles.get(event.call_id, "a tool")
                if event.status == "awaiting_permission":
                    return f"waiting for permission: {title}"
                return title if event.status == "running" else None
            case _:
                return None

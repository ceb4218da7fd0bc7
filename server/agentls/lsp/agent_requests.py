"""`agentls/*` requests for rich clients: prompt, newSession, listSessions, loadSession, closeSession,
cancel."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from pygls.exceptions import JsonRpcInvalidParams

from agentls import to_proto
from agentls.lsp.params import (
    NewSessionParams,
    PromptParams,
    SessionBusyError,
    SessionIdParams,
    SessionNotFoundError,
    parse,
)
from agentls.lsp.protocol import (
    CANCEL,
    CLOSE_SESSION,
    LIST_SESSIONS,
    LOAD_SESSION,
    NEW_SESSION,
    PROMPT,
    SESSION_UPDATE,
)
from agentls.lsp.sessions import SessionError
from agentls.lsp.turns import TurnBusy, TurnRefused, run_turn

if TYPE_CHECKING:
    from agentls.core.session import Session
    from agentls.lsp.server import AgentServer


def register(server: AgentServer) -> None:
    @server.feature(NEW_SESSION)
    async def new_session(ls: AgentServer, raw: Any) -> dict[str, Any]:
        params = parse(NewSessionParams, raw)
        try:
            session = await ls.sessions.new(params.cwd)
        except SessionError as err:
            raise JsonRpcInvalidParams(str(err)) from None
        return {"sessionId": session.id}

    @server.feature(PROMPT)
    async def prompt(ls: AgentServer, raw: Any) -> dict[str, Any]:
        params = parse(PromptParams, raw)
        session = await _guard(ls.sessions.open(params.session_id))
        try:
            result = await run_turn(ls, session, params.text())
        except TurnBusy as err:
            raise SessionBusyError(
                f"Session busy: {err}; wait for it to finish or cancel it (agentls/cancel)"
            ) from None
        except TurnRefused as err:  # An unknown slash command, or one that cannot run as typed.
            raise JsonRpcInvalidParams(str(err)) from None
        return {"stopReason": to_proto.stop_reason(result.stop), **to_proto.stop_details(result.stop)}

    @server.feature(CANCEL)
    async def cancel(ls: AgentServer, raw: Any) -> None:
        params = parse(SessionIdParams, raw)
        # Cancelling what is not running is a no-op, as in ACP.
        with contextlib.suppress(SessionError):
            ls.sessions.get(params.session_id).cancel()

    @server.feature(CLOSE_SESSION)
    async def close_session(ls: AgentServer, raw: Any) -> dict[str, Any]:
        params = parse(SessionIdParams, raw)
        # Closing a session that is not open is not an error: the goal state already holds.
        return {"closed": await ls.sessions.close(params.session_id)}

    @server.feature(LIST_SESSIONS)
    async def list_sessions(ls: AgentServer, raw: Any) -> dict[str, Any]:
        return {
            "sessions": [
                {
                    "sessionId": s.session_id,
                    "cwd": s.cwd,
                    "title": s.title,
                    "updatedAt": s.updated_at,
                    "loaded": s.loaded,
                }
                for s in ls.sessions.list()
            ]
        }

    @server.feature(LOAD_SESSION)
    async def load_session(ls: AgentServer, raw: Any) -> dict[str, Any]:
        params = parse(SessionIdParams, raw)
        session = await _guard(ls.sessions.load(params.session_id))
        # As ACP's session/load: replay the conversation so the client can show it. The whole of
        # it, from the transcript: what the model still sees may have been compacted.
        shown = await asyncio.to_thread(session.display_history)
        updates = to_proto.history_updates(shown.messages, shown.compactions, shown.checkpoints)
        state = session.state
        spending = state.spending
        updates.append(
            to_proto.context_usage(
                state.context.fill(state.history), state.context.meter.window, spending.session_cost
            )
        )
        for update in updates:
            ls.protocol.notify(SESSION_UPDATE, {"sessionId": session.id, "update": update})
        return {"sessionId": session.id}


async def _guard(awaitable: Any) -> Session:
    try:
        session: Session = await awaitable
    except SessionError as err:
        raise SessionNotFoundError(str(err)) from None
    return session

"""`agentls/*` requests for rich clients: prompt, newSession, listSessions, loadSession, closeSession,
cancel. Each handler takes the server's state and the raw params (`params.py` validates them)."""

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
from agentls.lsp.protocol import SESSION_UPDATE
from agentls.lsp.sessions import SessionError
from agentls.lsp.turns import TurnBusy, TurnRefused, run_turn

if TYPE_CHECKING:
    from agentls.lsp.state import ServerState


async def new_session(state: ServerState, raw: Any) -> dict[str, Any]:
    params = parse(NewSessionParams, raw)
    session = await state.new_session(params.cwd)
    return {"sessionId": session.id}


async def prompt(state: ServerState, raw: Any) -> dict[str, Any]:
    params = parse(PromptParams, raw)
    session = await state.open_session(params.session_id)
    try:
        result = await run_turn(state.channel, session, params.text())
    except TurnBusy as err:
        raise SessionBusyError(
            f"Session busy: {err}; wait for it to finish or cancel it (agentls/cancel)"
        ) from None
    except TurnRefused as err:  # An unknown slash command, or one that cannot run as typed.
        raise JsonRpcInvalidParams(str(err)) from None
    return {"stopReason": to_proto.stop_reason(result.stop), **to_proto.stop_details(result.stop)}


async def cancel(state: ServerState, raw: Any) -> None:
    params = parse(SessionIdParams, raw)
    # Cancelling what is not running is a no-op, as in ACP.
    with contextlib.suppress(SessionError):
        state.sessions.get(params.session_id).cancel()


async def close_session(state: ServerState, raw: Any) -> dict[str, Any]:
    params = parse(SessionIdParams, raw)
    # Closing a session that is not open is not an error: the goal state already holds.
    return {"closed": await state.sessions.close(params.session_id)}


async def list_sessions(state: ServerState, raw: Any) -> dict[str, Any]:
    return {
        "sessions": [
            {
                "sessionId": s.session_id,
                "cwd": s.cwd,
                "title": s.title,
                "updatedAt": s.updated_at,
                "loaded": s.loaded,
            }
            for s in state.sessions.list()
        ]
    }


async def load_session(state: ServerState, raw: Any) -> dict[str, Any]:
    """Opens the session and replays its conversation as `session/update`s, then answers."""
    params = parse(SessionIdParams, raw)
    try:
        session = await state.sessions.load(params.session_id)
    except SessionError as err:
        raise SessionNotFoundError(str(err)) from None
    # As ACP's session/load: replay the conversation so the client can show it. The whole of
    # it, from the transcript: what the model still sees may have been compacted.
    shown = await asyncio.to_thread(session.display_history)
    updates = to_proto.history_updates(shown.messages, shown.compactions, shown.checkpoints)
    now = session.state
    updates.append(
        to_proto.context_usage(
            now.context.fill(now.history), now.context.meter.window, now.spending.session_cost
        )
    )
    for update in updates:
        state.channel.notify(SESSION_UPDATE, {"sessionId": session.id, "update": update})
    return {"sessionId": session.id}

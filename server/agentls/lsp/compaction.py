"""Compaction from the editor: the `agentls/compact` request (rich clients, e.g. the VS Code
panel's Compact button and `:AgentlsCompact`) and the `agentls.compact` command (any client).

Both run `Session.compact` with the turn reporter, so the client sees the same `compaction` and
`usage_update` session updates as during a turn, and answer with what happened. The request
fails with "session busy" while a turn runs; cancelling it leaves the context as it was.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types as T
from pydantic import Field

from agentls.core.session import Session, SessionBusy
from agentls.lsp.client_channel import ServerChannel
from agentls.lsp.commands import Args, parse_argument
from agentls.lsp.params import CompactParams, SessionBusyError, SessionNotFoundError, parse
from agentls.lsp.protocol import COMPACT, COMPACT_COMMAND
from agentls.lsp.reporter import TurnReporter
from agentls.lsp.server import AgentServer  # At runtime: pygls reads the handlers' type hints.
from agentls.lsp.sessions import SessionError

COMPACT_REQUEST = COMPACT


class CompactArgs(Args):
    sessionId: str = Field(min_length=1)
    instructions: str | None = None


def register(server: AgentServer) -> None:
    @server.feature(COMPACT_REQUEST)
    async def compact_request(ls: AgentServer, raw: Any) -> dict[str, Any]:
        params = parse(CompactParams, raw)
        return await compact(ls, await _session(ls, params.session_id), params.instructions)

    @server.command(COMPACT_COMMAND)
    async def compact_command(ls: AgentServer, *args: Any) -> dict[str, Any]:
        parsed = parse_argument(COMPACT_COMMAND, CompactArgs, args)
        result = await compact(ls, await _session(ls, parsed.sessionId), parsed.instructions)
        kind = T.MessageType.Info if result["compacted"] else T.MessageType.Warning
        ls.window_show_message(T.ShowMessageParams(type=kind, message=f"agentls: {result['message']}"))
        return result


async def compact(server: AgentServer, session: Session, instructions: str | None) -> dict[str, Any]:
    reporter = TurnReporter(ServerChannel(server), session.id, lambda: None)
    await reporter.begin("agentls: compacting")
    try:
        outcome = await session.compact(instructions, reporter.handle)
    except SessionBusy as err:
        raise SessionBusyError(f"Session busy: {err}") from None
    finally:
        reporter.close("compacted")
    window = session.state.context.meter.window
    return {
        "compacted": outcome.compacted,
        "tokensBefore": outcome.tokens_before,
        "tokensAfter": outcome.tokens_after,
        "size": window,
        "message": outcome.message if outcome.compacted else f"not compacted: {outcome.message}",
    }


async def _session(server: AgentServer, session_id: str) -> Session:
    try:
        return await server.sessions.open(session_id)
    except SessionError as err:
        raise SessionNotFoundError(str(err)) from None

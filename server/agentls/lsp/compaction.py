"""Compaction from the editor: the `agentls/compact` request (rich clients, e.g. the VS Code
panel's Compact button and `:AgentlsCompact`) and the `agentls.compact` command (any client).

Both run `Session.compact` with the turn reporter, so the client sees the same `compaction` and
`usage_update` session updates as during a turn, and answer with what happened. The request
fails with "session busy" while a turn runs; cancelling it leaves the context as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types as T
from pydantic import Field

from agentls.core.session import Session, SessionBusy
from agentls.lsp.params import Args, CompactParams, SessionBusyError, parse, parse_argument
from agentls.lsp.protocol import COMPACT_COMMAND
from agentls.lsp.reporter import TurnReporter

if TYPE_CHECKING:
    from agentls.lsp.client_channel import ClientChannel
    from agentls.lsp.state import ServerState


class CompactArgs(Args):
    sessionId: str = Field(min_length=1)
    instructions: str | None = None


async def compact_request(state: ServerState, raw: Any) -> dict[str, Any]:
    params = parse(CompactParams, raw)
    return await compact(state.channel, await state.open_session(params.session_id), params.instructions)


async def compact_command(state: ServerState, *args: Any) -> dict[str, Any]:
    """As the request, and the outcome is also shown as a message."""
    parsed = parse_argument(COMPACT_COMMAND, CompactArgs, args)
    result = await compact(state.channel, await state.open_session(parsed.sessionId), parsed.instructions)
    kind = T.MessageType.Info if result["compacted"] else T.MessageType.Warning
    state.channel.show_message(kind, f"agentls: {result['message']}")
    return result


async def compact(client: ClientChannel, session: Session, instructions: str | None) -> dict[str, Any]:
    reporter = TurnReporter(client, session.id, lambda: None)
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

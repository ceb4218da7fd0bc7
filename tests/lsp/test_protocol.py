"""`AgentProtocol` in process: what it keeps per message (nothing, once handled), and responses from
the client, which must reach only the request they answer."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from lsprotocol import types as T

from agentls.lsp.server import AgentServer, build_server


class Sink:
    """A pygls writer that keeps what the server sends."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.messages.append(json.loads(data.partition(b"\r\n\r\n")[2]))

    def close(self) -> None:
        pass

    def responses(self, msg_id: Any) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("id") == msg_id and "method" not in m]


@pytest.fixture
def server() -> tuple[AgentServer, Sink]:
    built = build_server()
    sink = Sink()
    built.protocol.set_writer(sink)
    return built, sink


def receive(server: AgentServer, message: Any) -> None:
    server.agent_protocol.receive_body(json.dumps(message).encode())


def initialize(server: AgentServer) -> None:
    params = {"processId": None, "rootUri": None, "capabilities": {}}
    receive(server, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params})


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_handled_messages_leave_nothing_behind(server: tuple[AgentServer, Sink]) -> None:
    ls, sink = server
    initialize(ls)
    uri = "file:///w/a.py"
    item = {"uri": uri, "languageId": "python", "version": 1, "text": "x\n"}
    receive(ls, {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": item}})
    for version in range(2, 502):
        change = {
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
            "text": "y",
        }
        params = {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}
        receive(ls, {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": params})
        receive(ls, {"jsonrpc": "2.0", "method": "agentls/cancel", "params": {"sessionId": "none"}})  # async
        receive(ls, {"jsonrpc": "2.0", "id": version, "method": "agentls/listSessions", "params": {}})
        await settle()
    # pygls kept the future of every notification handled by a generator or a coroutine: 1,000 here.
    assert ls.agent_protocol._request_futures == {}
    assert len(sink.responses(501)) == 1


async def test_duplicate_ids_are_both_answered(server: tuple[AgentServer, Sink]) -> None:
    ls, sink = server
    initialize(ls)
    receive(ls, {"jsonrpc": "2.0", "id": 7, "method": "agentls/listSessions", "params": {}})
    receive(ls, {"jsonrpc": "2.0", "id": 7, "method": "agentls/listSessions", "params": {}})
    await settle()
    assert len(sink.responses(7)) == 2
    assert ls.agent_protocol._request_futures == {}


async def test_a_response_reaches_only_a_pending_request_of_ours(server: tuple[AgentServer, Sink]) -> None:
    ls, sink = server
    initialize(ls)
    protocol = ls.agent_protocol
    pending = asyncio.wrap_future(
        protocol.send_request(
            T.WINDOW_SHOW_MESSAGE_REQUEST, T.ShowMessageRequestParams(type=T.MessageType.Info, message="?")
        )
    )
    (request,) = [m for m in sink.messages if m.get("method") == T.WINDOW_SHOW_MESSAGE_REQUEST]
    # Responses to ids we never sent (or a client's own request id) are dropped, not crashed on.
    receive(ls, {"jsonrpc": "2.0", "id": "never-sent", "result": None})
    receive(ls, {"jsonrpc": "2.0", "id": 0, "result": {"capabilities": {}}})
    assert not pending.done()
    # A malformed answer fails the request instead of leaving it pending forever.
    receive(ls, {"jsonrpc": "2.0", "id": request["id"], "result": {"no title": True}})
    with pytest.raises(Exception, match="Invalid response"):
        await asyncio.wait_for(pending, 5)
    assert protocol._result_types == {} and protocol._request_futures == {}


async def test_an_error_response_is_forgotten_once_delivered(server: tuple[AgentServer, Sink]) -> None:
    ls, sink = server
    initialize(ls)
    protocol = ls.agent_protocol
    pending = asyncio.wrap_future(
        protocol.send_request(T.WORKSPACE_APPLY_EDIT, T.ApplyWorkspaceEditParams(edit=T.WorkspaceEdit()))
    )
    msg_id = sink.messages[-1]["id"]
    receive(ls, {"jsonrpc": "2.0", "id": msg_id, "error": {"code": -32603, "message": "no"}})
    with pytest.raises(Exception, match="no"):
        await asyncio.wait_for(pending, 5)
    # pygls kept the result type of every request answered with an error.
    assert protocol._result_types == {} and protocol._request_futures == {}


async def test_a_cancel_with_an_id_of_the_wrong_type_is_ignored(server: tuple[AgentServer, Sink]) -> None:
    ls, sink = server
    initialize(ls)
    receive(ls, {"jsonrpc": "2.0", "id": 3, "method": "agentls/listSessions", "params": {}})
    # lsprotocol lets a dict through as the id; pygls looked it up in a dict of running requests.
    receive(ls, {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": {"a": 1}}})
    await settle()
    assert "result" in sink.responses(3)[0]

"""Broken and hostile input on the wire, against the real server process: it resynchronises after
garbage, refuses what is too large and goes on, answers every request (a result or an error), reads
capabilities it does not know, refuses a second `initialize`, and keeps its documents throughout.

Each test runs with the fast `initialize` (`fast_start.py`) and without it, since the two paths
read the first message differently.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lsp.wire import Server, frame, initialize, notification, request, server_env

pytestmark = pytest.mark.slow

MODES = [pytest.param({}, id="fast-start"), pytest.param({"AGENTLS_NO_FAST_START": "1"}, id="plain")]

INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, PARSE_ERROR = -32600, -32601, -32602, -32700

# What Visual Studio and newer clients announce beyond lsprotocol's enums (pygls issue #438).
UNKNOWN_ENUMS: dict[str, Any] = {
    "textDocument": {
        "completion": {
            "completionItemKind": {"valueSet": [*range(26), 118115, 118116]},
            "completionItem": {"documentationFormat": ["markdown", "x-vs-classified"]},
        },
        "hover": {"contentFormat": ["plaintext", "markdown", "x-html"]},
        "publishDiagnostics": {"tagSupport": {"valueSet": [1, 2, 3, 4]}},
        "documentSymbol": {"symbolKind": {"valueSet": [*range(1, 27), 255]}},
        "rename": {"prepareSupportDefaultBehavior": 7},
    },
    "workspace": {"workspaceEdit": {"resourceOperations": ["create", "zap"], "failureHandling": "shrug"}},
    "general": {"positionEncodings": ["utf-7", "utf-16"]},
}


@pytest.fixture(params=MODES)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    started = Server(tmp_path, server_env(**request.param))
    yield started
    started.close()


def list_sessions(msg_id: int | str) -> dict[str, Any]:
    return request(msg_id, "agentls/listSessions", {})


def assert_alive(server: Server, msg_id: int | str = "alive") -> None:
    server.send(list_sessions(msg_id))
    assert "result" in server.response(msg_id), server.stderr()


def error_code(response: dict[str, Any]) -> int:
    assert "error" in response, response
    code: int = response["error"]["code"]
    return code


def start(server: Server, capabilities: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
    server.send(initialize(capabilities or {}, **params))
    answer = server.response(1)
    assert "result" in answer, (answer, server.stderr())
    server.send(notification("initialized", {}))
    return answer


def shutdown(server: Server) -> None:
    server.send(request("bye", "shutdown"), notification("exit"))
    assert server.response("bye") == {"id": "bye", "jsonrpc": "2.0", "result": None}
    assert server.finish() == 0, server.stderr()


# --- 14: framing ---------------------------------------------------------------------------------


def test_stray_bytes_without_a_newline_do_not_deafen_the_server(server: Server) -> None:
    server.send(initialize({}), raw=b"\x00xyz")  # Glued to the first header line.
    assert "result" in server.response(1), server.stderr()
    server.send(list_sessions(2), raw=b"}{garbage")  # Glued to a later one.
    assert "result" in server.response(2)
    server.send(raw=b"Content-Type: text/plain\r\n\r\n\r\nmore garbage\n")
    assert_alive(server)
    shutdown(server)


@pytest.mark.parametrize("when", ["first", "later"])
def test_a_huge_content_length_is_refused_and_the_server_goes_on(server: Server, when: str) -> None:
    lie = b"Content-Length: 1000000000000\r\n\r\n"
    if when == "first":
        server.send(initialize({}), raw=lie)
    else:
        start(server)
        server.send(list_sessions(2), raw=lie)
    answer = server.response(1 if when == "first" else 2)
    assert "result" in answer, server.stderr()
    assert "too large" in server.stderr()
    assert_alive(server)
    shutdown(server)


def test_a_refused_request_is_answered_when_its_id_can_be_read(server: Server) -> None:
    start(server)
    head = b'{"jsonrpc": "2.0", "id": "big", "method": "agentls/listSessions", "params": {"x": "'
    server.send(list_sessions(3), raw=b"Content-Length: 99999999999\r\n\r\n" + head)
    refused = server.response("big")
    assert error_code(refused) == INVALID_REQUEST
    assert "too large" in refused["error"]["message"]
    assert "result" in server.response(3)
    shutdown(server)


def test_a_body_cut_short_by_the_next_message_is_answered_and_the_next_one_read(server: Server) -> None:
    start(server)
    cut = b'{"jsonrpc": "2.0", "id": "cut", "method": "agentls/listSessions", "para'
    # Announces more than it sends: the next two messages are inside the announced length.
    server.send(list_sessions(4), list_sessions(5), raw=b"Content-Length: %d\r\n\r\n" % (len(cut) + 60) + cut)
    assert error_code(server.response("cut")) == PARSE_ERROR
    assert "result" in server.response(4)
    assert "result" in server.response(5)
    shutdown(server)


# --- 15: every request gets an answer ------------------------------------------------------------

MALFORMED_REQUESTS: list[tuple[dict[str, Any], int]] = [
    (request(10, "textDocument/codeAction", 5), INVALID_REQUEST),
    (request(11, "textDocument/codeAction", {}), INVALID_PARAMS),
    (request(12, "textDocument/codeAction"), INVALID_PARAMS),
    (request(13, "textDocument/codeAction", {"textDocument": {"uri": 5}}), INVALID_PARAMS),
    (request(14, "workspace/executeCommand", {"command": 7}), INVALID_PARAMS),
    (request(15, "shutdown", "now"), INVALID_REQUEST),
    ({"id": 16, "method": "agentls/listSessions"}, INVALID_REQUEST),
    ({"jsonrpc": "1.0", "id": 17, "method": "agentls/listSessions"}, INVALID_REQUEST),
    ({"jsonrpc": "2.0", "id": 18, "method": 18}, INVALID_REQUEST),
    (request(19, "no/suchMethod", {}), METHOD_NOT_FOUND),
    (request("twenty", "$/unknownRequest", {}), METHOD_NOT_FOUND),
    (request(21, "initialize", {"capabilities": {}}), INVALID_REQUEST),
    (request(22, "textDocument/didOpen", {"textDocument": 3}), INVALID_PARAMS),
    (request(23, "textDocument/didClose", {"textDocument": {"uri": "file:///x"}}), INVALID_REQUEST),
    (request(24, "textDocument/hover", {}), METHOD_NOT_FOUND),
]

BAD_NOTIFICATIONS = [
    notification("textDocument/didOpen", 5),
    notification("textDocument/didOpen", {"textDocument": {"uri": "file:///x"}}),
    notification("textDocument/didChange", {"textDocument": {"uri": "file:///never-opened", "version": 2}}),
    notification(
        "textDocument/didChange",
        {"textDocument": {"uri": "file:///never-opened", "version": 2}, "contentChanges": [{"text": "x"}]},
    ),
    notification("textDocument/didClose", []),
    notification("$/cancelRequest", {"id": {"no": "pe"}}),
    notification("$/cancelRequest"),
    notification("$/setTrace", {"value": "loud"}),
    notification("initialized", 3),
    notification("window/workDoneProgress/cancel", {"token": None}),
    notification("notebookDocument/didOpen", {"cells": "many"}),
    {"method": "textDocument/didSave", "params": {}},
    notification("no/such/notification", {"a": 1}),
]


def test_every_malformed_request_gets_an_error(server: Server) -> None:
    start(server)
    server.send(*BAD_NOTIFICATIONS)
    for message, code in MALFORMED_REQUESTS:
        server.send(message)
        assert error_code(server.response(message["id"])) == code, (message, server.stderr())
    assert_alive(server)
    shutdown(server)


def test_requests_the_server_cannot_name_are_answered_with_a_null_id(server: Server) -> None:
    start(server)
    server.send({"jsonrpc": "2.0", "id": {"not": "an id"}, "method": "agentls/listSessions"})
    assert error_code(server.response(None)) == INVALID_REQUEST
    server.send([list_sessions(30), notification("initialized", {}), list_sessions(31)])
    assert error_code(server.response(30)) == INVALID_REQUEST
    assert error_code(server.response(31)) == INVALID_REQUEST
    server.send(raw=frame("just a string") + frame(None) + frame({}) + frame([]))
    assert_alive(server)
    shutdown(server)


def test_requests_after_shutdown_get_an_error(server: Server) -> None:
    start(server)
    server.send(request("bye", "shutdown"))
    assert server.response("bye")["result"] is None
    server.send(list_sessions(40))
    assert error_code(server.response(40)) == INVALID_REQUEST
    server.send(notification("exit"))
    assert server.finish() == 0, server.stderr()


# --- 16: capabilities lsprotocol does not know ----------------------------------------------------


def test_unknown_enum_values_in_capabilities_are_ignored(server: Server, tmp_path: Path) -> None:
    answer = start(server, UNKNOWN_ENUMS, rootUri=tmp_path.as_uri())
    assert answer["result"]["capabilities"]["positionEncoding"] == "utf-16"
    uri = (tmp_path / "a.py").as_uri()
    text = "x = 1\n# agent: add a docstring\n"
    server.send(notification("textDocument/didOpen", {"textDocument": document(uri, text)}))
    titles = code_action_titles(server, uri, 1)
    assert "Run agent instruction: add a docstring" in titles, server.stderr()
    # The first initialize was processed, so a second one is refused (17).
    server.send(initialize(UNKNOWN_ENUMS, msg_id=2))
    assert error_code(server.response(2)) == INVALID_REQUEST
    shutdown(server)


# --- 17: a second initialize ---------------------------------------------------------------------


def test_a_second_initialize_is_refused_and_the_documents_stay(server: Server, tmp_path: Path) -> None:
    start(server, rootUri=tmp_path.as_uri())
    uri = (tmp_path / "b.py").as_uri()
    server.send(notification("textDocument/didOpen", {"textDocument": document(uri, "# agent: one\n")}))
    server.send(initialize({}, msg_id=2, rootUri=tmp_path.as_uri()))
    refused = server.response(2)
    assert error_code(refused) == INVALID_REQUEST
    assert "only once" in refused["error"]["message"]
    change = {"range": span(0, 9, 0, 12), "text": "two"}
    server.send(
        notification(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [change]},
        )
    )
    assert "Run agent instruction: two" in code_action_titles(server, uri, 0)
    assert "KeyError" not in server.stderr()
    shutdown(server)


# --- helpers ---------------------------------------------------------------------------------------


def document(uri: str, text: str) -> dict[str, Any]:
    return {"uri": uri, "languageId": "python", "version": 1, "text": text}


def span(line: int, character: int, end_line: int, end_character: int) -> dict[str, Any]:
    return {
        "start": {"line": line, "character": character},
        "end": {"line": end_line, "character": end_character},
    }


_ACTION_IDS = iter(range(1000, 10**6))


def code_action_titles(server: Server, uri: str, line: int) -> list[str]:
    msg_id = next(_ACTION_IDS)
    params = {
        "textDocument": {"uri": uri},
        "range": span(line, 0, line, 0),
        "context": {"diagnostics": []},
    }
    server.send(request(msg_id, "textDocument/codeAction", params))
    answer = server.response(msg_id)
    assert "result" in answer, (answer, server.stderr())
    return [action["title"] for action in answer["result"] or []]

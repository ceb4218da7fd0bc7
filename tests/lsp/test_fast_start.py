"""The fast `initialize` handshake: its snapshot is exact, it hands over to pygls without losing or
duplicating a message, and it steps aside for anything it cannot answer exactly.

Timing is not asserted here; `python -m bench.initialize` measures it.
"""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import pytest_lsp
from lsprotocol import types as T
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from agentls.lsp import fast_start
from agentls.lsp.initialize_snapshot import (
    SWITCH_CANDIDATES,
    capabilities_with,
    generate,
    render,
    server_initialize_result,
)
from tests.lsp.wire import Server, frame, initialize, server_env

REGENERATE = (
    "initialize_result.json no longer matches what the server answers (a handler or a capability"
    " changed, or pygls was upgraded). Regenerate it and commit the result:\n"
    "    .venv/bin/python -m agentls.lsp.fast_start --regenerate"
)
PRESETS = ("visual-studio-code", "neovim@v0.7.0", "neovim@v0.11.0")
UTF8_ONLY: dict[str, Any] = {"general": {"positionEncodings": ["utf-8"]}}


def preset(name: str) -> dict[str, Any]:
    converted: dict[str, Any] = default_converter().unstructure(  # type: ignore[no-untyped-call]
        client_capabilities(name), T.ClientCapabilities
    )
    return converted


def snapshot() -> dict[str, Any]:
    loaded = fast_start.load_snapshot()
    assert loaded is not None, REGENERATE
    return loaded


# --- The snapshot is what pygls computes ---------------------------------------------------------


def test_snapshot_is_current() -> None:
    stored = (Path(fast_start.SNAPSHOT_PATH)).read_text(encoding="utf-8")
    assert json.loads(render(generate())) == json.loads(stored), REGENERATE


@pytest.mark.parametrize("client", [*PRESETS, "utf-8 only"])
def test_snapshot_answers_like_pygls(client: str) -> None:
    capabilities = UTF8_ONLY if client == "utf-8 only" else preset(client)
    expected = server_initialize_result(capabilities)
    assert fast_start.answer(initialize(capabilities), snapshot()) == expected, REGENERATE


def test_position_encoding_is_negotiated_like_pygls() -> None:
    encodings = {
        client: fast_start.answer(initialize(preset(client)), snapshot())["capabilities"]["positionEncoding"]  # type: ignore[index]
        for client in PRESETS
    }
    assert encodings == {"visual-studio-code": "utf-16", "neovim@v0.7.0": "utf-16", "neovim@v0.11.0": "utf-8"}
    assert fast_start.answer(initialize(UTF8_ONLY), snapshot())["capabilities"]["positionEncoding"] == "utf-8"  # type: ignore[index]


def test_pygls_reads_no_client_capability_the_snapshot_ignores(monkeypatch: pytest.MonkeyPatch) -> None:
    """The snapshot is keyed by SWITCH_CANDIDATES only: if a pygls upgrade makes its capabilities
    builder read another client capability, that must fail here, not answer wrongly."""
    import pygls.protocol.language_server as language_server
    from pygls.capabilities import ServerCapabilitiesBuilder

    read: set[str] = set()

    class Recording:
        def __init__(self, target: object, path: str) -> None:
            object.__setattr__(self, "_target", target)
            object.__setattr__(self, "_path", path)

        def __getattr__(self, name: str) -> Any:
            value = getattr(object.__getattribute__(self, "_target"), name)
            path = f"{object.__getattribute__(self, '_path')}{name}"
            read.add(path)
            return Recording(value, path + ".") if attrs.has(type(value)) else value

    class RecordingBuilder(ServerCapabilitiesBuilder):
        def __init__(self, client_capabilities: T.ClientCapabilities, *args: Any) -> None:
            super().__init__(Recording(client_capabilities, ""), *args)  # type: ignore[arg-type]

    monkeypatch.setattr(language_server, "ServerCapabilitiesBuilder", RecordingBuilder)
    everything = capabilities_with({path: classes[-1] for path, classes in SWITCH_CANDIDATES}, ["utf-8"])
    for capabilities in [everything, *map(preset, PRESETS), preset("emacs")]:
        server_initialize_result(capabilities)

    def snake(path: str) -> str:
        return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", path).lower()

    known = {snake(path) for path, _ in SWITCH_CANDIDATES}
    known |= {path.rsplit(".", n)[0] for path in known for n in range(path.count(".") + 1)}
    assert read, "the recording proxy saw nothing: pygls changed how it builds capabilities"
    assert read <= known, f"pygls reads client capabilities outside SWITCH_CANDIDATES: {read - known}"


@pytest.mark.parametrize(
    "message",
    [
        initialize({"textDocument": {"synchronization": {"willSave": "yes"}}}),
        initialize({"textDocument": 3}),
        initialize({"general": {"positionEncodings": "utf-8"}}),
        initialize({"general": {"positionEncodings": [8]}}),
        initialize({}, msg_id=True),
        {**initialize({}), "jsonrpc": "1.0"},
        {**initialize({}), "params": {}},
        {"jsonrpc": "2.0", "method": "initialize", "params": {"capabilities": {}}},
        {**initialize({}), "method": "shutdown"},
    ],
)
def test_answer_declines_what_it_cannot_be_sure_of(message: dict[str, Any]) -> None:
    assert fast_start.answer(message, snapshot()) is None


def test_unknown_encodings_fall_back_to_utf16_like_pygls() -> None:
    for offered in ([], ["utf-7"], ["utf-7", "utf-32", "utf-8"]):
        capabilities = {"general": {"positionEncodings": offered}}
        assert fast_start.answer(initialize(capabilities), snapshot()) == server_initialize_result(
            capabilities
        )


# --- Framing, replay and the dropped duplicate ---------------------------------------------------


@pytest.mark.parametrize(
    "stream",
    [
        frame(initialize({})) + frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        b"Content-Length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}tail\r\n",
        b"garbage\r\n" + frame(initialize({})),
        b"Content-Length: 99\r\n\r\n{}",  # EOF inside the body
        b"Content-Length: 5\r\n",  # EOF inside the headers
        b"x" * 10_000 + b"\r\n" + frame(initialize({})),  # a line longer than any header
        b"Content-Length: 4\r\n\r\nnope",
        b"",
    ],
)
def test_replay_reproduces_the_stream_byte_for_byte(stream: bytes) -> None:
    for read_line in (True, False):
        stdin = io.BytesIO(stream)
        replay, _ = fast_start.read_first_message(stdin)
        reader = fast_start.ReplayReader(replay, stdin)
        out = bytearray()
        while chunk := (reader.readline() if read_line else reader.read(3)):
            out += chunk
        assert bytes(out) == stream


def test_read_first_message_parses_what_pygls_would() -> None:
    message = initialize(UTF8_ONLY)
    assert fast_start.read_first_message(io.BytesIO(frame(message) + b"more"))[1] == message
    assert fast_start.read_first_message(io.BytesIO(b"garbage\r\n" + frame(message)))[1] is None
    lowercase = frame(message).replace(b"Content-Length", b"content-length")  # pygls ignores it too
    assert fast_start.read_first_message(io.BytesIO(lowercase))[1] is None


def test_drop_response_drops_exactly_the_duplicate(caplog: pytest.LogCaptureFixture) -> None:
    sent: dict[str, Any] = {"capabilities": {}}
    out = io.BytesIO()
    writer = fast_start.DropResponse(out, 7, sent)
    log_message = fast_start.encode_message({"jsonrpc": "2.0", "method": "window/logMessage", "params": {}})
    duplicate = fast_start.encode_message({"id": 7, "jsonrpc": "2.0", "result": sent})
    later = fast_start.encode_message({"id": 7, "jsonrpc": "2.0", "result": None})
    request = fast_start.encode_message({"id": 7, "jsonrpc": "2.0", "method": "x"})
    for data in (log_message, request, duplicate[:10], duplicate[10:] + later):
        writer.write(data)
    assert out.getvalue() == log_message + request + later
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_drop_response_reports_a_stale_snapshot(caplog: pytest.LogCaptureFixture) -> None:
    out = io.BytesIO()
    writer = fast_start.DropResponse(out, "a", {"capabilities": {"old": True}})
    writer.write(fast_start.encode_message({"id": "a", "jsonrpc": "2.0", "result": {"capabilities": {}}}))
    assert out.getvalue() == b""
    assert any("stale snapshot" in r.getMessage() for r in caplog.records)


def test_a_missing_or_foreign_snapshot_disables_the_fast_start(tmp_path: Path) -> None:
    assert fast_start.load_snapshot(str(tmp_path / "missing.json")) is None
    (tmp_path / "old.json").write_text('{"results": {}}')
    assert fast_start.load_snapshot(str(tmp_path / "old.json")) is None


def test_disable_switch() -> None:
    assert fast_start.enabled({})
    assert fast_start.enabled({"AGENTLS_NO_FAST_START": "0"})
    assert not fast_start.enabled({"AGENTLS_NO_FAST_START": "1"})


def test_the_module_imports_only_the_standard_library() -> None:
    code = "import sys, agentls.lsp.fast_start, agentls.cli.serve; print(' '.join(sys.modules))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout.split())
    assert not {b"pygls", b"lsprotocol", b"attrs", b"cattrs", b"anthropic"} & loaded
    code = "import sys, agentls.lsp.fast_start; print(' '.join(sys.modules))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout.split())
    assert not {b"pygls", b"lsprotocol", b"attrs", b"cattrs", b"anthropic", b"pydantic"} & loaded


# --- The real process, spoken to over pipes ------------------------------------------------------


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Any]:
    servers: list[Server] = []

    def start(**env: str) -> Server:
        server = Server(tmp_path, server_env(**env))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


INITIALIZED = {"jsonrpc": "2.0", "method": "initialized", "params": {}}
SHUTDOWN = {"jsonrpc": "2.0", "id": 99, "method": "shutdown"}
EXIT = {"jsonrpc": "2.0", "method": "exit"}


def did_open(tmp: Path) -> dict[str, Any]:
    document = {"uri": (tmp / "a.py").as_uri(), "languageId": "python", "version": 1, "text": "x = 1\n"}
    return {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": document}}


LIST_SESSIONS = {"jsonrpc": "2.0", "id": 2, "method": "agentls/listSessions", "params": {}}


@pytest.mark.slow
def test_handshake_then_the_full_server(spawn: Any, tmp_path: Path) -> None:
    server = spawn()
    capabilities = preset("neovim@v0.11.0")
    server.send(initialize(capabilities))
    answer = server.response(1)
    assert answer["result"] == fast_start.answer(initialize(capabilities), snapshot())
    assert answer["result"]["capabilities"]["positionEncoding"] == "utf-8"
    # Sent while pygls is (most likely) still importing: they wait in the pipe.
    server.send(INITIALIZED, did_open(tmp_path), LIST_SESSIONS)
    assert isinstance(server.response(2)["result"]["sessions"], list)
    server.send(SHUTDOWN)
    assert server.response(99)["result"] is None
    server.send(EXIT)
    assert server.finish() == 0, server.stderr()
    assert len(server.responses_to(1)) == 1, server.received
    assert "stale snapshot" not in server.stderr()


@pytest.mark.slow
def test_everything_in_one_write(spawn: Any, tmp_path: Path) -> None:
    server = spawn()
    server.send(initialize(UTF8_ONLY), INITIALIZED, did_open(tmp_path), LIST_SESSIONS, SHUTDOWN, EXIT)
    assert server.finish() == 0, server.stderr()
    assert len(server.responses_to(1)) == 1, server.received
    assert isinstance(server.responses_to(2)[0]["result"]["sessions"], list)
    assert server.responses_to(99)[0]["result"] is None
    assert "stale snapshot" not in server.stderr()


@pytest.mark.slow
@pytest.mark.parametrize("env", [{}, {"AGENTLS_NO_FAST_START": "1"}], ids=["fast", "disabled"])
def test_garbage_before_initialize_is_left_to_pygls(spawn: Any, env: dict[str, str]) -> None:
    server = spawn(**env)
    server.send(initialize(UTF8_ONLY), raw=b"garbage\r\n")
    assert server.response(1)["result"] == fast_start.answer(initialize(UTF8_ONLY), snapshot())
    server.send(LIST_SESSIONS, SHUTDOWN, EXIT)
    assert server.finish() == 0, server.stderr()
    assert len(server.responses_to(1)) == 1
    assert isinstance(server.responses_to(2)[0]["result"]["sessions"], list)


@pytest.mark.slow
def test_a_first_message_other_than_initialize_is_left_to_pygls(spawn: Any) -> None:
    server = spawn()
    server.send({**SHUTDOWN, "id": 1})
    assert server.response(1) == {"id": 1, "jsonrpc": "2.0", "result": None}
    server.send(EXIT)
    assert server.finish() == 0, server.stderr()


@pytest.mark.slow
def test_an_initialize_outside_the_snapshot_is_left_to_pygls(spawn: Any) -> None:
    # pygls reads a 1 as true; the snapshot only knows true, false and absent, so it declines.
    capabilities = {
        "general": {"positionEncodings": ["utf-32"]},
        "textDocument": {"synchronization": {"willSave": 1}},
    }
    assert fast_start.answer(initialize(capabilities), snapshot()) is None
    server = spawn()
    server.send(initialize(capabilities, msg_id="init"))
    assert server._queue.get(timeout=60) == {
        "id": "init",
        "jsonrpc": "2.0",
        "result": server_initialize_result(capabilities),
    }, server.stderr()
    server.send(SHUTDOWN, EXIT)
    assert server.finish() == 0, server.stderr()


# --- pytest-lsp's client, unchanged --------------------------------------------------------------


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "agentls"]))  # type: ignore[untyped-decorator]
async def lsp_client(lsp_client: LanguageClient) -> Any:
    yield
    await lsp_client.shutdown_session()


@pytest.mark.slow
async def test_pytest_lsp_client(lsp_client: LanguageClient) -> None:
    result = await lsp_client.initialize_session(
        T.InitializeParams(capabilities=client_capabilities("neovim@v0.11.0"))
    )
    assert result.capabilities.position_encoding == T.PositionEncodingKind.Utf8
    assert result.capabilities.experimental is not None
    assert result.capabilities.experimental["agentls"]["version"] == 1
    assert result.server_info is not None and result.server_info.name == "agentls"
    # Our server answers before pygls runs; pytest-lsp's own checks must not notice.
    sessions = await lsp_client.protocol.send_request_async(  # type: ignore[no-untyped-call]
        "agentls/listSessions", {}
    )
    assert isinstance(sessions.sessions, list)

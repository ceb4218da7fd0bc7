"""`agentls --tcp HOST:PORT` serves the same protocol over a socket."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _read_message(sock: socket.socket, buffer: bytearray) -> dict[str, object]:
    while True:
        head, sep, rest = bytes(buffer).partition(b"\r\n\r\n")
        if sep:
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            if len(rest) >= length:
                del buffer[: len(head) + 4 + length]
                return json.loads(rest[:length])  # type: ignore[no-any-return]
        chunk = sock.recv(65536)
        assert chunk, "server closed the connection"
        buffer.extend(chunk)


def test_tcp_server_answers_initialize_and_custom_requests(tmp_path: Path) -> None:
    port = _free_port()
    env = {"PATH": "/usr/bin:/bin", "AGENTLS_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "agentls", "--tcp", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except ConnectionRefusedError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the TCP server never listened"
                time.sleep(0.05)
        with sock:
            buffer = bytearray()
            sock.sendall(
                _frame(
                    {
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "initialize",
                        "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}},
                    }
                )
            )
            init = _read_message(sock, buffer)
            assert init["id"] == 1
            result = init["result"]
            assert (
                isinstance(result, dict) and result["capabilities"]["experimental"]["agentls"]["version"] == 1
            )
            sock.sendall(_frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
            sock.sendall(_frame({"jsonrpc": "2.0", "id": 2, "method": "agentls/listSessions", "params": {}}))
            listed = _read_message(sock, buffer)
            while listed.get("id") != 2:  # Skip any notification the server sends first.
                listed = _read_message(sock, buffer)
            assert listed["result"] == {"sessions": []}
            sock.sendall(_frame({"jsonrpc": "2.0", "id": 3, "method": "agentls/prompt", "params": {"x": 1}}))
            bad = _read_message(sock, buffer)
            while bad.get("id") != 3:
                bad = _read_message(sock, buffer)
            assert isinstance(bad["error"], dict) and bad["error"]["code"] == -32602
    finally:
        server.kill()
        server.wait()
        if server.stderr is not None:
            server.stderr.close()

"""JSON-RPC fuzzing: a seeded stream of hostile messages against a real server process.

The stream mixes well-formed traffic (documents opened, edited, closed; requests of every kind) with
garbage bytes, bad and duplicated headers, huge `Content-Length`s, bodies cut short, truncated or
non-object JSON, wrong types, unknown methods, bad params for standard methods, requests with and
without ids, duplicate ids and batches. The server must never crash or hang, must answer every
request that carries a usable id and a method with a result or an error, and its memory (RSS, from
/proc) must stay bounded.

The default run is a few thousand messages (well under a minute). The long run:

    AGENTLS_FUZZ_MESSAGES=30000 .venv/bin/pytest -q -p no:cacheprovider tests/lsp/test_fuzz.py

`AGENTLS_FUZZ_SEED` picks another stream (a failure message names its seed).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lsp.wire import Server, frame, initialize, notification, request, server_env

pytestmark = pytest.mark.slow

MESSAGES = int(os.environ.get("AGENTLS_FUZZ_MESSAGES", "3000"))
SEED = int(os.environ.get("AGENTLS_FUZZ_SEED", "20261204"))
BATCH = 200
"""Messages written before waiting for their answers (keeps both pipes from filling up)."""
MAX_GROWTH_KIB = 100 * 1024
"""Generous: the point is "bounded", not a tight budget."""
WARMUP = 400
"""Messages before the baseline RSS is taken (imports, caches and the first documents settle)."""
DOCS = 12
"""Distinct document uris the stream opens, edits and closes."""


class Fuzzer:
    """Builds the stream: each step is raw bytes plus the ids that must be answered."""

    def __init__(self, rng: random.Random, root: Path) -> None:
        self.rng = rng
        self.uris = [(root / f"doc{i}.py").as_uri() for i in range(DOCS)]
        self.open: dict[str, int] = {}
        self.next_id = 100
        self.expected: Counter[Any] = Counter()

    def new_id(self) -> int | str:
        self.next_id += 1
        return self.next_id if self.rng.random() < 0.7 else f"r{self.next_id}"

    def step(self) -> bytes:
        kinds = (
            (self.document, 30),
            (self.good_request, 12),
            (self.bad_request, 16),
            (self.bad_notification, 10),
            (self.garbage, 6),
            (self.bad_frame, 8),
            (self.bad_json, 8),
            (self.batch, 3),
            (self.duplicate_ids, 3),
            (self.response, 4),
        )
        make = self.rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        return make()

    def expect(self, message: dict[str, Any]) -> bytes:
        self.expected[message["id"]] += 1
        return frame(message)

    # --- well-formed traffic ---

    def document(self) -> bytes:
        uri = self.rng.choice(self.uris)
        if uri not in self.open:
            self.open[uri] = 1
            text = "".join(
                self.rng.choice(["x = 1\n", "# agent: do it\r\n", "é😀\n", "\r", "a"]) for _ in range(20)
            )
            params = {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}
            return frame(notification("textDocument/didOpen", params))
        if self.rng.random() < 0.15:
            del self.open[uri]
            return frame(notification("textDocument/didClose", {"textDocument": {"uri": uri}}))
        self.open[uri] += 1
        line, char = self.rng.randrange(25), self.rng.randrange(8)
        change: dict[str, Any] = {
            "range": {
                "start": {"line": line, "character": char},
                "end": {"line": line + self.rng.randrange(3), "character": self.rng.randrange(10)},
            },
            "text": self.rng.choice(["", "y", "\n", "\r\n", "😀", "\r", "é\n"]),
        }
        if self.rng.random() < 0.05:
            change = {"text": "reset\n"}
        params = {"textDocument": {"uri": uri, "version": self.open[uri]}, "contentChanges": [change]}
        return frame(notification("textDocument/didChange", params))

    def good_request(self) -> bytes:
        uri = self.rng.choice(self.uris)
        line = self.rng.randrange(30)
        options = [
            ("agentls/listSessions", {}),
            (
                "textDocument/codeAction",
                {
                    "textDocument": {"uri": uri},
                    "range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 3}},
                    "context": {"diagnostics": []},
                },
            ),
            ("workspace/executeCommand", {"command": "agentls.permissions", "arguments": []}),
        ]
        method, params = self.rng.choice(options)
        return self.expect(request(self.new_id(), method, params))

    # --- malformed JSON-RPC ---

    def bad_request(self) -> bytes:
        msg_id = self.new_id()
        method = self.rng.choice(
            [
                "textDocument/codeAction",
                "workspace/executeCommand",
                "initialize",
                "shutdown-not",
                "agentls/prompt",
                "agentls/newSession",
                "agentls/loadSession",
                "textDocument/hover",
                "$/whatever",
                "textDocument/didOpen",
                "",
            ]
        )
        params = self.rng.choice(
            [None, 5, "x", [], [1, 2], {}, {"textDocument": 3}, {"sessionId": 5}, {"command": 7}, True, 1.5]
        )
        message: dict[str, Any] = {"jsonrpc": self.rng.choice(["2.0", "2.0", "1.0", 2]), "id": msg_id}
        if self.rng.random() < 0.9:
            message["method"] = method if self.rng.random() < 0.9 else self.rng.choice([5, None, ["m"]])
        if self.rng.random() < 0.1:
            del message["jsonrpc"]
        if params is not None:
            message["params"] = params
        if "method" in message:
            return self.expect(message)
        return frame(message)  # No method: a response to nothing, dropped.

    def bad_notification(self) -> bytes:
        method = self.rng.choice(
            [
                "textDocument/didOpen",
                "textDocument/didChange",
                "textDocument/didClose",
                "textDocument/didSave",
                "$/cancelRequest",
                "$/setTrace",
                "initialized",
                "agentls/cancel",
                "window/workDoneProgress/cancel",
                "notebookDocument/didOpen",
                "workspace/didChangeWorkspaceFolders",
                "unknown/notification",
            ]
        )
        params = self.rng.choice(
            [None, 3, "x", [], {}, {"textDocument": {"uri": 5}}, {"id": {"a": 1}}, {"value": "loud"}]
        )
        return frame(notification(method, params))

    def response(self) -> bytes:
        """The client answering requests the server never sent."""
        msg_id = self.rng.choice([1, "x", self.next_id, None, {"a": 1}])
        body = self.rng.choice([{"result": None}, {"error": {"code": 1, "message": "no"}}, {"error": 5}, {}])
        return frame({"jsonrpc": "2.0", "id": msg_id, **body})

    def batch(self) -> bytes:
        items: list[Any] = []
        for _ in range(self.rng.randrange(0, 4)):
            item = request(self.new_id(), "agentls/listSessions", {})
            self.expected[item["id"]] += 1
            items.append(item)
        items.append(notification("initialized", {}))
        self.rng.shuffle(items)
        return frame(items)

    def duplicate_ids(self) -> bytes:
        msg_id = self.new_id()
        return self.expect(request(msg_id, "agentls/listSessions", {})) + self.expect(
            request(msg_id, "textDocument/codeAction", {"bad": True})
        )

    # --- broken framing ---

    def garbage(self) -> bytes:
        size = self.rng.choice([1, 3, 17, 200, 5000])
        data = bytes(self.rng.randrange(256) for _ in range(size))
        return data.replace(b"\n", b" ")  # A raw line break could complete a header by chance.

    def bad_frame(self) -> bytes:
        body = json.dumps(request(self.new_id(), "agentls/listSessions", {})).encode()
        return self.rng.choice(
            [
                b"Content-Length: 1000000000000\r\n\r\n",
                b"Content-Length: 99999999999999999999999999999999\r\n\r\n" + body,
                b"Content-Length: 100000000\r\n\r\n" + body[:20],  # Over the limit, then cut short.
                b"Content-Length: abc\r\n\r\n" + body,
                b"Content-Length: -5\r\n\r\n" + body,
                b"Content-Length: %d\r\n\r\n" % (len(body) + 500) + body[:-3],  # Announces more.
                b"Content-Length: 4\r\n\r\n" + body,  # Announces less: the rest is garbage.
                b"Content-Length: 0\r\n\r\n",
                b"Content-Type: x\r\nContent-Length: 5\r\nContent-Length: 2\r\n\r\n{}",
                b"content-length:2\n\n{}",
                b"Content-Length: 12\r\n",  # A header block that never ends, then the next message.
                b"X" * 9000,  # A line longer than any header, without a break.
            ]
        )

    def bad_json(self) -> bytes:
        msg_id = self.new_id()
        whole = json.dumps(request(msg_id, "agentls/listSessions", {"x": "y" * 20}))
        choice = self.rng.randrange(7)
        if choice == 0:  # Truncated, id first: the server can still name it.
            self.expected[msg_id] += 1
            cut = self.rng.randrange(whole.index('"params"'), len(whole) - 1)
            return frame_raw(whole[:cut].encode())
        payloads = [
            b"{",
            b'{"jsonrpc": "2.0", "method": "x", "id": 1,',
            b"[" * 5000 + b"]" * 5000,
            b'"just a string"',
            b"\xff\xfe\x00garbage",
            b'{"jsonrpc": "2.0", "id": 1' + b"0" * 5000 + b', "method": "x"}',
        ]
        return frame_raw(payloads[choice - 1])


def frame_raw(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    started = Server(tmp_path, server_env())
    yield started
    started.close()


def test_fuzz(server: Server, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    fuzz = Fuzzer(rng, tmp_path)
    server.send(initialize({"general": {"positionEncodings": ["utf-16"]}}, rootUri=tmp_path.as_uri()))
    assert "result" in server.response(1), server.stderr()
    server.send(notification("initialized", {}))

    baseline: int | None = None
    peak = 0
    started = time.monotonic()
    sent = 0
    while sent < MESSAGES:
        chunk = b""
        for _ in range(min(BATCH, MESSAGES - sent)):
            chunk += fuzz.step()
            sent += 1
        fence = f"fence-{sent}"
        # A well-formed request after the batch: once it is answered, everything before it was read.
        server.send(request(fence, "agentls/listSessions", {}), raw=chunk)
        _wait_for(server, fence, f"seed {SEED}, after {sent} messages")
        assert server.proc.poll() is None, f"seed {SEED}: the server died\n{server.stderr()[-3000:]}"
        rss = server.rss_kib()
        if baseline is None and sent >= WARMUP:
            baseline = rss
        peak = max(peak, rss)

    # Slow handlers may answer after the last fence: give them time, then insist.
    deadline = time.monotonic() + 60
    while (missing := _unanswered(server, fuzz.expected)) and time.monotonic() < deadline:
        fence = f"fence-final-{time.monotonic()}"
        server.send(request(fence, "agentls/listSessions", {}))
        _wait_for(server, fence, f"seed {SEED}, at the end")
    assert not missing, f"seed {SEED}: requests never answered: {sorted(map(str, missing))[:20]}"
    assert baseline is not None
    growth = peak - baseline
    assert growth < MAX_GROWTH_KIB, f"seed {SEED}: RSS grew by {growth} KiB (from {baseline} KiB)"
    server.send(request("bye", "shutdown"), notification("exit"))
    assert server.response("bye").get("result", "no result") is None
    assert server.finish() == 0, server.stderr()[-3000:]
    print(
        f"\nfuzz: {MESSAGES} messages, seed {SEED}, {sum(fuzz.expected.values())} requests answered,"
        f" RSS {baseline} -> peak {peak} KiB, {time.monotonic() - started:.1f} s"
    )


def _wait_for(server: Server, fence: str, where: str) -> None:
    try:
        server.response(fence)
    except Exception as err:
        raise AssertionError(f"{where}: no answer to {fence} ({err!r})\n{server.stderr()[-3000:]}") from None


def _unanswered(server: Server, expected: Counter[Any]) -> dict[Any, int]:
    answered = Counter(m.get("id") for m in server.received if "method" not in m)
    return {i: n for i, n in expected.items() if answered[i] < n}

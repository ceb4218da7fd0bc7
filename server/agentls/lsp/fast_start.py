"""Answer `initialize` before pygls is imported, then hand the connection to pygls.

Why: an editor shows nothing from a server until `initialize` is answered, and the design target
is an answer within 300 ms of the spawn. Importing lsprotocol alone takes about half a second on a
slow machine (it defines ~1,000 attrs classes at import), and pygls imports it. So on stdio this
module speaks just enough JSON-RPC to answer the first message itself, and only then imports the
real server.

How:

1. Read the first message from stdin, strictly: one exact `Content-Length` line and a body within
   the size limit (`agentls.lsp.framing`, whose lenient reader decodes the same bytes the same way).
2. If it is an `initialize` request whose answer the snapshot `initialize_result.json` holds
   (see `agentls.lsp.initialize_snapshot`: every answer in it was computed by the real server),
   write that `InitializeResult` at once.
3. Build the real server and run it on
   - a stdin that first replays the bytes read in step 1, then continues with the real stdin: the
     server's read loop (`transport.py`), pygls and our `initialize` handler (`lsp/lifecycle.py`)
     set up the workspace, the position encoding and the client features exactly as usual, and
     what the client sent meanwhile (`initialized`, `didOpen`, ...) waits in the pipe and is read
     afterwards, in order;
   - a stdout that drops pygls' own response to that `initialize` (each pygls write is one
     `Content-Length` header plus body, `JsonRPCProtocol._send_data`), after checking that it
     equals the answer already sent (a mismatch is logged as an error: the snapshot is stale).

Anything unexpected (a bad header, another method first, client capabilities outside the snapshot,
a missing snapshot) skips step 2: the server gets the replayed bytes and answers everything itself,
as if this module did not exist (just as slowly).

The snapshot must match the registered features. After adding or changing a handler, regenerate it:

    .venv/bin/python -m agentls.lsp.fast_start --regenerate

(`--check` only compares; `tests/lsp/test_fast_start.py` fails when it is stale.) Set
`AGENTLS_NO_FAST_START=1` to disable the fast start; TCP never uses it.

Imports stay stdlib-only (json, logging, os, sys, threading, typing, and `agentls.lsp.framing`, which
is stdlib-only too): importing pygls, lsprotocol or pydantic here would defeat the purpose.
`tests/lsp/test_fast_start.py` checks this.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from typing import TYPE_CHECKING, Any, cast

from agentls.lsp.framing import MAX_BODY_BYTES, MAX_LENGTH_DIGITS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from io import BufferedIOBase
    from typing import BinaryIO

log = logging.getLogger(__name__)

DISABLE_ENV = "AGENTLS_NO_FAST_START"
# os.path rather than pathlib: this module is on the spawn-to-initialize path, where every import counts.
SNAPSHOT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "initialize_result.json")  # noqa: PTH100, PTH118, PTH120
REGENERATE_HINT = "regenerate it: .venv/bin/python -m agentls.lsp.fast_start --regenerate"

# The strict header rule: exactly `Content-Length: <digits>\r\n`, once; other header lines (which the
# server's reader ignores) must not mention a content length at all.
_CONTENT_LENGTH = b"Content-Length: "
_MAX_HEADER_LINES = 8
_MAX_HEADER_LINE = 4096
# What pygls writes (`JsonRPCProtocol._send_data`), so our answer looks like its own.
_CONTENT_TYPE = "application/vscode-jsonrpc; charset=utf-8"

Json = dict[str, Any]


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """False when `AGENTLS_NO_FAST_START` is set to anything but empty or `0`."""
    return environ.get(DISABLE_ENV, "") in ("", "0")


def encode_message(message: Json) -> bytes:
    """Frame a message the way pygls does: `json.dumps` (ASCII-only, so lengths in characters and
    bytes agree), a Content-Length and a Content-Type header."""
    body = json.dumps(message)
    return f"Content-Length: {len(body)}\r\nContent-Type: {_CONTENT_TYPE}\r\n\r\n{body}".encode()


def read_first_message(stdin: BinaryIO) -> tuple[bytes, Json | None]:
    """Read one framed message. Returns every byte consumed (to replay to the server) and the
    message, or None when the bytes are not a message the server's reader would surely read the
    same way; the caller then lets the server read them itself, so being strict here only costs
    speed, never correctness. A body over the size limit is not read at all."""
    consumed = bytearray()
    length = 0
    for _ in range(_MAX_HEADER_LINES):
        line = stdin.readline(_MAX_HEADER_LINE)
        consumed += line
        if not line.endswith(b"\n"):  # EOF, or a line too long to be a header.
            return bytes(consumed), None
        if not line.strip():  # The blank line that ends the headers.
            break
        if line.startswith(_CONTENT_LENGTH) and line.endswith(b"\r\n"):
            digits = line[len(_CONTENT_LENGTH) : -2]
            if not digits.isdigit() or length:
                return bytes(consumed), None
            length = int(digits) if len(digits) <= MAX_LENGTH_DIGITS else MAX_BODY_BYTES + 1
        elif b":" not in line or b"content-length" in line.lower():  # Garbage, or a second length.
            return bytes(consumed), None
    else:
        return bytes(consumed), None
    if not length or length > MAX_BODY_BYTES:
        return bytes(consumed), None
    body = stdin.read(length)
    consumed += body
    if len(body) != length:
        return bytes(consumed), None
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return bytes(consumed), None
    return bytes(consumed), message if isinstance(message, dict) else None


def load_snapshot(path: str = SNAPSHOT_PATH) -> Json | None:
    """The stored answers, or None (logged) when the file is missing or unreadable."""
    try:
        with open(path, "rb") as file:
            snapshot = json.load(file)
    except (OSError, ValueError) as err:
        log.warning("fast start disabled: cannot read %s (%s); %s", path, err, REGENERATE_HINT)
        return None
    shape = {"positionEncodings": list, "defaultPositionEncoding": str, "switches": list, "results": dict}
    if not isinstance(snapshot, dict) or not all(isinstance(snapshot.get(k), t) for k, t in shape.items()):
        log.warning("fast start disabled: %s is not a snapshot; %s", path, REGENERATE_HINT)
        return None
    return snapshot


_ABSENT = object()
_UNKNOWN = object()


def _capability(capabilities: Json, path: str) -> object:
    """The value at a dotted camelCase path; `_ABSENT` when a step is missing or null (pygls'
    `get_capability` then uses its default), `_UNKNOWN` when a step is not an object (pygls would
    not structure such params: leave them to pygls)."""
    value: object = capabilities
    for step in path.split("."):
        if value is None or value is _ABSENT:
            return _ABSENT
        if not isinstance(value, dict):
            return _UNKNOWN
        value = value.get(step, _ABSENT)
    return _ABSENT if value is None else value


def classify(value: object) -> str | None:
    """The class of a switch's value that the snapshot is keyed by: `-` absent or null, `0` false,
    `1` true, `o` an object; None for anything else (no snapshot entry: pygls answers)."""
    if value is _ABSENT:
        return "-"
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, dict):
        return "o"
    return None


def position_encoding(capabilities: Json, snapshot: Json) -> str | None:
    """pygls' `ServerCapabilitiesBuilder.choose_position_encoding`: the first of the client's
    `general.positionEncodings` that pygls supports, else its default (UTF-16)."""
    default = cast(str, snapshot["defaultPositionEncoding"])
    offered = _capability(capabilities, "general.positionEncodings")
    if offered is _ABSENT:
        return default
    if not isinstance(offered, list) or not all(isinstance(item, str) for item in offered):
        return None
    supported = snapshot["positionEncodings"]
    return next((item for item in offered if item in supported), default)


def answer(message: Json, snapshot: Json) -> Json | None:
    """The `InitializeResult` the real server would send for this `initialize` request, or None
    when this module cannot be sure of it."""
    if message.get("jsonrpc") != "2.0" or message.get("method") != "initialize" or "error" in message:
        return None
    msg_id = message.get("id")
    if isinstance(msg_id, bool) or not isinstance(msg_id, int | str):
        return None
    params = message.get("params")
    if not isinstance(params, dict) or not isinstance(params.get("capabilities"), dict):
        return None
    capabilities: Json = params["capabilities"]
    encoding = position_encoding(capabilities, snapshot)
    classes = [classify(_capability(capabilities, path)) for path in snapshot["switches"]]
    if encoding is None or None in classes:
        return None
    template = snapshot["results"].get("".join(cast("list[str]", classes)))
    if template is None:
        return None
    # Replacing an existing key keeps pygls' field order.
    return {**template, "capabilities": {**template["capabilities"], "positionEncoding": encoding}}


class ReplayReader:
    """The server's stdin: the bytes the fast start already consumed, then the real stdin.

    The server's read loop calls `read1(n)` (`transport.py`), one call at a time; `readline()` and
    `read(n)` are there for pygls' own reader."""

    def __init__(self, replay: bytes, rest: BinaryIO) -> None:
        self._replay = replay
        self._rest = rest

    def readline(self, size: int = -1) -> bytes:
        if not self._replay:
            return self._rest.readline(size)
        limit = len(self._replay) if size < 0 else min(size, len(self._replay))
        newline = self._replay.find(b"\n", 0, limit)
        end = newline + 1 if newline >= 0 else limit
        line, self._replay = self._replay[:end], self._replay[end:]
        if newline >= 0 or self._replay or len(line) == size:
            return line
        # The replay ended mid-line (only on the fallback path): the rest is in the real stdin.
        return line + self._rest.readline(size - len(line) if size >= 0 else -1)

    def read1(self, size: int = -1) -> bytes:
        if not self._replay:
            return cast("BufferedIOBase", self._rest).read1(size)
        limit = len(self._replay) if size < 0 else size
        chunk, self._replay = self._replay[:limit], self._replay[limit:]
        return chunk

    def read(self, size: int = -1) -> bytes:
        if not self._replay:
            return self._rest.read(size)
        if size < 0:
            chunk, self._replay = self._replay, b""
            return chunk + self._rest.read()
        chunk, self._replay = self._replay[:size], self._replay[size:]
        if len(chunk) < size:
            chunk += self._rest.read(size - len(chunk))
        return chunk


class DropResponse:
    """pygls' stdout: drops the first response to `msg_id`, because the fast start already sent
    it, and passes everything else through unchanged.

    pygls writes one whole frame per `write` call, but this parses a buffer anyway so a split frame
    cannot slip through. Once the response is dropped, writes go straight to stdout."""

    def __init__(self, stdout: BinaryIO, msg_id: int | str, sent: Json) -> None:
        self._out = stdout
        self._id = msg_id
        self._sent = sent
        self._pending = bytearray()
        self._filtering = True
        self._lock = threading.Lock()

    def write(self, data: bytes) -> int:
        with self._lock:
            if not self._filtering:
                return self._out.write(data)
            self._pending += data
            while self._filtering and (frame := self._next_frame()) is not None:
                raw, message = frame
                if message is not None and self._is_our_response(message):
                    self._check(message)
                    self._filtering = False
                else:
                    self._out.write(raw)
            if not self._filtering and self._pending:
                self._out.write(bytes(self._pending))
                self._pending.clear()
            return len(data)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        self._out.close()

    def _next_frame(self) -> tuple[bytes, Json | None] | None:
        """Pop one complete frame from the buffer: its bytes and its parsed body (None when the
        body is not a JSON object). None while the frame is incomplete. A header without a
        Content-Length cannot be framed: stop filtering and let everything through."""
        end = self._pending.find(b"\r\n\r\n")
        if end < 0:
            return None
        length = None
        for line in bytes(self._pending[:end]).split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and value.strip().isdigit():
                length = int(value)
        if length is None:
            log.error("fast start: cannot frame the server's output; a duplicate response may follow")
            self._filtering = False
            return None
        start = end + 4
        if len(self._pending) < start + length:
            return None
        raw = bytes(self._pending[: start + length])
        del self._pending[: start + length]
        try:
            message = json.loads(raw[start:])
        except ValueError:
            message = None
        return raw, message if isinstance(message, dict) else None

    def _is_our_response(self, message: Json) -> bool:
        if "method" in message or not ("result" in message or "error" in message):
            return False
        msg_id = message.get("id")
        return type(msg_id) is type(self._id) and msg_id == self._id

    def _check(self, message: Json) -> None:
        if "error" in message or message.get("result") != self._sent:
            log.error(
                "fast start answered initialize with a stale snapshot: it sent %s, the server computed %s;"
                " %s",
                json.dumps(self._sent),
                json.dumps(message.get("result", message.get("error"))),
                REGENERATE_HINT,
            )


def serve_stdio(stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """Run the language server on stdio, answering `initialize` before pygls is imported."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    replay, message = read_first_message(stdin)
    writer: object = stdout
    if message is not None and message.get("method") == "initialize":
        snapshot = load_snapshot()
        result = answer(message, snapshot) if snapshot is not None else None
        if result is not None:
            msg_id = message["id"]
            try:
                stdout.write(encode_message({"id": msg_id, "jsonrpc": "2.0", "result": result}))
                stdout.flush()
            except OSError as err:  # pygls, too, just stops when the client is gone.
                log.error("connection to the client lost before initialize was answered: %s", err)
                return
            writer = DropResponse(stdout, msg_id, result)
        else:
            log.info("fast start: this initialize is not in the snapshot; the server answers it")

    from agentls.lsp.server import build_server

    server = build_server()
    # start_io asks for BinaryIO but only calls read1 on stdin and write/flush/close on stdout.
    server.start_io(cast("BinaryIO", ReplayReader(replay, stdin)), cast("BinaryIO", writer))


def main(argv: Sequence[str] | None = None) -> int:
    """`--regenerate` rewrites the snapshot from the real server; `--check` only compares."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m agentls.lsp.fast_start", description=__doc__)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--regenerate", action="store_true", help=f"rewrite {SNAPSHOT_PATH}")
    action.add_argument("--check", action="store_true", help="exit 1 if the snapshot is stale")
    args = parser.parse_args(argv)

    from agentls.lsp.initialize_snapshot import generate, render

    # Probing unknown encodings makes pygls warn once per probe; that is the point, not news.
    logging.getLogger("pygls").setLevel(logging.ERROR)
    text = render(generate())
    try:
        with open(SNAPSHOT_PATH, encoding="utf-8") as file:
            current = file.read()
    except OSError:
        current = ""
    if args.check:
        print("up to date" if text == current else f"stale: {REGENERATE_HINT}")
        return 0 if text == current else 1
    if text != current:
        with open(SNAPSHOT_PATH, "w", encoding="utf-8") as file:
            file.write(text)
    print(f"{'wrote' if text != current else 'unchanged:'} {SNAPSHOT_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`FakeMessagesAPI`: a real HTTP server on 127.0.0.1 that plays a script of steps over SSE.

Each POST /v1/messages takes the next step (see `faults.Step`) after the request passes the same
checks the real API makes; a rejected request is answered with the API's error and takes no step.
Streams use chunked transfer encoding with `Connection: close`, written event by event, so a
client sees each event as it is sent and an abrupt close is a truncated body, not a clean end.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from agentls.core.scripted import Reply
from tests.fakeapi.faults import Delay, DropConnection, HttpError, Outcome, RawStream, Step, StreamError
from tests.fakeapi.sse import encode, wire_events
from tests.fakeapi.validate import validate_request

_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class FakeMessagesAPI:
    """A scripted Messages API. Use as a context manager, or call `start()` / `stop()`."""

    def __init__(
        self,
        script: Iterable[Step] = (),
        *,
        port: int = 0,
        event_delay_s: float = 0.0,
        ping_every: int = 5,
        validate: bool = True,
    ) -> None:
        self.script: list[Step] = list(script)
        self.event_delay_s = event_delay_s
        self.ping_every = ping_every
        self.validate = validate
        self.requests: list[dict[str, Any]] = []
        """Every JSON body received on /v1/messages, in order (rejected ones included)."""
        self.request_headers: list[dict[str, str]] = []
        """The headers of each request in `requests` (names lower-cased)."""
        self.rejections: list[str] = []
        """The messages of requests answered 4xx by validation."""
        self.client_disconnected = threading.Event()
        """Set when a client goes away while a response is still being written."""
        self.disconnects = 0
        self._consumed = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler, bind_and_activate=True)
        self._server.daemon_threads = False  # server_close() joins the handler threads.
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, *steps: Step) -> None:
        with self._lock:
            self.script.extend(steps)

    @property
    def remaining(self) -> int:
        return len(self.script) - self._consumed

    def assert_consumed(self) -> None:
        if self.remaining > 0:
            raise AssertionError(
                f"fake API: {self.remaining} step(s) never requested "
                f"({self._consumed} of {len(self.script)} used)"
            )

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-messages-api",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- called from handler threads ---------------------------------------------------------

    def _next(self, body: Any, headers: dict[str, str]) -> tuple[int, Outcome]:
        """Record a request and pick its outcome: a rejection, the next step, or 'script ran out'."""
        with self._lock:
            self.requests.append(body)
            self.request_headers.append(headers)
            rejection = validate_request(body, headers) if self.validate else None
            if rejection is not None:
                self.rejections.append(rejection[2])
                return -1, HttpError(*rejection)
            index = self._consumed
            if index >= len(self.script):
                message = (
                    f"fake API: script ran out: request #{len(self.requests)} "
                    f"but the script has {len(self.script)} step(s)"
                )
                return index, HttpError(500, "api_error", message)
            self._consumed += 1
            step = self.script[index]
        return index, step(body) if callable(step) else step

    def _disconnected(self) -> None:
        with self._lock:
            self.disconnects += 1
        self.client_disconnected.set()

    def _sleep(self, seconds: float) -> bool:
        """Sleep; False if the server is stopping."""
        if seconds > 0:
            self._stopping.wait(seconds)
        return not self._stopping.is_set()


_request_ids = itertools.count(1)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeMessagesAPI/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake: FakeMessagesAPI = self.server.fake  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path.split("?")[0] != "/v1/messages":
            self._send_error(HttpError(404, "not_found_error", f"Not found: {self.path}"))
            return
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            self._send_error(HttpError(400, "invalid_request_error", "the request body is not valid JSON"))
            return
        before_s, event_delay_s = 0.0, fake.event_delay_s
        try:
            index, outcome = fake._next(body, {k.lower(): v for k, v in self.headers.items()})
            while isinstance(outcome, Delay):
                before_s, event_delay_s = (
                    before_s + outcome.before_s,
                    max(event_delay_s, outcome.event_delay_s),
                )
                outcome = outcome.step if not callable(outcome.step) else outcome.step(body)
        except Exception as exc:  # A broken script step: say so instead of a traceback on stderr.
            index, outcome = -1, HttpError(500, "api_error", f"fake API: a script step raised {exc!r}")
        if not fake._sleep(before_s):
            return
        try:
            if isinstance(outcome, HttpError):
                self._send_error(outcome)
            else:
                model = body.get("model", "fake-model") if isinstance(body, dict) else "fake-model"
                self._stream(fake, outcome, max(index, 0), str(model), event_delay_s)
        except _DISCONNECTS:
            fake._disconnected()
            self.close_connection = True

    def do_GET(self) -> None:
        self._send_error(HttpError(404, "not_found_error", f"Not found: {self.path}"))

    def _send_error(self, error: HttpError) -> None:
        data = json.dumps({**error.body(), "request_id": f"req_fake_{next(_request_ids):04d}"}).encode()
        self.send_response(error.status, "Overloaded" if error.status == 529 else None)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", f"req_fake_{next(_request_ids):04d}")
        for name, value in error.headers.items():
            self.send_header(name, value)
        self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _stream(
        self,
        fake: FakeMessagesAPI,
        outcome: Reply | DropConnection | StreamError | RawStream,
        index: int,
        model: str,
        event_delay_s: float,
    ) -> None:
        if isinstance(outcome, RawStream):
            reply, fault, events = None, None, list(outcome.events)
        else:
            reply = outcome if isinstance(outcome, Reply) else outcome.reply
            fault = None if isinstance(outcome, Reply) else outcome
            events = wire_events(reply, index, model, fake.ping_every)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", f"req_fake_{next(_request_ids):04d}")
        self.send_header("connection", "close")
        self.end_headers()
        written = 0
        for event in events:
            is_ping = event[0] == "ping"
            if fault is not None and not is_ping and written >= fault.after_events:
                break
            wait = reply.delay_before_stop_s if reply is not None and event[0] == "message_delta" else 0.0
            if not fake._sleep(wait + (0.0 if is_ping else event_delay_s)):
                return self._abort()
            self._write_chunk(encode(event))
            written += 0 if is_ping else 1
        if isinstance(fault, DropConnection):
            return self._abort()
        if isinstance(fault, StreamError):
            self._write_chunk(encode(("error", fault.body())))
        self.wfile.write(b"0\r\n\r\n")
        return None

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _abort(self) -> None:
        """Close the socket without ending the chunked body: the client sees a dropped connection."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

"""`FakeMessagesAPI`: a real HTTP server on 127.0.0.1 that plays a script of steps over SSE.

Each POST /v1/messages takes the next step (see `faults.Step`) after the request passes the same
checks the real API makes; a rejected request is answered with the API's error and takes no step.
Streams use chunked transfer encoding with `Connection: close`, written event by event, so a
client sees each event as it is sent and an abrupt close is a truncated body, not a clean end.

Like the real API it simulates prompt caching (see `cache`) and a context window: each streamed
reply reports the usage the fake computed from the request and its own prompt cache (recorded in
`usages`), and a request longer than `context_window` is refused with `prompt is too long`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from agentls.core.model import TokenUsage
from agentls.core.scripted import Reply
from tests.fakeapi.cache import CacheUsage, Prompt, PromptCache, prompt_of
from tests.fakeapi.faults import (
    Delay,
    DropConnection,
    HttpError,
    MalformedEvent,
    Outcome,
    Pings,
    RawStream,
    Stall,
    Step,
    StreamError,
)
from tests.fakeapi.sse import encode, wire_events
from tests.fakeapi.tokens import count_reply_tokens
from tests.fakeapi.validate import validate_request

_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)

_Streamed = Reply | DropConnection | StreamError | Stall | Pings
"""Outcomes that stream a reply (or part of one) with computed usage."""


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
        context_window: int | None = None,
        simulate_usage: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.script: list[Step] = list(script)
        self.event_delay_s = event_delay_s
        self.ping_every = ping_every
        self.validate = validate
        self.context_window = context_window
        """Refuse a request of more input tokens than this (`tokens.count_request_tokens`); None:
        no limit. Checked even when `validate` is off: a window is asked for explicitly."""
        self.simulate_usage = simulate_usage
        """Compute each reply's usage and keep a prompt cache. Off: report `Reply.usage` as scripted
        (`DEFAULT_USAGE` when None), so a test can script exact numbers."""
        self.clock = clock
        """The cache's time in seconds; inject one to expire entries without waiting."""
        self.usages: list[dict[str, Any]] = []
        """The usage the fake computed for each request it answered with a stream (a fault's partial
        reply included), in the API's `usage` shape plus `request`: the request's index in
        `requests`. Empty when `simulate_usage` is off."""
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
        self._cache = PromptCache()
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

    @property
    def cache_entries(self) -> int:
        """How many prefixes the prompt cache holds now (expired ones are gone)."""
        with self._lock:
            return self._cache.live(self.clock())

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

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

    def _prompt(self, body: Any) -> Prompt | None:
        """The request as the cache and the window see it; None when neither is on. Called
        outside the lock: hashing a long request takes a while."""
        if not self.simulate_usage and self.context_window is None:
            return None
        return prompt_of(body)

    def _next(self, body: Any, headers: dict[str, str], prompt: Prompt | None) -> tuple[int, int, Outcome]:
        """Record a request and pick its outcome: a rejection, the next step, or 'script ran out'.
        Returns the request's index in `requests`, the step's index (-1 if none) and the outcome."""
        with self._lock:
            number = len(self.requests)
            self.requests.append(body)
            self.request_headers.append(headers)
            rejection = validate_request(body, headers) if self.validate else None
            if rejection is None:
                rejection = self._overflow(prompt)
            if rejection is not None:
                self.rejections.append(rejection[2])
                return number, -1, HttpError(*rejection)
            index = self._consumed
            if index >= len(self.script):
                message = (
                    f"fake API: script ran out: request #{len(self.requests)} "
                    f"but the script has {len(self.script)} step(s)"
                )
                return number, index, HttpError(500, "api_error", message)
            self._consumed += 1
            step = self.script[index]
        return number, index, step(body) if callable(step) else step

    def _overflow(self, prompt: Prompt | None) -> tuple[int, str, str] | None:
        if self.context_window is None or prompt is None or prompt.total <= self.context_window:
            return None
        message = f"prompt is too long: {prompt.total} tokens > {self.context_window} maximum"
        return 400, "invalid_request_error", message

    def _account(self, number: int, prompt: Prompt | None, outcome: _Streamed, index: int) -> _Streamed:
        """Serve the request from the prompt cache and put the computed usage on the reply it
        streams (faults stream one too). Input is always computed; output only if not scripted."""
        if not self.simulate_usage or prompt is None:
            return outcome
        reply = outcome if isinstance(outcome, Reply) else outcome.reply
        scripted = reply.usage
        output = scripted.output_tokens if scripted is not None else count_reply_tokens(reply, index)
        with self._lock:
            cache = self._cache.serve(prompt, self.clock())
            self.usages.append({**cache.api_usage(output), "request": number})
        reply = replace(reply, usage=_token_usage(cache, output))
        return reply if isinstance(outcome, Reply) else replace(outcome, reply=reply)

    def _disconnected(self) -> None:
        with self._lock:
            self.disconnects += 1
        self.client_disconnected.set()

    def _sleep(self, seconds: float) -> bool:
        """Sleep; False if the server is stopping."""
        if seconds > 0:
            self._stopping.wait(seconds)
        return not self._stopping.is_set()


def _token_usage(cache: CacheUsage, output_tokens: int) -> TokenUsage:
    return TokenUsage(
        input_tokens=cache.input_tokens,
        output_tokens=output_tokens,
        cache_read_input_tokens=cache.cache_read_input_tokens,
        cache_creation_input_tokens=cache.cache_creation_input_tokens,
        cache_creation_1h_input_tokens=cache.cache_creation_1h_input_tokens,
    )


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
            prompt = fake._prompt(body)
            number, index, outcome = fake._next(body, {k.lower(): v for k, v in self.headers.items()}, prompt)
            while isinstance(outcome, Delay):
                before_s, event_delay_s = (
                    before_s + outcome.before_s,
                    max(event_delay_s, outcome.event_delay_s),
                )
                outcome = outcome.step if not callable(outcome.step) else outcome.step(body)
        except Exception as exc:  # A broken script step: say so instead of a traceback on stderr.
            number, index, prompt = -1, -1, None
            outcome = HttpError(500, "api_error", f"fake API: a script step raised {exc!r}")
        if not fake._sleep(before_s):
            return
        if isinstance(outcome, Reply | DropConnection | StreamError | Stall | Pings):
            outcome = fake._account(number, prompt, outcome, max(index, 0))
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
        outcome: _Streamed | MalformedEvent | RawStream,
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
        paused = False
        for event in events:
            is_ping = event[0] == "ping"
            if fault is not None and not is_ping and written >= fault.after_events:
                if not isinstance(fault, Pings):
                    break
                if not paused:
                    paused = True
                    if not self._ping_for(fake, fault.every_s, fault.for_s):
                        return self._abort()
            wait = reply.delay_before_stop_s if reply is not None and event[0] == "message_delta" else 0.0
            if not fake._sleep(wait + (0.0 if is_ping else event_delay_s)):
                return self._abort()
            self._write_chunk(encode(event))
            written += 0 if is_ping else 1
        if isinstance(fault, Stall):
            self._hold(fake, fault.hold_s)
            return self._abort()
        if isinstance(fault, DropConnection):
            return self._abort()
        if isinstance(fault, StreamError):
            self._write_chunk(encode(("error", fault.body())))
        if isinstance(fault, MalformedEvent):
            self._write_chunk(b"event: content_block_delta\ndata: " + fault.data + b"\n\n")
        self.wfile.write(b"0\r\n\r\n")
        return None

    def _ping_for(self, fake: FakeMessagesAPI, every_s: float, for_s: float) -> bool:
        """Send only pings, one every `every_s`, for `for_s` seconds; False if the server is stopping."""
        end = time.monotonic() + for_s
        while time.monotonic() < end:
            if not fake._sleep(min(every_s, max(end - time.monotonic(), 0.0))):
                return False
            self._write_chunk(encode(("ping", {"type": "ping"})))
        return True

    def _hold(self, fake: FakeMessagesAPI, hold_s: float) -> None:
        """Send nothing until the client closes the connection, the server stops or `hold_s` passes."""
        self.wfile.flush()
        end = time.monotonic() + hold_s
        while time.monotonic() < end and fake._sleep(0.02):
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        fake._disconnected()
                        return  # The client closed its end: it gave up on us.
                except OSError:
                    fake._disconnected()
                    return

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _abort(self) -> None:
        """Close the socket without ending the chunked body: the client sees a dropped connection."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

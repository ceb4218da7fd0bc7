"""`AnthropicModel`: the `Model` port over the Anthropic Messages API (the `anthropic` SDK).

It streams one response per request, converts every raw SSE event into our `StreamEvent`s, and
maps every failure to a `ModelError` with a typed `ErrorCause` whose message an end user can read.

Importing the SDK takes over a second, so this module never imports it at import time: the
first `stream` call does (or `preload_sdk`, which a server may run on a background thread).
The SDK's own retries are off (`max_retries=0`): the agent loop owns retries and caps the
server's `retry-after` hint, which the SDK would obey even if it said an hour.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, get_args

from agentls.core.errors import ErrorCause, ErrorKind, ModelError
from agentls.core.model import (
    ApiStopReason,
    BlockStop,
    InputJsonDelta,
    MessageDelta,
    MessageStart,
    MessageStop,
    ModelRequest,
    RedactedThinking,
    SignatureDelta,
    StreamEvent,
    TextDelta,
    TextStart,
    ThinkingDelta,
    ThinkingStart,
    TokenUsage,
    ToolUseStart,
)
from agentls.core.request_params import to_api_params

if TYPE_CHECKING:
    import ssl

    from anthropic import AsyncAnthropic
    from anthropic.types import RawMessageStreamEvent
    from anthropic.types.message_delta_usage import MessageDeltaUsage
    from anthropic.types.usage import Usage

# The newest Sonnet in the installed SDK's model list (`anthropic/types/model.py`). A coding agent
# makes many tool-calling round trips per task, where Sonnet-class models balance capability with
# latency and cost; the undated alias follows the provider's latest snapshot of that model.
DEFAULT_MODEL = "claude-sonnet-5-5"

DEFAULT_BASE_URL = "https://api.anthropic.com"

_CONNECT_TIMEOUT_S = 10.0

DEFAULT_IDLE_TIMEOUT_S = 90.0
"""A response that sends no byte for this long (SSE pings count: the API pings a live stream every
few seconds) has stalled: it is abandoned with a retryable error."""

_SPEND_LIMIT_CODES = frozenset(
    {
        "contract_spend_limit_reached",
        "enforced_spend_limit_reached",
        "linked_organization_spend_limit_reached",
    }
)

_NO_KEY = "no API key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) in the environment the server runs in"


_WARM_MODEL = "claude-warm-up"


def _warm_stream() -> bytes:
    """A one-word streamed answer, as the API sends it, for `preload_sdk(request_path=True)` (made
    there, not at import: every start-up imports this module)."""
    return b"".join(
        b"event: %s\ndata: %s\n\n" % (name.encode(), json.dumps(data).encode())
        for name, data in (
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_warm_up",
                        "type": "message",
                        "role": "assistant",
                        "model": _WARM_MODEL,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": 1, "output_tokens": 1},
                    },
                },
            ),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "."}},
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 1},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        )
    )


_ssl_lock = threading.Lock()
_ssl_context: ssl.SSLContext | None = None


def _shared_ssl_context() -> ssl.SSLContext:
    """The TLS context every client of this process uses, made as the SDK makes its own (loading
    the system's certificates takes 20 ms: once per process, not once per model)."""
    global _ssl_context
    with _ssl_lock:
        if _ssl_context is None:
            import httpx2  # The SDK's HTTP library.

            _ssl_context = httpx2.create_ssl_context()
        return _ssl_context


def preload_sdk(*, request_path: bool = False) -> None:
    """Import the SDK (and the Messages resource it loads on first use) and make the TLS context.
    `request_path`: also stream a canned answer through a client of the SDK, on a private event loop,
    from a one-shot server on the loopback interface (nothing leaves the machine), so everything the
    first real request would load or build on the way (the async HTTP stack, the stream's event
    models) is ready. For a background thread of a
    long-lived process (the language server); a one-shot CLI gains nothing from it."""
    import anthropic.resources.messages  # noqa: F401

    _shared_ssl_context()
    if request_path:
        asyncio.run(_stream_canned_answer())


async def _stream_canned_answer() -> None:
    """A request through the SDK's whole stack (client, HTTP over a loopback socket, SSE decoding)
    to a one-shot server on this loop that plays `_warm_stream()`."""
    from anthropic import AsyncAnthropic, DefaultAsyncHttpxClient

    answer = _warm_stream()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(answer), answer)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AsyncAnthropic(
            api_key="warm-up",
            base_url=f"http://127.0.0.1:{port}",
            http_client=DefaultAsyncHttpxClient(verify=_shared_ssl_context()),
            max_retries=0,
        ) as client:
            stream = await client.messages.create(
                model=_WARM_MODEL, max_tokens=1, messages=[{"role": "user", "content": "."}], stream=True
            )
            converter = EventConverter()
            async for event in stream:
                converter.convert(event)
    finally:
        server.close()
        await server.wait_closed()


class AnthropicModel:
    """Streams responses from the Anthropic Messages API."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
    ) -> None:
        self._model = model
        self._api_key = api_key or os.environ.get("ANTHROPIC_API_KEY") or None
        self._auth_token = None if self._api_key else (os.environ.get("ANTHROPIC_AUTH_TOKEN") or None)
        self._base_url = (base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self._idle_timeout_s = idle_timeout_s
        """For requests that do not say (`ModelRequest.idle_timeout_s`)."""
        self._client: AsyncAnthropic | None = None

    @property
    def name(self) -> str:
        return self._model

    @property
    def base_url(self) -> str:
        return self._base_url

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        return self._stream(request)

    async def aclose(self) -> None:
        """Close the HTTP client (and its pooled connections), if one was made."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    def _get_client(self) -> AsyncAnthropic:
        if self._client is None:
            if not self._api_key and not self._auth_token:
                raise _error("authentication", _NO_KEY)
            from anthropic import AsyncAnthropic, DefaultAsyncHttpxClient, Timeout

            self._client = AsyncAnthropic(
                api_key=self._api_key,
                auth_token=self._auth_token,
                base_url=self._base_url,
                timeout=_timeout(Timeout, self._idle_timeout_s),
                max_retries=0,
                # The SDK's own HTTP client, with the process's TLS context (`_shared_ssl_context`).
                http_client=DefaultAsyncHttpxClient(verify=_shared_ssl_context()),
            )
        return self._client

    async def _stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        try:
            params = to_api_params(request)
        except ValueError as exc:
            raise _error("invalid_request", f"invalid request: {exc}") from None
        client = self._get_client()
        idle = request.idle_timeout_s or self._idle_timeout_s
        try:
            from anthropic import Timeout

            # The read timeout is the idle timeout: httpx applies it to every read of the socket,
            # so it fires when no byte (pings included) arrived for that long, however long the
            # whole response takes.
            raw = await client.messages.create(stream=True, timeout=_timeout(Timeout, idle), **params)
        except Exception as exc:
            raise map_exception(exc, self._base_url, idle_s=idle) from exc
        converter = EventConverter()
        try:
            async for raw_event in raw:
                for event in converter.convert(raw_event):
                    yield event
        except Exception as exc:
            raise map_exception(exc, self._base_url, idle_s=idle, streaming=True) from exc
        finally:
            # Runs on normal end, on error, on `aclose()` and on cancellation: release the socket.
            await raw.close()
        if not converter.stopped:
            where = f"the API at {self._base_url}"
            raise _error("connection", f"the response stream from {where} ended before message_stop", True)


_STOP_REASONS: frozenset[str] = frozenset(get_args(ApiStopReason))


class EventConverter:
    """Converts one response's raw SDK events; blocks of unknown types (server tools) are skipped."""

    def __init__(self) -> None:
        self._skipped: set[int] = set()
        self.stopped = False
        """True once `message_stop` arrived."""

    def convert(self, event: RawMessageStreamEvent) -> list[StreamEvent]:
        if event.type == "message_start":
            msg = event.message
            return [MessageStart(message_id=msg.id, model=msg.model, usage=_usage(msg.usage))]
        if event.type == "content_block_start":
            return self._block_start(event.index, event.content_block)
        if event.type == "content_block_delta":
            delta, i = event.delta, event.index
            if i in self._skipped:
                return []
            if delta.type == "text_delta":
                return [TextDelta(index=i, text=delta.text)]
            if delta.type == "thinking_delta":
                return [ThinkingDelta(index=i, thinking=delta.thinking)]
            if delta.type == "signature_delta":
                return [SignatureDelta(index=i, signature=delta.signature)]
            if delta.type == "input_json_delta":
                return [InputJsonDelta(index=i, partial_json=delta.partial_json)]
            return []  # citations_delta and future delta types.
        if event.type == "content_block_stop":
            return [] if event.index in self._skipped else [BlockStop(index=event.index)]
        if event.type == "message_delta":
            reason = event.delta.stop_reason
            stop_reason: Any = reason if reason in _STOP_REASONS else None
            return [MessageDelta(stop_reason=stop_reason, usage=_usage(event.usage))]
        if event.type == "message_stop":
            self.stopped = True
            return [MessageStop()]
        return []

    def _block_start(self, i: int, block: Any) -> list[StreamEvent]:
        kind = getattr(block, "type", None)
        if kind == "text":
            return [TextStart(index=i), *([TextDelta(index=i, text=block.text)] if block.text else [])]
        if kind == "thinking":
            events: list[StreamEvent] = [ThinkingStart(index=i)]
            if block.thinking:
                events.append(ThinkingDelta(index=i, thinking=block.thinking))
            if block.signature:
                events.append(SignatureDelta(index=i, signature=block.signature))
            return events
        if kind == "redacted_thinking":
            return [RedactedThinking(index=i, data=block.data)]
        if kind == "tool_use":
            start: list[StreamEvent] = [ToolUseStart(index=i, id=block.id, name=block.name)]
            if block.input:
                start.append(InputJsonDelta(index=i, partial_json=json.dumps(block.input)))
            return start
        self._skipped.add(i)
        return []


def _usage(usage: Usage | MessageDeltaUsage) -> TokenUsage:
    return TokenUsage(
        input_tokens=usage.input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
        cache_read_input_tokens=usage.cache_read_input_tokens or 0,
        cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
        cache_creation_1h_input_tokens=_one_hour_writes(usage),
    )


def _one_hour_writes(usage: Usage | MessageDeltaUsage) -> int:
    split = getattr(usage, "cache_creation", None)  # Only `message_start` usage has the split.
    return int(getattr(split, "ephemeral_1h_input_tokens", 0) or 0)


def _timeout(timeout_class: Any, idle_s: float) -> Any:
    """The SDK's `Timeout`: every read (and write) may wait `idle_s`; an unreachable host fails
    well before that."""
    return timeout_class(idle_s, connect=min(_CONNECT_TIMEOUT_S, idle_s))


def map_exception(
    exc: BaseException, base_url: str, *, idle_s: float | None = None, streaming: bool = False
) -> ModelError:
    """The `ModelError` for any exception raised while calling or streaming from the API
    (`streaming`: while reading the response's events; `idle_s`: the idle timeout in force)."""
    if isinstance(exc, ModelError):
        return exc
    import anthropic

    silence = f" (no data for {idle_s:g} s)" if idle_s is not None else ""
    transport = _transport_classes(exc)
    timed_out = isinstance(exc, anthropic.APITimeoutError) or "TimeoutException" in transport
    if timed_out and streaming:
        # A stream that stalled mid-response: retried like a dropped one.
        return _error("connection", f"the response stream from {base_url} stalled{silence}", True)
    if timed_out:
        return _error("connection", f"timed out waiting for the API at {base_url}{silence}", True)
    if isinstance(exc, anthropic.APIStatusError):
        return ModelError(_status_cause(exc.status_code, exc.body, exc.response.headers, str(exc)))
    if isinstance(exc, anthropic.APIConnectionError):
        reason = _reason(exc.__cause__ or exc)
        return _error("connection", f"could not reach the API at {base_url}: {reason}", True)
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        # One event whose data is not JSON (or not UTF-8): the stream cannot be trusted past it,
        # but nothing is wrong with the request. Retried like a dropped stream.
        return _error("connection", f"the response stream from {base_url} had a malformed event: {exc}", True)
    if transport & {"TransportError", "NetworkError", "ProtocolError"}:
        return _error("connection", f"lost the connection to the API at {base_url}: {_reason(exc)}", True)
    if isinstance(exc, anthropic.APIError):
        return _error("api", f"unexpected response from the API: {exc.message}")
    return _error("internal", f"unexpected error while calling the API: {type(exc).__name__}: {exc}")


def _status_cause(status: int, body: object, headers: Mapping[str, str], fallback: str) -> ErrorCause:
    error = body.get("error") if isinstance(body, dict) else None
    error_type = error.get("type") if isinstance(error, dict) else None
    api_message = error.get("message") if isinstance(error, dict) else None
    detail = api_message if isinstance(api_message, str) and api_message else fallback
    details = error.get("details") if isinstance(error, dict) else None
    error_code = details.get("error_code") if isinstance(details, dict) else None
    # The SDK raises in-stream `event: error`s with the stream's own status, 200: no HTTP status.
    http_status = status if status >= 400 else None
    where = f"HTTP {status}" if http_status else "in the response stream"
    retry_after = _retry_after_s(headers) if http_status else None

    def cause(kind: ErrorKind, text: str, retryable: bool = False) -> ErrorCause:
        return ErrorCause(
            kind=kind,
            message=text,
            status=http_status,
            retryable=retryable,
            retry_after_s=retry_after if retryable else None,
        )

    if status in (401, 403) or error_type in ("authentication_error", "permission_error"):
        return cause("authentication", f"the API rejected the credentials ({where}): {detail}")
    if error_code in _SPEND_LIMIT_CODES:  # A 429 (or 402) that waiting will not lift.
        return cause("rate_limited", f"the API spend limit is reached ({where}): {detail}")
    if status == 429 or error_type == "rate_limit_error":
        return cause("rate_limited", f"rate limited by the API ({where}): {detail}", True)
    if status == 529 or error_type == "overloaded_error":
        return cause("overloaded", f"the API is overloaded ({where}): {detail}", True)
    if (status >= 500 and status != 501) or error_type == "api_error":
        return cause("api", f"the API failed ({where}): {detail}", True)
    if "prompt is too long" in detail.lower():
        return cause("context_overflow", f"the conversation is too long for the model: {detail}")
    if 400 <= status < 500 or error_type in ("invalid_request_error", "not_found_error", "request_too_large"):
        return cause("invalid_request", f"the API rejected the request ({where}): {detail}")
    return cause("api", f"the API failed ({where}): {detail}")


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The server's retry hint in seconds: `retry-after-ms`, else `retry-after` (seconds or a date)."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / scale)
        except ValueError:
            pass
        if name == "retry-after":
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                return max(0.0, float(email.utils.mktime_tz(parsed) - time.time()))
    return None


def _transport_classes(exc: BaseException) -> set[str]:
    """Names of the httpx2 classes `exc` is an instance of (without importing httpx2 here).

    The SDK wraps transport errors raised while sending, but lets those raised while reading the
    stream (e.g. `RemoteProtocolError` when the connection drops) through unwrapped.
    """
    return {
        cls.__name__ for cls in type(exc).__mro__ if cls.__module__.split(".")[0] in ("httpx2", "httpcore2")
    }


def _error(kind: ErrorKind, message: str, retryable: bool = False) -> ModelError:
    return ModelError(ErrorCause(kind=kind, message=message, retryable=retryable))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__

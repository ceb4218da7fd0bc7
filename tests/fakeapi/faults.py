"""Script steps for the fake Messages API: the faults it can inject, and the `Step` type.

A step answers one POST /v1/messages. It is a `Reply` (streamed as SSE), a fault below (`Pings`
is not one: a stream that pings through a long pause is healthy), a `RawStream`, a `Delay`
wrapping another step, or a function of the request body returning one of those.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentls.core.scripted import Reply, Text

_PARTIAL_REPLY = Reply([Text("This answer will be cut off somewhere in the middle. " * 4)], chunk_size=16)
"""What the stream faults write before they strike."""


@dataclass(frozen=True)
class HttpError:
    """Answer with an HTTP error status and the API's JSON error body."""

    status: int
    error_type: str = "api_error"
    message: str = "Internal server error"
    headers: Mapping[str, str] = field(default_factory=dict)
    error_code: str | None = None
    """Sent as `error.details.error_code` (e.g. `enforced_spend_limit_reached`)."""

    @classmethod
    def rate_limited(
        cls, retry_after_s: float | None = None, *, retry_after_ms: int | None = None
    ) -> HttpError:
        headers: dict[str, str] = {}
        if retry_after_s is not None:
            headers["retry-after"] = f"{retry_after_s:g}"
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
        return cls(429, "rate_limit_error", "Number of request tokens has exceeded your rate limit.", headers)

    @classmethod
    def overloaded(cls) -> HttpError:
        return cls(529, "overloaded_error", "Overloaded")

    @classmethod
    def server_error(cls, status: int = 500) -> HttpError:
        return cls(status, "api_error", "Internal server error")

    @classmethod
    def unauthorized(cls) -> HttpError:
        return cls(401, "authentication_error", "invalid x-api-key")

    @classmethod
    def forbidden(cls) -> HttpError:
        return cls(
            403, "permission_error", "Your API key does not have permission to use the specified resource."
        )

    @classmethod
    def prompt_too_long(cls, tokens: int = 212_345, limit: int = 200_000) -> HttpError:
        return cls(400, "invalid_request_error", f"prompt is too long: {tokens} tokens > {limit} maximum")

    @classmethod
    def invalid_request(cls, message: str = "invalid request") -> HttpError:
        return cls(400, "invalid_request_error", message)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.error_code is not None:
            error["details"] = {"error_code": self.error_code}
        return {"type": "error", "error": error}


@dataclass(frozen=True)
class DropConnection:
    """Stream `after_events` SSE events (pings not counted) of `reply`, then close the socket abruptly."""

    after_events: int = 0
    reply: Reply = _PARTIAL_REPLY


@dataclass(frozen=True)
class StreamError:
    """Stream `after_events` events of `reply`, then an in-stream `event: error` and end the stream."""

    after_events: int = 0
    error_type: str = "overloaded_error"
    message: str = "Overloaded"
    reply: Reply = _PARTIAL_REPLY

    def body(self) -> dict[str, Any]:
        return {"type": "error", "error": {"type": self.error_type, "message": self.message}}


@dataclass(frozen=True)
class MalformedEvent:
    """Stream `after_events` events of `reply`, then one event whose `data:` is not JSON (or not
    UTF-8), as a broken proxy might send, and end the stream."""

    after_events: int = 0
    data: bytes = b'{"type": "content_block_delta", "index": 0, "delta": {"type": "text_del'
    reply: Reply = _PARTIAL_REPLY


@dataclass(frozen=True)
class Stall:
    """Stream `after_events` events of `reply`, then go silent (not even pings) with the connection
    held open, like a stuck upstream: until the client gives up and closes it, the server stops,
    or `hold_s` passes (then the connection is dropped)."""

    after_events: int = 0
    hold_s: float = 60.0
    reply: Reply = _PARTIAL_REPLY


@dataclass(frozen=True)
class Pings:
    """Stream `after_events` events of `reply`, then only a `ping` every `every_s` for `for_s`
    seconds (a model thinking for a long while), then the rest of `reply`: a live stream."""

    after_events: int = 0
    every_s: float = 0.1
    for_s: float = 1.0
    reply: Reply = field(default_factory=lambda: Reply([Text("Still here after a long pause.")]))


@dataclass(frozen=True)
class RawStream:
    """Stream these SSE events verbatim (name, JSON data): for wire shapes `Reply` cannot express,
    such as server tool blocks or event types the SDK does not know."""

    events: Sequence[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Delay:
    """Play `step` after waiting `before_s`, sleeping `event_delay_s` before each of its SSE events."""

    step: Step
    before_s: float = 0.0
    event_delay_s: float = 0.0


Fault = HttpError | DropConnection | StreamError | MalformedEvent | Stall | Pings
Outcome = Reply | Fault | RawStream | Delay
Step = Outcome | Callable[[dict[str, Any]], Outcome]
"""A reply, a fault, a delayed step, or a function of the request body returning one of those."""

"""Typed failure causes. A turn never ends with a bare exception: it ends with one of these."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

ErrorKind = Literal[
    "authentication",  # 401/403, or no API key: retrying will not help.
    "rate_limited",  # 429 after the retries ran out.
    "overloaded",  # 529 or an in-stream overloaded_error after retries.
    "connection",  # Could not reach the API, or the stream dropped.
    "invalid_request",  # 400 and friends: the request itself is wrong.
    "context_overflow",  # The prompt is longer than the model's window.
    "api",  # Any other API error.
    "deadline",  # The retries were still failing when the wall-clock deadline came (unattended mode).
    "protocol",  # The model broke the protocol (e.g. a scripted model ran out of steps).
    "internal",  # A bug in agentls; the message says where.
]


class ErrorCause(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: ErrorKind
    message: str
    status: int | None = None
    retryable: bool = False
    retry_after_s: float | None = None
    """The server's `retry-after` hint, uncapped (the loop caps it)."""


class ModelError(Exception):
    """Raised by `Model.stream` implementations; carries a typed cause."""

    def __init__(self, cause: ErrorCause) -> None:
        super().__init__(cause.message)
        self.cause = cause

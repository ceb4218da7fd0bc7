"""How the loop retries a failed API call: the back-off, the fallback model, unattended mode.

The policy (see docs/reliability.md, "API faults and retries"):
- A retryable failure (429, 529, 5xx, a dropped, stalled or malformed stream) is retried up to
  `max_retries` times (10), after `retry_base_delay_s * 2**(n-1)` capped at `retry_max_delay_s`
  (30 s), times a jitter in [0.75, 1]; a server's `retry-after` replaces the back-off, capped at
  `retry_after_cap_s`.
- After `overloads_before_fallback` (3) overloaded answers in a row, the session switches to
  `fallback_model` when one is configured, and the call is sent again at once with a fresh
  count of retries.
- Unattended, there is no retry limit, the back-off and `retry-after` cap is
  `unattended_max_delay_s` (5 minutes), and a heartbeat event goes out every `heartbeat_s` while
  waiting.
- No retry starts after the deadline (`deadline_s` from the start of the turn): when the next one
  would, the turn ends with an error of kind `deadline`.

Time goes through a `Clock`, so tests can run an hour of back-off in milliseconds.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from typing import Protocol

from agentls.core.config import AgentConfig
from agentls.core.errors import ErrorCause


class Clock(Protocol):
    """Monotonic time and sleeping; injected so tests need not wait."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def retry_limit(config: AgentConfig) -> int | None:
    """Retries allowed for one call; None: no limit (unattended)."""
    return None if config.unattended else config.max_retries


def retry_delay(config: AgentConfig, cause: ErrorCause, attempt: int) -> float:
    """Seconds to wait before retrying after failed attempt number `attempt` (from 1)."""
    cap = config.unattended_max_delay_s if config.unattended else config.retry_max_delay_s
    if cause.retry_after_s is not None:
        after_cap = max(config.retry_after_cap_s, cap) if config.unattended else config.retry_after_cap_s
        return min(max(cause.retry_after_s, 0.0), after_cap)
    # 2**n overflows a float after ~1000 doublings; the cap is reached long before.
    backoff = min(config.retry_base_delay_s * 2 ** min(attempt - 1, 60), cap)
    jitter: float = random.uniform(0.75, 1.0)
    return float(backoff) * jitter


def should_fall_back(config: AgentConfig, overloads: int) -> bool:
    """Switch to the fallback model now (after this many overloaded answers in a row)?"""
    fallback = config.fallback_model
    return fallback is not None and fallback != config.model and overloads >= config.overloads_before_fallback


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Seconds from a duration: a number of seconds (`90`, `"90"`) or units run together
    (`"500ms"`, `"90s"`, `"45m"`, `"2h"`, `"1h30m"`, `"1d"`). Raises `ValueError`."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            parts = _DURATION.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise ValueError(f"not a duration: {value!r} (try 90s, 45m, 2h or 1h30m)") from None
            seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    else:
        raise ValueError(f"not a duration: {value!r}")
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError(f"a duration must be a finite number of seconds, at least 0: {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """`0.5s`, `45s`, `2m05s`, `1h20m` (for one-line messages)."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"

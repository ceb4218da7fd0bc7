"""The fake Messages API's prompt cache, following the real API's rules so tests and benchmarks can
measure cache reads and writes.

A request is a sequence of blocks (see `tokens.request_blocks`); a block with `cache_control` is a
breakpoint. The cache is keyed by prefix: a hash chained over the blocks from the model name, with
`tool_choice` and `thinking` mixed in between the last system block and the first message block,
so changing them invalidates the messages level only, and changing any block invalidates every
prefix holding it. A request reads the longest live prefix that ends at a breakpoint or at one of
the `LOOKBACK_BLOCKS` blocks before one, and writes the prefix ending at each later breakpoint of
at least `MIN_CACHEABLE_TOKENS`, for the breakpoint's TTL; a hit refreshes the entry's lifetime.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

from tests.fakeapi.tokens import block_tokens, canonical, request_blocks

MIN_CACHEABLE_TOKENS = 1024
LOOKBACK_BLOCKS = 20
"""A breakpoint also finds a prefix ending this many blocks before it, but not one further back."""
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
_LEVELS_ABOVE_MESSAGES = ("tool", "system")


@dataclass(frozen=True)
class Prompt:
    """A request as the cache sees it, block by block."""

    tokens: tuple[int, ...]
    keys: tuple[bytes, ...]
    """`keys[i]` identifies the prefix ending with block i."""
    ttls: tuple[str | None, ...]
    """"5m" or "1h" where a block is a breakpoint, else None."""

    @property
    def total(self) -> int:
        return sum(self.tokens)

    @property
    def breakpoints(self) -> list[int]:
        return [i for i, ttl in enumerate(self.ttls) if ttl is not None]


def prompt_of(body: Any) -> Prompt:
    """The blocks of a request body with their counts, prefix keys and breakpoint TTLs."""
    if not isinstance(body, dict):
        return Prompt((), (), ())
    chain = hashlib.sha256(b"model\0" + str(body.get("model", "")).encode()).digest()
    params = canonical({"tool_choice": body.get("tool_choice"), "thinking": body.get("thinking")})
    mixed = False
    tokens: list[int] = []
    keys: list[bytes] = []
    ttls: list[str | None] = []
    for where, block in request_blocks(body):
        if not mixed and where not in _LEVELS_ABOVE_MESSAGES:
            chain, mixed = _link(chain, b"params", params), True
        chain = _link(chain, where.encode(), canonical(block))
        tokens.append(block_tokens(block))
        keys.append(chain)
        ttls.append(breakpoint_ttl(block))
    return Prompt(tuple(tokens), tuple(keys), tuple(ttls))


def breakpoint_ttl(block: Any) -> str | None:
    """The TTL a block's `cache_control` asks for ("5m" by default), or None if it has none."""
    control = block.get("cache_control") if isinstance(block, dict) else None
    if control is None:
        return None
    ttl = control.get("ttl", "5m") if isinstance(control, dict) else "5m"
    return ttl if isinstance(ttl, str) and ttl in TTL_SECONDS else "5m"  # Unvalidated: unknown is 5m.


@dataclass(frozen=True)
class CacheUsage:
    """How a request's input tokens split between fresh input, cache reads and cache writes."""

    input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_5m_input_tokens: int = 0
    cache_creation_1h_input_tokens: int = 0

    @property
    def cache_creation_input_tokens(self) -> int:
        return self.cache_creation_5m_input_tokens + self.cache_creation_1h_input_tokens

    def api_usage(self, output_tokens: int) -> dict[str, Any]:
        """The `usage` object the real API would report for this request."""
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation_5m_input_tokens,
                "ephemeral_1h_input_tokens": self.cache_creation_1h_input_tokens,
            },
            "output_tokens": output_tokens,
        }


@dataclass
class _Entry:
    expires_at: float
    ttl_s: float


class PromptCache:
    """Cached prefixes and their expiry times. Not thread-safe: the server holds its lock."""

    def __init__(self) -> None:
        self._entries: dict[bytes, _Entry] = {}

    def live(self, now: float) -> int:
        """How many prefixes are cached at `now`."""
        self._expire(now)
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def serve(self, prompt: Prompt, now: float) -> CacheUsage:
        """Read the longest cached prefix, write the prefixes ending at later breakpoints, and say
        how the request's tokens split; input + read + written always equals `prompt.total`."""
        self._expire(now)
        upto = list(itertools.accumulate(prompt.tokens))
        read = self._longest_hit(prompt)
        if read >= 0:
            self._refresh(prompt, read, now)
        done = upto[read] if read >= 0 else 0
        written = dict.fromkeys(TTL_SECONDS, 0)
        for point in prompt.breakpoints:
            if point <= read or upto[point] < MIN_CACHEABLE_TOKENS:
                continue
            ttl = prompt.ttls[point] or "5m"
            written[ttl] += upto[point] - done  # The segment is written for the TTL of its end.
            done = upto[point]
            self._entries[prompt.keys[point]] = _Entry(now + TTL_SECONDS[ttl], TTL_SECONDS[ttl])
        return CacheUsage(
            input_tokens=prompt.total - done,
            cache_read_input_tokens=upto[read] if read >= 0 else 0,
            cache_creation_5m_input_tokens=written["5m"],
            cache_creation_1h_input_tokens=written["1h"],
        )

    def _longest_hit(self, prompt: Prompt) -> int:
        """The last block of the longest cached prefix a breakpoint can see, or -1."""
        best = -1
        for point in prompt.breakpoints:
            for end in range(point, max(best, point - LOOKBACK_BLOCKS - 1, -1), -1):
                if prompt.keys[end] in self._entries:
                    best = end
                    break
        return best

    def _refresh(self, prompt: Prompt, end: int, now: float) -> None:
        entry = self._entries[prompt.keys[end]]
        ttl = prompt.ttls[end]
        entry.ttl_s = max(entry.ttl_s, TTL_SECONDS[ttl] if ttl is not None else 0.0)
        entry.expires_at = now + entry.ttl_s

    def _expire(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if e.expires_at <= now]:
            del self._entries[key]


def _link(chain: bytes, where: bytes, data: bytes) -> bytes:
    return hashlib.sha256(chain + where + b"\0" + data).digest()

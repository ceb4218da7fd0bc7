"""The context window and how full the next request will make it.

The window comes from the model table, a setting, or the API itself: an overflow answer
(`prompt is too long: N tokens > M maximum`) states M, and the meter keeps it for the rest of the
session. The fill level is the last response's measured usage (input of every kind plus output:
the conversation up to and including that response) plus an estimate of what was appended since;
after anything but an append (a compaction), it is an estimate of the whole request. Estimates
are scaled by how far off the last one was from the measured count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from agentls.core.context.tokens import MessageTokens
from agentls.core.messages import Message
from agentls.core.model import TokenUsage

WindowSource = Literal["model", "family", "default", "setting", "learned"]

_OVERFLOW = re.compile(r"(\d[\d,]*)\s*tokens\s*>\s*(\d[\d,]*)\s*maximum", re.IGNORECASE)
_SANE_RATIO = (0.25, 4.0)
"""A measured/estimated ratio outside this range is not a tokenizer difference but a usage
figure that does not describe the request (a scripted model's made-up numbers): ignored."""


def overflow_numbers(message: str) -> tuple[int, int] | None:
    """(tokens sent, window) from the API's `prompt is too long: N tokens > M maximum`."""
    match = _OVERFLOW.search(message)
    if match is None:
        return None
    return int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))


@dataclass
class _Anchor:
    length: int
    """Messages in the context when the response was committed."""
    tokens: int


class ContextMeter:
    def __init__(self, window: int, source: WindowSource) -> None:
        self.window = window
        self.source: WindowSource = source
        self.ratio = 1.0
        """Measured tokens per estimated token, from the last sane measurement."""
        self._anchor: _Anchor | None = None
        self._estimate = 0
        """The estimate of the request in flight (what its measurement is compared with)."""

    def learn(self, window: int) -> bool:
        """The API said the window is `window`; True if that is news."""
        if window <= 0 or (self.source == "learned" and window == self.window):
            return False
        changed = window != self.window
        self.window, self.source = window, "learned"
        return changed

    def model_changed(self, window: int, source: WindowSource) -> None:
        """The session now talks to another model: its table window applies, unless the window
        was set by a setting or stated by the API."""
        if self.source not in ("setting", "learned"):
            self.window, self.source = window, source

    def fill(self, messages: Sequence[Message], fixed: int, tokens: MessageTokens) -> int:
        """Tokens the next request will carry: system and tools (`fixed`) and `messages`."""
        anchor = self._anchor
        if anchor is not None and anchor.length <= len(messages):
            return anchor.tokens + self._scaled(tokens.total(messages[anchor.length :]))
        return self._scaled(fixed + tokens.total(messages))

    def sending(self, messages: Sequence[Message], fixed: int, tokens: MessageTokens) -> int:
        """Note the unscaled estimate of the request about to be sent, to calibrate against."""
        self._estimate = fixed + tokens.total(messages)
        return self._estimate

    def measured(self, usage: TokenUsage, context_length: int) -> None:
        """A response arrived with `usage`; the context now has `context_length` messages (the
        response included)."""
        if usage.total_input <= 0 or self._estimate <= 0:
            return
        ratio = usage.total_input / self._estimate
        if not _SANE_RATIO[0] <= ratio <= _SANE_RATIO[1]:
            self._anchor = None
            return
        self.ratio = ratio
        self._anchor = _Anchor(context_length, usage.total_input + usage.output_tokens)

    def reported(self, usage: TokenUsage) -> int | None:
        """The context the response with `usage` leaves (its input and output), if `usage`
        describes the request the meter saw go out; else None."""
        if usage.total_input <= 0 or self._estimate <= 0:
            return None
        if not _SANE_RATIO[0] <= usage.total_input / self._estimate <= _SANE_RATIO[1]:
            return None
        return usage.total_input + usage.output_tokens

    def calibrate(self, ratio: float) -> None:
        """Start from a ratio measured earlier (a resumed session's)."""
        if _SANE_RATIO[0] <= ratio <= _SANE_RATIO[1]:
            self.ratio = ratio

    def rewritten(self) -> None:
        """The context changed other than by appending: the measurement no longer describes it."""
        self._anchor = None

    def percent(self, tokens: int) -> int:
        return round(100 * tokens / self.window) if self.window else 0

    def _scaled(self, estimate: int) -> int:
        return round(estimate * self.ratio)

"""What a session has spent, what the next call would cost, and whether a budget allows it.

Budgets are checked before every API call (turn requests and summary requests alike) against the
*projected* cost of that call, so a session stops before the call that would cross its limit,
never in the middle of a tool. The projection assumes the prefix the previous request sent is
read from the prompt cache and the rest is written to it, and that the reply is as long as this
session's replies have been on average (1,024 tokens before the first one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from agentls.core.context.catalog import Prices
from agentls.core.context.settings import BudgetConfig
from agentls.core.model import TokenUsage

FIRST_REPLY_TOKENS = 1024


@dataclass(frozen=True)
class Overrun:
    """A budget the next call would cross."""

    budget: Literal["usd", "tokens"]
    spent: float
    limit: float
    projected: float
    """What the session would have spent after the call."""
    message: str


@dataclass
class Spending:
    prices: Prices | None
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    usage: TokenUsage = field(default_factory=TokenUsage)
    """Session totals (every request: turns, summaries)."""
    cost_usd: float = 0.0
    requests: int = 0
    parent: Spending | None = None
    """A subagent's spending: each of its requests also counts in the parent session's totals,
    and the parent's budgets apply to it."""
    on_relayed: Callable[[TokenUsage], None] | None = None
    """Told of each request a subagent added to these totals: the session records it at once, so
    a crash before its own next request loses none of it."""

    def account(self, usage: TokenUsage) -> float | None:
        """Add one request's usage; returns its cost (None when the model's price is unknown)."""
        cost = None if self.prices is None else self.prices.cost(usage)
        self._add(usage, cost)
        return cost

    def _add(self, usage: TokenUsage, cost: float | None, *, relayed: bool = False) -> None:
        self.usage = self.usage + usage
        self.requests += 1
        if cost is not None:
            self.cost_usd += cost
        if relayed and self.on_relayed is not None:
            self.on_relayed(usage)
        if self.parent is not None:
            self.parent._add(usage, cost, relayed=True)

    @property
    def session_cost(self) -> float | None:
        return None if self.prices is None else self.cost_usd

    def projected_reply(self) -> int:
        if not self.requests:
            return FIRST_REPLY_TOKENS
        return max(1, self.usage.output_tokens // self.requests)

    def project(self, request_tokens: int, cached_tokens: int, reply_tokens: int | None = None) -> TokenUsage:
        """The usage of a request of `request_tokens`, of which `cached_tokens` are read from cache."""
        cached = max(0, min(cached_tokens, request_tokens))
        return TokenUsage(
            cache_read_input_tokens=cached,
            cache_creation_input_tokens=request_tokens - cached,
            output_tokens=self.projected_reply() if reply_tokens is None else reply_tokens,
        )

    def check(self, projected: TokenUsage) -> Overrun | None:
        """The budget the call with `projected` usage would cross, if any: this spending's own, or
        (for a subagent) its parent session's."""
        own = self._check_own(projected)
        if own is None and self.parent is not None:
            return self.parent.check(projected)
        return own

    def _check_own(self, projected: TokenUsage) -> Overrun | None:
        limit_tokens = self.budget.max_tokens
        if limit_tokens is not None:
            after = self.usage.total + projected.total
            if after > limit_tokens:
                return Overrun(
                    "tokens",
                    self.usage.total,
                    limit_tokens,
                    after,
                    f"the next request (about {projected.total:,} tokens) would bring the session to "
                    f"{after:,} tokens, over its budget of {limit_tokens:,} (spent so far: "
                    f"{self.usage.total:,})",
                )
        limit_usd = self.budget.max_usd
        if limit_usd is None:
            return None
        if self.prices is None:
            return Overrun(
                "usd",
                0.0,
                limit_usd,
                0.0,
                "the price of this model is unknown, so a budget in dollars cannot be kept; "
                "pick a model from the price table or set the budget in tokens",
            )
        after_usd = self.cost_usd + self.prices.cost(projected)
        if after_usd > limit_usd:
            return Overrun(
                "usd",
                self.cost_usd,
                limit_usd,
                after_usd,
                f"the next request (about ${after_usd - self.cost_usd:.4f}) would bring the session "
                f"to ${after_usd:.4f}, over its budget of ${limit_usd:.2f} (spent so far: "
                f"${self.cost_usd:.4f})",
            )
        return None

"""The model table, prices, the meter, the settings merge and budget checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentls.core.context.budget import Spending
from agentls.core.context.catalog import Prices, model_info
from agentls.core.context.meter import ContextMeter, overflow_numbers
from agentls.core.context.settings import BudgetConfig, ContextConfig, resolve_budget, resolve_context
from agentls.core.context.tokens import MessageTokens
from agentls.core.messages import user_text
from agentls.core.model import TokenUsage
from agentls.policy.settings_levels import Sourced

PRICES = Prices(input=3.0, output=15.0, cache_write_5m=3.75, cache_write_1h=6.0, cache_read=0.3)


def test_known_models_family_fallbacks_and_unknown_models() -> None:
    sonnet = model_info("claude-sonnet-5-5")
    assert sonnet.match == "model" and sonnet.prices is not None and sonnet.context_window > 0
    dated = model_info("claude-sonnet-5-5-20261001")
    assert dated.match == "model" and dated.prices == sonnet.prices
    family = model_info("claude-sonnet-9-9")
    assert family.match == "family" and family.prices is not None
    unknown = model_info("gpt-something")
    assert unknown.match == "default" and unknown.prices is None and unknown.context_window == 200_000


def test_cost_prices_every_kind_of_token() -> None:
    usage = TokenUsage(
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        cache_read_input_tokens=1_000_000,
        cache_creation_input_tokens=2_000_000,
        cache_creation_1h_input_tokens=1_000_000,
    )
    assert PRICES.cost(usage) == pytest.approx(3.0 + 15.0 + 0.3 + 3.75 + 6.0)


def test_the_meter_reads_the_api_overflow_message_and_learns_the_window() -> None:
    assert overflow_numbers("prompt is too long: 212,345 tokens > 200000 maximum") == (212_345, 200_000)
    assert overflow_numbers("something else") is None
    meter = ContextMeter(1_000_000, "model")
    assert meter.learn(200_000) and meter.window == 200_000 and meter.source == "learned"
    assert not meter.learn(200_000)


def test_the_fill_level_is_measured_then_estimated_and_calibrated() -> None:
    tokens = MessageTokens()
    meter = ContextMeter(100_000, "setting")
    history = [user_text("x" * 3500)]
    estimate = meter.sending(history, 500, tokens)
    # The API counted twice what the estimate said: later estimates are scaled by that.
    meter.measured(TokenUsage(input_tokens=2 * estimate, output_tokens=100), context_length=1)
    assert meter.fill(history, 500, tokens) == 2 * estimate + 100
    history.append(user_text("y" * 3500))
    added = tokens.of(history[1])
    assert meter.fill(history, 500, tokens) == 2 * estimate + 100 + 2 * added
    meter.rewritten()
    assert meter.fill(history, 500, tokens) == round(2 * (500 + tokens.total(history)))
    # A usage figure that cannot describe the request (a scripted model's) is ignored.
    meter.sending(history, 500, tokens)
    meter.measured(TokenUsage(input_tokens=7, output_tokens=1), context_length=2)
    assert meter.ratio == 2.0


def test_settings_levels_merge_under_explicit_values_and_bad_values_are_warnings() -> None:
    user = Sourced(
        {"contextWindow": 150_000, "context": {"snipPercent": 60, "keepToolResults": 5}}, "user", Path("/u")
    )
    project = Sourced(
        {"autoCompactEnabled": False, "context": {"snipPercent": 65, "bogus": 1}}, "project", Path("/p")
    )
    resolved, warnings = resolve_context(ContextConfig(keep_tool_results=1), [project, user])
    assert resolved.window == 150_000 and resolved.snip_percent == 65 and not resolved.auto_compact
    assert resolved.keep_tool_results == 1  # The front end's explicit value wins.
    assert any("bogus" in w for w in warnings)
    bad, warnings = resolve_context(ContextConfig(), [Sourced({"contextWindow": -5}, "user", None)])
    assert bad.window is None and "contextWindow" in warnings[0]


def test_the_lowest_budget_applies() -> None:
    levels = [Sourced({"maxUsd": 2}, "project", None), Sourced({"maxUsd": 9, "maxTokens": 10}, "user", None)]
    budget, warnings = resolve_budget(BudgetConfig(max_usd=5), levels)
    assert budget == BudgetConfig(max_usd=2, max_tokens=10) and not warnings
    _, warnings = resolve_budget(BudgetConfig(), [Sourced("lots", "user", None)])
    assert "must be an object" in warnings[0]


def test_budgets_check_the_projected_call() -> None:
    spending = Spending(PRICES, BudgetConfig(max_usd=1.0, max_tokens=1_000_000))
    spending.account(TokenUsage(input_tokens=200_000, output_tokens=10_000))  # $0.75
    projected = spending.project(100_000, cached_tokens=90_000)
    assert projected.cache_read_input_tokens == 90_000 and projected.cache_creation_input_tokens == 10_000
    assert projected.output_tokens == 10_000  # The session's average reply so far.
    assert spending.check(projected) is None  # $0.75 + $0.027 + $0.0375 + $0.15
    big = spending.project(400_000, cached_tokens=0)
    overrun = spending.check(big)
    assert overrun is not None and overrun.budget == "usd" and overrun.spent == pytest.approx(0.75)
    many = Spending(PRICES, BudgetConfig(max_tokens=1000))
    over = many.check(TokenUsage(input_tokens=990, output_tokens=20))
    assert over is not None and over.budget == "tokens" and over.projected == 1010


def test_a_dollar_budget_cannot_be_kept_without_a_price() -> None:
    overrun = Spending(None, BudgetConfig(max_usd=1)).check(TokenUsage(input_tokens=1))
    assert overrun is not None and "price" in overrun.message
    assert Spending(None, BudgetConfig(max_tokens=10)).check(TokenUsage(input_tokens=1)) is None


def test_a_long_prompt_is_billed_at_the_long_context_rate_when_the_model_has_one() -> None:
    haiku = model_info("claude-haiku-5-5").prices
    assert haiku is not None and haiku.long is not None and haiku.long_above is not None
    short = TokenUsage(input_tokens=haiku.long_above)
    long = TokenUsage(input_tokens=haiku.long_above + 1)
    assert haiku.cost(short) == pytest.approx(haiku.long_above * haiku.input / 1e6)
    assert haiku.cost(long) == pytest.approx((haiku.long_above + 1) * haiku.long.input / 1e6)
    assert haiku.long.input > haiku.input

"""The per-model table: context window, max output tokens and prices, from `models.json`.

The table is data, checked against Anthropic's documentation on the date it records, so a price
change or a new model is a one-line edit and never a code change. A model id is looked up by
exact id or alias, then with a date suffix removed, then by family (`"sonnet"` in the id), and
finally falls back to a default window with no prices: the cost of an unknown model is unknown,
never guessed.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agentls.core.model import TokenUsage

_PER_TOKEN = 1e-6
_DATE_SUFFIX = re.compile(r"-\d{8}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Prices(_Frozen):
    """US dollars per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_write_5m: float = Field(ge=0)
    cache_write_1h: float = Field(ge=0)
    cache_read: float = Field(ge=0)
    long: Prices | None = None
    """Prices for a request whose input is over `long_above` tokens (some models bill long
    prompts at a higher rate, for the whole request)."""
    long_above: int | None = None

    def cost(self, usage: TokenUsage) -> float:
        """What `usage` costs, in US dollars."""
        if self.long is not None and self.long_above is not None and usage.total_input > self.long_above:
            return self.long.cost(usage)
        one_hour = min(usage.cache_creation_1h_input_tokens, usage.cache_creation_input_tokens)
        five_minutes = usage.cache_creation_input_tokens - one_hour
        return _PER_TOKEN * (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + five_minutes * self.cache_write_5m
            + one_hour * self.cache_write_1h
            + usage.cache_read_input_tokens * self.cache_read
        )


class _Limits(_Frozen):
    context_window: int = Field(gt=0)
    max_output_tokens: int = Field(gt=0)


class _LongContext(_Frozen):
    pricing: str
    above_input_tokens: int | None = None


class _ModelRow(_Limits):
    id: str
    aliases: tuple[str, ...] = ()
    pricing: str
    extended_context: _LongContext | None = None


class _FamilyRow(_Limits):
    match: str
    pricing: str


class _Table(_Frozen):
    checked: str
    pricing: dict[str, Prices]
    models: tuple[_ModelRow, ...]
    families: tuple[_FamilyRow, ...] = ()
    default: _Limits


Match = Literal["model", "family", "default"]


class ModelInfo(_Frozen):
    """What agentls knows about one model id."""

    model: str
    context_window: int
    max_output_tokens: int
    prices: Prices | None
    """None when the model is unknown: its cost is not guessed."""
    match: Match
    """How the id was found: in the table, by its family, or not at all (defaults)."""


@functools.cache
def _table() -> _Table:
    text = resources.files("agentls.core.context").joinpath("models.json").read_text(encoding="utf-8")
    table = _Table.model_validate(json.loads(text))
    named = {r.pricing for r in table.models} | {f.pricing for f in table.families}
    named |= {r.extended_context.pricing for r in table.models if r.extended_context is not None}
    missing = named - set(table.pricing)
    if missing:
        raise ValueError(f"models.json: unknown pricing families {sorted(missing)}")
    return table


def model_info(model: str) -> ModelInfo:
    table = _table()
    wanted = {model, _DATE_SUFFIX.sub("", model)}
    row = next((r for r in table.models if wanted & {r.id, *r.aliases}), None)
    if row is not None:
        prices = table.pricing[row.pricing]
        tier = row.extended_context
        if tier is not None and tier.above_input_tokens is not None:
            prices = prices.model_copy(
                update={"long": table.pricing[tier.pricing], "long_above": tier.above_input_tokens}
            )
        return _info(model, row, prices, "model")
    family = next((f for f in table.families if f.match in model.lower()), None)
    if family is not None:
        return _info(model, family, table.pricing[family.pricing], "family")
    return _info(model, table.default, None, "default")


def _info(model: str, limits: _Limits, prices: Prices | None, match: Match) -> ModelInfo:
    return ModelInfo(
        model=model,
        context_window=limits.context_window,
        max_output_tokens=limits.max_output_tokens,
        prices=prices,
        match=match,
    )


def family_prices(name: str) -> Prices:
    """A pricing family by name (e.g. `sonnet-5`), for benchmarks that price a simulated session."""
    return _table().pricing[name]

"""Context and budget settings: the front end's explicit values over the settings files' values.

In settings files (any level, Claude Code's files included):

    {"contextWindow": 200000,
     "autoCompactEnabled": false,
     "context": {"autoCompact": true, "autoCompactPercent": 80, "microCompact": true,
                 "microCompactPercent": 50, "snip": true, "snipPercent": 70, "keepToolResults": 3},
     "budget": {"maxUsd": 5, "maxTokens": 2000000}}

The highest level that sets a key wins, and a value the front end set explicitly (a command-line
flag, an editor option) wins over every file. Budgets only ever restrict, so the lowest limit
given anywhere applies, and a repository's budget counts even in an untrusted folder; its window
and compaction settings do not (`policy.settings_levels` drops them with a warning).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentls.policy.settings_levels import Sourced


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")


class ContextConfig(_Settings):
    window: int | None = Field(default=None, gt=0, alias="contextWindow")
    """Overrides the model table's context window; None: the table's (or what an overflow teaches)."""
    auto_compact: bool = Field(default=True, alias="autoCompact")
    auto_compact_percent: int = Field(default=80, ge=10, le=100, alias="autoCompactPercent")
    micro_compact: bool = Field(default=True, alias="microCompact")
    micro_compact_percent: int = Field(default=60, ge=5, le=100, alias="microCompactPercent")
    snip: bool = True
    snip_percent: int = Field(default=70, ge=10, le=100, alias="snipPercent")
    keep_tool_results: int = Field(default=3, ge=0, le=100, alias="keepToolResults")


class BudgetConfig(_Settings):
    max_usd: float | None = Field(default=None, gt=0, alias="maxUsd")
    max_tokens: int | None = Field(default=None, gt=0, alias="maxTokens")

    @property
    def any(self) -> bool:
        return self.max_usd is not None or self.max_tokens is not None


def resolve_context(explicit: ContextConfig, levels: Sequence[Sourced]) -> tuple[ContextConfig, list[str]]:
    """`levels` holds one `Sourced` per settings file with any of `CONTEXT_KEYS`, highest first;
    its value is that file's mapping of those keys."""
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for sourced in reversed(levels):  # Lowest first, so higher levels overwrite.
        data, where = sourced.value, _where(sourced)
        if "contextWindow" in data:
            values["contextWindow"] = data["contextWindow"]
        if "autoCompactEnabled" in data:
            values["autoCompact"] = data["autoCompactEnabled"]
        nested = data.get("context")
        if nested is not None and not isinstance(nested, Mapping):
            warnings.append(f"{where}: `context` must be an object; ignored")
        elif nested:
            values.update(nested)
    resolved = _valid(ContextConfig, values, warnings, "settings")
    chosen = {name: getattr(explicit, name) for name in explicit.model_fields_set}
    return resolved.model_copy(update=chosen), warnings


def resolve_budget(explicit: BudgetConfig, levels: Sequence[Sourced]) -> tuple[BudgetConfig, list[str]]:
    """The lowest limit of each kind among the explicit one and every level's `budget`."""
    usd = [explicit.max_usd] if explicit.max_usd is not None else []
    tokens = [explicit.max_tokens] if explicit.max_tokens is not None else []
    warnings: list[str] = []
    for sourced in levels:
        if not isinstance(sourced.value, Mapping):
            warnings.append(f"{_where(sourced)}: `budget` must be an object; ignored")
            continue
        budget = _valid(BudgetConfig, dict(sourced.value), warnings, _where(sourced))
        usd += [budget.max_usd] if budget.max_usd is not None else []
        tokens += [budget.max_tokens] if budget.max_tokens is not None else []
    return BudgetConfig(max_usd=min(usd, default=None), max_tokens=min(tokens, default=None)), warnings


_S = TypeVar("_S", bound=_Settings)


def _valid(cls: type[_S], values: dict[str, Any], warnings: list[str], where: str) -> _S:
    """`cls` from `values`, leaving out (with a warning) each key that is unknown or invalid."""
    good: dict[str, Any] = {}
    for key, value in values.items():
        try:
            cls.model_validate({key: value})
        except ValidationError as err:
            problem = err.errors(include_url=False)[0]
            warnings.append(f"{where}: setting {key}={value!r} ignored: {problem['msg']}")
            continue
        good[key] = value
    return cls.model_validate(good)


def _where(sourced: Sourced) -> str:
    return f"{sourced.level} settings ({sourced.path or 'the command line'})"

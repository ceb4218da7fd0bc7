"""When MCP tools are deferred: Claude Code's `ENABLE_TOOL_SEARCH`, read from the settings' `env`
(which wins, as Claude Code applies it over its own environment) or agentls' environment.

- unset, empty or `auto`: deferred when the MCP tools' definitions would take more than 10% of
  the model's context window;
- `auto:N`: the same past N% (0 to 100; `auto:0` defers any MCP tool);
- `true` (or `1`, `yes`, `on`): always deferred;
- `false` (or `0`, `no`, `off`): never, every definition is sent with every request.

Anything else is a warning, and `auto` applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

VARIABLE = "ENABLE_TOOL_SEARCH"
DEFAULT_PERCENT = 10.0

_ON = {"true", "1", "yes", "on"}
_OFF = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class SearchSetting:
    percent: float | None
    """Defer once the MCP tools take more than this share of the window (0: always); None: never."""
    source: str = "the default"
    """Where the value came from, for `/mcp` and the black box."""

    def describe(self) -> str:
        if self.percent is None:
            return f"never, {self.source}"
        if self.percent == 0:
            return f"always, {self.source}"
        return f"past {self.percent:g}% of the context window, {self.source}"


def search_setting(
    settings_env: Mapping[str, tuple[str, str]], environ: Mapping[str, str]
) -> tuple[SearchSetting, list[str]]:
    """`settings_env`: the merged settings' `env` as name → (value, where it was set)."""
    if VARIABLE in settings_env:
        raw, where = settings_env[VARIABLE]
    elif VARIABLE in environ:
        raw, where = environ[VARIABLE], "the environment"
    else:
        return SearchSetting(DEFAULT_PERCENT), []
    value = raw.strip().lower()
    source = f"{VARIABLE}={raw.strip()} from {where}"
    if value in ("", "auto"):
        return SearchSetting(DEFAULT_PERCENT, source), []
    if value in _ON:
        return SearchSetting(0.0, source), []
    if value in _OFF:
        return SearchSetting(None, source), []
    if value.startswith("auto:"):
        try:
            percent = float(value.removeprefix("auto:"))
        except ValueError:
            percent = -1.0
        if 0 <= percent <= 100:
            return SearchSetting(percent, source), []
    warning = (
        f"{VARIABLE}={raw!r} from {where} is not one of true, false, auto or auto:N (N a percentage "
        f"from 0 to 100); auto applies (MCP tools are deferred past {DEFAULT_PERCENT:g}% of the "
        "context window)"
    )
    return SearchSetting(DEFAULT_PERCENT), [warning]

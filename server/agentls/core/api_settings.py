"""API reliability settings: the fallback model, unattended mode, the deadline, retry timings.

In settings files (any level, as the context settings):

    {"fallbackModel": "claude-haiku-4-5",
     "unattended": true,
     "deadline": "2h",
     "retry": {"maxRetries": 10, "baseDelay": "0.5s", "maxDelay": "30s", "retryAfterCap": "60s",
               "reportAfter": "20s", "idleTimeout": "90s", "heartbeat": "30s",
               "unattendedMaxDelay": "5m", "overloadsBeforeFallback": 3}}

Durations are seconds (a number) or units run together (`500ms`, `90s`, `45m`, `2h`, `1h30m`).
The highest level that sets a key wins, and a value the front end set explicitly (a command-line
flag, an editor option) wins over every file. From an untrusted folder's own files these keys are
ignored with a warning: a repository must not choose a (costlier) model, nor make a session
retry for hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from agentls.core.config import AgentConfig
from agentls.core.retry import parse_duration
from agentls.policy.loader import SettingsSources
from agentls.store.settings_files import SettingsFile

TOP_LEVEL = {"fallbackModel": "fallback_model", "unattended": "unattended", "deadline": "deadline_s"}
"""Settings keys → `AgentConfig` fields."""
RETRY = {
    "maxRetries": "max_retries",
    "baseDelay": "retry_base_delay_s",
    "maxDelay": "retry_max_delay_s",
    "retryAfterCap": "retry_after_cap_s",
    "reportAfter": "retry_report_s",
    "idleTimeout": "idle_timeout_s",
    "heartbeat": "heartbeat_s",
    "unattendedMaxDelay": "unattended_max_delay_s",
    "overloadsBeforeFallback": "overloads_before_fallback",
}
"""Keys of the `retry` object → `AgentConfig` fields."""
DURATIONS = frozenset(
    {
        "deadline_s",
        "retry_base_delay_s",
        "retry_max_delay_s",
        "retry_after_cap_s",
        "retry_report_s",
        "idle_timeout_s",
        "heartbeat_s",
        "unattended_max_delay_s",
    }
)


def config_value(field: str, raw: object) -> Any:
    """`raw` checked (and a duration converted to seconds) for `AgentConfig.<field>`; raises
    `ValueError` with a message for people."""
    value = parse_duration(raw) if field in DURATIONS and raw is not None else raw
    info = AgentConfig.model_fields[field]
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[info.annotation, info])  # type: ignore[arg-type]
    try:
        return adapter.validate_python(value)
    except ValidationError as err:
        raise ValueError(err.errors(include_url=False)[0]["msg"]) from None


def explicit_values(options: Mapping[str, Any]) -> dict[str, Any]:
    """`AgentConfig` fields from settings-shaped `options` (an editor's initializationOptions):
    the keys above, each checked. Raises `ValueError` naming the bad key."""
    pairs, problems = _pairs(options, "initializationOptions")
    if problems:
        raise ValueError(problems[0])
    out: dict[str, Any] = {}
    for key, field, raw in pairs:
        if raw is None:
            continue  # Not set.
        try:
            out[field] = config_value(field, raw)
        except ValueError as err:
            raise ValueError(f"{key}: {err}") from None
    return out


def apply_api_settings(config: AgentConfig, sources: SettingsSources) -> tuple[AgentConfig, list[str]]:
    """`config` with what the settings files say, below what the front end set explicitly."""
    trusted, _ = sources.trusted()  # The permission engine reports trust problems already.
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for f in reversed(_files(sources)):  # Lowest level first: higher levels overwrite.
        where = f"{f.level} settings ({f.path if f.path is not None else 'the command line'})"
        pairs, problems = _pairs(f.data, where)
        warnings += problems
        if not pairs:
            continue
        if not trusted and (f.repository_supplied or f.level == "project"):
            names = ", ".join(dict.fromkeys(key.split(".")[0] for key, _, _ in pairs))
            warnings.append(
                f"{where}: ignored {names} because the folder is not trusted; trust the folder to apply them"
            )
            continue
        for key, field, raw in pairs:
            try:
                values[field] = config_value(field, raw)
            except ValueError as err:
                warnings.append(f"{where}: setting {key}={raw!r} ignored: {err}")
    chosen = {k: v for k, v in values.items() if k not in config.model_fields_set}
    return (config.model_copy(update=chosen) if chosen else config), warnings


def _pairs(data: Mapping[str, Any], where: str) -> tuple[list[tuple[str, str, object]], list[str]]:
    """(key as written, `AgentConfig` field, raw value) for every key of ours in `data`, and
    what was wrong with the others."""
    out: list[tuple[str, str, object]] = [
        (key, field, data[key]) for key, field in TOP_LEVEL.items() if key in data
    ]
    retry = data.get("retry")
    if retry is None:
        return out, []
    if not isinstance(retry, Mapping):
        return out, [f"{where}: `retry` must be an object; ignored"]
    problems: list[str] = []
    for key, raw in retry.items():
        field = RETRY.get(str(key))
        if field is None:
            problems.append(f"{where}: unknown setting retry.{key}; ignored")
        else:
            out.append((f"retry.{key}", field, raw))
    return out, problems


def _files(sources: SettingsSources) -> list[SettingsFile]:
    """Every settings file of every level, highest first (unreadable ones are left out: the
    permission engine reports them)."""
    return sources.read_files()[0]

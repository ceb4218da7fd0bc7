"""The reliability settings (`fallbackModel`, `unattended`, `deadline`, `retry`): settings files
under the front end's explicit values, workspace trust, durations; and how a session uses them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentls.core.api_settings import apply_api_settings, explicit_values
from agentls.core.config import AgentConfig
from agentls.core.retry import format_duration, parse_duration
from agentls.core.scripted import ScriptedModel
from agentls.core.session import Session, SessionDeps
from agentls.policy.loader import SettingsSources
from agentls.store.settings_files import TrustStore
from agentls.workspace.disk import DiskWorkspace
from tests.core.fakes import ScriptedApprover


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def sources(
    project: Path, home: Path, cli: dict[str, Any] | None = None, *, trusted: bool = False
) -> SettingsSources:
    trust = TrustStore(home / "trusted.json")
    if trusted:
        trust.trust(project)
    return SettingsSources(
        project=project, home=home, config=home / "config", cli=cli, managed=(), trust=trust
    )


def write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), ("90", 90.0), ("0.5", 0.5), ("500ms", 0.5), ("90s", 90.0), ("45m", 2700.0), ("2h", 7200.0),
     ("1h30m", 5400.0), ("1d", 86400.0), (" 2H ", 7200.0)],
)  # fmt: skip
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "soon", "2x", "h2", "-5", "1h-5m", True, None, [1], "inf"])
def test_bad_durations_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_durations_read_back() -> None:
    assert [format_duration(s) for s in (0.5, 45, 125, 4800)] == ["0.5s", "45s", "2m05s", "1h20m"]


def test_the_user_settings_set_the_fallback_retry_timings_and_unattended_mode(
    project: Path, home: Path
) -> None:
    write(
        home / "config" / "settings.json",
        {
            "fallbackModel": "claude-haiku-4-5",
            "unattended": True,
            "deadline": "2h",
            "retry": {"maxRetries": 3, "baseDelay": "250ms", "idleTimeout": 30, "heartbeat": "10s"},
        },
    )
    config, warnings = apply_api_settings(AgentConfig(model="m"), sources(project, home))
    assert warnings == []
    assert config.fallback_model == "claude-haiku-4-5" and config.unattended is True
    assert config.deadline_s == 7200.0 and config.max_retries == 3
    assert (config.retry_base_delay_s, config.idle_timeout_s, config.heartbeat_s) == (0.25, 30.0, 10.0)


def test_explicit_values_win_over_files_and_higher_levels_over_lower(project: Path, home: Path) -> None:
    write(home / "config" / "settings.json", {"fallbackModel": "from-user", "deadline": "1h"})
    cli = {"fallbackModel": "from-cli"}
    explicit = AgentConfig(model="m", deadline_s=60.0)
    config, _ = apply_api_settings(explicit, sources(project, home, cli))
    assert config.fallback_model == "from-cli"  # The command line's settings beat the user's file.
    assert config.deadline_s == 60.0  # A flag beats every file.


def test_an_untrusted_repository_cannot_pick_the_model_or_retry_for_hours(project: Path, home: Path) -> None:
    write(project / ".agentls" / "settings.json", {"fallbackModel": "claude-opus-4-8", "unattended": True})
    config, warnings = apply_api_settings(AgentConfig(model="m"), sources(project, home))
    assert config.fallback_model is None and config.unattended is False
    [warning] = warnings
    assert "fallbackModel, unattended" in warning and "not trusted" in warning
    trusted, warnings = apply_api_settings(AgentConfig(model="m"), sources(project, home, trusted=True))
    assert trusted.fallback_model == "claude-opus-4-8" and trusted.unattended and warnings == []


def test_bad_values_are_warnings_and_the_rest_applies(project: Path, home: Path) -> None:
    write(
        home / "config" / "settings.json",
        {
            "deadline": "soon",
            "unattended": "yes please",
            "retry": {"maxRetries": -1, "bogus": 1, "maxDelay": "1m"},
        },
    )
    config, warnings = apply_api_settings(AgentConfig(model="m"), sources(project, home))
    assert config.retry_max_delay_s == 60.0 and config.deadline_s is None and config.max_retries == 10
    assert len(warnings) == 4
    assert any("retry.bogus" in w for w in warnings) and any("deadline='soon'" in w for w in warnings)


def test_editor_options_are_checked_and_converted() -> None:
    assert explicit_values({"fallbackModel": "x", "deadline": "90m", "unattended": None, "model": "y"}) == {
        "fallback_model": "x",
        "deadline_s": 5400.0,
    }
    assert explicit_values({"retry": {"baseDelay": 0}}) == {"retry_base_delay_s": 0.0}
    with pytest.raises(ValueError, match="deadline"):
        explicit_values({"deadline": "later"})
    with pytest.raises(ValueError, match=r"retry\.nope"):
        explicit_values({"retry": {"nope": 1}})


async def test_a_session_runs_with_the_settings_files_values(project: Path, home: Path) -> None:
    write(
        home / "config" / "settings.json", {"fallbackModel": "claude-haiku-4-5", "retry": {"maxRetries": 2}}
    )
    deps = SessionDeps(
        config=AgentConfig(model="claude-sonnet-5-5"),
        model=ScriptedModel([]),
        workspace=DiskWorkspace(project),
        approver=ScriptedApprover([]),
        settings=sources(project, home),
    )
    session = await Session.start(deps)
    assert session.state.config.fallback_model == "claude-haiku-4-5"
    assert session.state.config.max_retries == 2

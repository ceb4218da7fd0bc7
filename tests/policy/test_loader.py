"""Settings sources and the engine that reloads them when a settings file or the trust store changes.

Every change below also changes the file's size or inode, so the stat fingerprint sees it whatever
the filesystem's timestamp resolution.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from agentls.policy.decision import Allow, Ask, CallFacts, Deny
from agentls.policy.loader import ReloadingEngine, SettingsSources
from agentls.store.settings_files import TrustStore
from tests.policy.test_engine_table import facts_for_tool


@pytest.fixture
def sources(tmp_path: Path, project: Path) -> SettingsSources:
    home = tmp_path / "home"
    home.mkdir()
    return SettingsSources(project=project, home=home, config=tmp_path / "config", managed=())


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def perms(**lists: list[str]) -> dict[str, Any]:
    return {"permissions": lists}


def user_file(s: SettingsSources) -> Path:
    return s.config / "settings.json"


def bash(s: SettingsSources, command: str) -> CallFacts:
    return facts_for_tool("Bash", {"command": command}, s.project)


def test_a_deny_rule_written_after_start_applies_to_the_next_decision(sources: SettingsSources) -> None:
    engine = ReloadingEngine(sources)
    assert isinstance(engine.decide(bash(sources, "rm x")), Ask)
    assert engine.reloads == 0
    write(user_file(sources), perms(deny=["Bash(rm *)"]))
    decision = engine.decide(bash(sources, "rm x"))
    assert isinstance(decision, Deny) and decision.stage == "deny"
    assert engine.reloads == 1
    # Nothing changed since: no further reload.
    assert isinstance(engine.decide(bash(sources, "rm y")), Deny)
    assert engine.reloads == 1


def test_a_changed_file_is_reloaded(sources: SettingsSources) -> None:
    write(user_file(sources), perms(allow=["Bash(rm x)"]))
    engine = ReloadingEngine(sources)
    assert isinstance(engine.decide(bash(sources, "rm x")), Allow)
    write(user_file(sources), perms(allow=["Bash(rm x)"], deny=["Bash(rm *)"]))
    assert isinstance(engine.decide(bash(sources, "rm x")), Deny)
    assert engine.reloads == 1


def test_a_file_replaced_atomically_is_reloaded(sources: SettingsSources) -> None:
    """Editors save through a temporary file and a rename: same size is possible, a new inode is not."""
    path = write(user_file(sources), perms(deny=["Bash(rm *)"]))
    engine = ReloadingEngine(sources)
    assert isinstance(engine.decide(bash(sources, "rm x")), Deny)
    keep = path.with_name("keep-inode")
    os.link(path, keep)  # Hold the old inode so the new file cannot reuse its number.
    tmp = write(path.with_name("tmp.json"), perms(deny=["Bash(cp *)"]))  # Same length.
    assert tmp.stat().st_size == path.stat().st_size
    tmp.replace(path)
    assert isinstance(engine.decide(bash(sources, "rm x")), Ask)
    assert isinstance(engine.decide(bash(sources, "cp a b")), Deny)


def test_a_removed_file_stops_applying(sources: SettingsSources) -> None:
    path = write(user_file(sources), perms(deny=["Bash(rm *)"]))
    engine = ReloadingEngine(sources)
    assert isinstance(engine.decide(bash(sources, "rm x")), Deny)
    path.unlink()
    assert isinstance(engine.decide(bash(sources, "rm x")), Ask)
    assert engine.reloads == 1


@pytest.mark.parametrize(
    "where",
    [
        ".agentls/settings.local.json",
        ".claude/settings.local.json",
        ".agentls/settings.json",
        ".claude/settings.json",
        "{home}/.claude/settings.json",
        "{config}/settings.json",
    ],
)
def test_every_level_is_watched(sources: SettingsSources, where: str) -> None:
    engine = ReloadingEngine(sources)
    path = Path(where.format(home=sources.home, config=sources.config))
    write(sources.project / path, perms(deny=["Bash(rm *)"]))  # An absolute `path` wins over the project.
    assert isinstance(engine.decide(bash(sources, "rm x")), Deny)  # Deny rules need no trust.
    assert engine.reloads == 1


def test_a_managed_file_is_watched(tmp_path: Path, sources: SettingsSources) -> None:
    managed = tmp_path / "etc" / "managed-settings.json"
    s = SettingsSources(project=sources.project, home=sources.home, config=sources.config, managed=(managed,))
    engine = ReloadingEngine(s)
    assert isinstance(engine.decide(bash(s, "curl x")), Ask)
    write(managed, perms(deny=["Bash(curl *)"]))
    assert isinstance(engine.decide(bash(s, "curl x")), Deny)


def test_cli_settings_apply(sources: SettingsSources) -> None:
    s = SettingsSources(
        project=sources.project,
        home=sources.home,
        config=sources.config,
        managed=(),
        cli={"permissions": {"deny": ["Bash(rm *)"]}},
    )
    assert isinstance(ReloadingEngine(s).decide(bash(s, "rm x")), Deny)


def test_trusting_the_project_applies_its_allow_rules(sources: SettingsSources) -> None:
    write(sources.project / ".agentls" / "settings.json", perms(allow=["Bash(touch *)"]))
    engine = ReloadingEngine(sources)
    assert isinstance(engine.decide(bash(sources, "touch a")), Ask)
    assert any("not trusted" in w for w in engine.warnings)
    assert sources.trust_store.trust(sources.project)
    decision = engine.decide(bash(sources, "touch a"))
    assert isinstance(decision, Allow) and decision.stage == "allow"
    assert engine.reloads == 1
    assert not any("not trusted" in w for w in engine.warnings)
    assert sources.trust_store.revoke(sources.project)
    assert isinstance(engine.decide(bash(sources, "touch a")), Ask)
    assert engine.reloads == 2


def test_the_trust_store_defaults_to_the_config_directory(sources: SettingsSources) -> None:
    assert sources.trust_store.path == sources.config / "trusted.json"
    assert sources.trust_store.path in sources.files()
    other = TrustStore(sources.config.parent / "elsewhere.json")
    s = SettingsSources(
        project=sources.project, home=sources.home, config=sources.config, managed=(), trust=other
    )
    assert s.trust_store is other
    assert other.path in s.files()


def test_listeners_are_called_after_each_reload(sources: SettingsSources) -> None:
    engine = ReloadingEngine(sources)
    seen: list[list[str]] = []
    engine.listeners.append(lambda: seen.append([r.text for r in engine.config.deny]))
    assert engine.refresh() is False
    assert seen == []
    write(user_file(sources), perms(deny=["Bash(rm *)"]))
    assert engine.refresh() is True
    assert seen == [["Bash(rm *)"]]  # The listener sees the new configuration.
    assert engine.refresh() is False
    engine.decide(bash(sources, "ls"))
    assert seen == [["Bash(rm *)"]]


def test_read_denied_reloads_too(sources: SettingsSources) -> None:
    engine = ReloadingEngine(sources)
    secret = sources.project / ".env"
    assert not engine.read_denied(secret)
    write(user_file(sources), perms(deny=["Read(./.env)"]))
    assert engine.read_denied(secret)
    assert engine.reloads == 1


def test_default_mode_follows_the_settings_unless_chosen(sources: SettingsSources) -> None:
    free = ReloadingEngine(sources)
    chosen = ReloadingEngine(sources, mode="plan")
    assert (free.mode, chosen.mode) == ("default", "plan")
    write(user_file(sources), {"permissions": {"defaultMode": "acceptEdits"}})
    free.refresh()
    chosen.refresh()
    assert (free.mode, chosen.mode) == ("acceptEdits", "plan")


def test_tools_named_in_known_tools_are_accepted_in_rules(sources: SettingsSources) -> None:
    write(user_file(sources), perms(deny=["ReportFinding"]))
    plain = ReloadingEngine(sources)
    known = ReloadingEngine(sources, known_tools=frozenset({"Bash", "ReportFinding"}))
    assert known.hidden_tools(["ReportFinding", "Bash"]) == {"ReportFinding"}
    assert known.warnings == []
    # Without it, the rule names an unknown tool: ignored with a warning, never an exception.
    assert plain.hidden_tools(["ReportFinding", "Bash"]) == frozenset()
    assert any("unknown tool 'ReportFinding'" in w for w in plain.warnings)


def test_directories_lists_the_existing_ones(sources: SettingsSources) -> None:
    assert sources.directories() == [sources.project]  # .mcp.json lives in the project root.
    (sources.project / ".agentls").mkdir()
    sources.config.mkdir()
    (sources.home / ".claude").mkdir()
    assert sources.directories() == sorted(
        [sources.project, sources.project / ".agentls", sources.config, sources.home / ".claude"]
    )
    assert all(d.is_dir() for d in sources.directories())
    (sources.project / ".claude").write_text("a file, not a directory")
    assert sources.project / ".claude" not in sources.directories()


def test_files_cover_every_level(tmp_path: Path, sources: SettingsSources) -> None:
    managed = tmp_path / "m.json"
    s = SettingsSources(project=sources.project, home=sources.home, config=sources.config, managed=(managed,))
    p = sources.project
    assert s.files() == [
        managed,
        p / ".agentls/settings.local.json",
        p / ".claude/settings.local.json",
        p / ".agentls/settings.json",
        p / ".claude/settings.json",
        p / ".mcp.json",
        sources.config / "settings.json",
        sources.home / ".claude/settings.json",
        sources.config / "trusted.json",
    ]


def test_a_broken_settings_file_is_a_warning_not_an_exception(sources: SettingsSources) -> None:
    write(sources.home / ".claude" / "settings.json", perms(deny=["Bash(curl *)"]))
    write(user_file(sources), "{not json")
    engine = ReloadingEngine(sources)
    assert any("not valid JSON" in w for w in engine.warnings)
    assert isinstance(engine.decide(bash(sources, "curl x")), Deny)  # The other file still counts.


def test_a_file_that_breaks_mid_session_is_a_warning(sources: SettingsSources) -> None:
    path = write(user_file(sources), perms(deny=["Bash(rm *)"]))
    engine = ReloadingEngine(sources)
    assert engine.warnings == []
    write(path, '{"permissions": ')
    decision = engine.decide(bash(sources, "rm x"))
    assert isinstance(decision, Ask)  # The broken file's rules no longer apply...
    assert any("not valid JSON" in w and str(path) in w for w in engine.warnings)  # ...and it says so.
    write(path, perms(deny=["Bash(rm *)"]))
    assert isinstance(engine.decide(bash(sources, "rm x")), Deny)
    assert engine.warnings == []


def test_a_broken_trust_store_means_untrusted_with_a_warning(sources: SettingsSources) -> None:
    write(sources.project / ".agentls" / "settings.json", perms(allow=["Bash(touch *)"]))
    write(sources.config / "trusted.json", {"trusted": "/"})
    engine = ReloadingEngine(sources)
    assert isinstance(engine.decide(bash(sources, "touch a")), Ask)
    assert any("counts as untrusted" in w for w in engine.warnings)
    assert sources.trusted() == (False, [w for w in engine.warnings if "counts as untrusted" in w])


def test_a_rule_with_bad_syntax_is_a_warning(sources: SettingsSources) -> None:
    write(user_file(sources), perms(deny=["Bash(rm *", "Bash(curl *)"]))
    engine = ReloadingEngine(sources)
    assert engine.warnings
    assert isinstance(engine.decide(bash(sources, "curl x")), Deny)

"""Settings files of each level, the repository-supplied test and the trusted-folder store."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from agentls.store.settings import SettingsError
from agentls.store.settings_files import (
    TrustStore,
    config_home,
    git_tracks,
    load_settings_files,
    local_is_repository_supplied,
)

LOCAL = Path(".agentls/settings.local.json")


def write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def git_index(project: Path, *names: str, version: int = 2, extended: bool = False) -> None:
    """A minimal `.git/index` holding `names` (entry layout as git writes it)."""
    body = b""
    for name in names:
        raw = name.encode()
        flags = min(len(raw), 0xFFF) | (0x4000 if extended else 0)
        entry = b"\0" * 40 + b"\0" * 20 + struct.pack(">H", flags)
        entry += struct.pack(">H", 0) if extended else b""
        entry += raw + b"\0"
        entry += b"\0" * (-len(entry) % 8)
        body += entry
    write(project / ".git" / "index", "")
    (project / ".git" / "index").write_bytes(b"DIRC" + struct.pack(">II", version, len(names)) + body)


def test_load_every_level_in_order(tmp_path: Path, project: Path) -> None:
    home = tmp_path / "home"
    managed = write(tmp_path / "etc" / "managed-settings.json", {"permissions": {"deny": ["Bash"]}})
    write(project / ".agentls/settings.local.json", {"a": 1})
    write(project / ".claude/settings.local.json", {"b": 1})
    write(project / ".agentls/settings.json", {"c": 1})
    write(project / ".claude/settings.json", {"d": 1})
    write(project / ".mcp.json", {"mcpServers": {"x": {}}})
    write(home / ".config/agentls/settings.json", {"e": 1})
    write(home / ".claude/settings.json", {"f": 1})
    files, warnings = load_settings_files(
        project, home=home, cli={"g": 1}, managed=(managed, tmp_path / "none.json")
    )
    assert warnings == []
    assert [(f.level, f.path.name if f.path else None) for f in files] == [
        ("managed", "managed-settings.json"),
        ("cli", None),
        ("local", "settings.local.json"),
        ("local", "settings.local.json"),
        ("project", "settings.json"),
        ("project", "settings.json"),
        ("project", ".mcp.json"),
        ("user", "settings.json"),
        ("user", "settings.json"),
    ]
    assert [f.root for f in files] == [managed.parent, project, project, project, project, project, project,
                                       home / ".config/agentls", home / ".claude"]  # fmt: skip
    assert all(f.repository_supplied for f in files if f.level == "project")
    assert not any(f.repository_supplied for f in files if f.level in ("managed", "cli", "user"))


@pytest.mark.parametrize(("trust_untracked", "index", "expected"), [(False, [], True), (True, [], False)])
def test_local_files_are_repository_supplied_unless_asked_to_check_git(
    tmp_path: Path, project: Path, trust_untracked: bool, index: list[str], expected: bool
) -> None:
    write(project / ".agentls/settings.local.json", {"permissions": {"allow": ["Bash"]}})
    git_index(project, *index)
    files, _ = load_settings_files(
        project, home=tmp_path / "home", managed=(), trust_untracked_local=trust_untracked
    )
    assert [(f.level, f.repository_supplied) for f in files] == [("local", expected)]


def test_broken_file_becomes_a_warning(tmp_path: Path, project: Path) -> None:
    write(project / ".agentls/settings.json", "{not json")
    write(project / ".claude/settings.json", "[1]")
    files, warnings = load_settings_files(project, home=tmp_path / "home", managed=())
    assert files == []
    assert len(warnings) == 2
    assert "not valid JSON" in warnings[0]
    assert "JSON object" in warnings[1]


@pytest.mark.parametrize(
    ("names", "version", "extended", "expected"),
    [
        ([".agentls/settings.local.json"], 2, False, True),
        (["src/a.py", ".agentls/settings.local.json", "z"], 3, True, True),
        (["src/a.py"], 2, False, False),
        (["x/.agentls/settings.local.json"], 2, False, False),
        ([".agentls/settings.local.json"], 4, False, None),
    ],
)
def test_git_tracks_reads_the_index(
    project: Path, names: list[str], version: int, extended: bool, expected: bool | None
) -> None:
    git_index(project, *names, version=version, extended=extended)
    assert git_tracks(project, LOCAL) is expected


def test_git_tracks_follows_a_gitdir_file_and_handles_no_repo(tmp_path: Path, project: Path) -> None:
    assert git_tracks(project, LOCAL) is None
    real = tmp_path / "real-git-dir"
    git_index(real, ".agentls/settings.local.json")
    write(project / ".git", f"gitdir: {real / '.git'}\n")
    assert git_tracks(project, LOCAL) is True


def test_local_file_is_the_users_only_when_proven_untracked(tmp_path: Path, project: Path) -> None:
    assert local_is_repository_supplied(project, LOCAL)  # No git: cannot tell.
    git_index(project, "src/a.py")
    assert not local_is_repository_supplied(project, LOCAL)
    git_index(project, ".agentls/settings.local.json")
    assert local_is_repository_supplied(project, LOCAL)
    git_index(project, "src/a.py")
    write(project / "mine.json", {})
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.local.json").symlink_to(project / "mine.json")
    assert local_is_repository_supplied(project, Path(".claude/settings.local.json"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / ".agentls").symlink_to(elsewhere)
    assert local_is_repository_supplied(project, LOCAL)


def test_trust_store(tmp_path: Path) -> None:
    store = TrustStore(tmp_path / "cfg" / "trusted.json")
    proj = tmp_path / "proj"
    (proj / "sub").mkdir(parents=True)
    assert not store.is_trusted(proj)
    assert store.trust(proj)
    assert not store.trust(proj)
    assert store.is_trusted(proj)
    assert store.is_trusted(proj / "sub")
    assert not store.is_trusted(tmp_path / "proj_evil")
    assert not store.is_trusted(tmp_path)
    assert json.loads(store.path.read_text()) == {"trusted": [str(proj.resolve())]}
    assert [p.name for p in store.path.parent.iterdir()] == ["trusted.json"]  # No temp files left.
    assert store.revoke(proj)
    assert not store.revoke(proj)
    assert not store.is_trusted(proj)


def test_trust_store_canonicalises_symlinks(tmp_path: Path) -> None:
    store = TrustStore(tmp_path / "trusted.json")
    real = tmp_path / "real"
    real.mkdir()
    alias = tmp_path / "alias"
    alias.symlink_to(real)
    store.trust(alias)
    assert store.is_trusted(real)
    evil = tmp_path / "evil"
    evil.symlink_to(real)
    assert store.is_trusted(evil)  # It is the same folder.


def test_trust_store_rejects_a_malformed_file(tmp_path: Path) -> None:
    store = TrustStore(write(tmp_path / "trusted.json", {"trusted": "/"}))
    with pytest.raises(SettingsError):
        store.is_trusted(tmp_path)
    relative = TrustStore(write(tmp_path / "t2.json", {"trusted": ["relative", 3]}))
    assert relative.folders() == []


def test_config_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_home() == tmp_path / "agentls"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert config_home() == tmp_path / "h" / ".config" / "agentls"

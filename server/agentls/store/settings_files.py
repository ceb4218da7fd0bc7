"""Where the settings files of each level live, reading them, and the store of trusted folders.

Levels, highest first: managed, command line, local, project, user. Claude Code's files are read at
the same levels after ours, so existing users bring their rules. Reading never fails the session: a
broken file becomes a warning and is skipped (its rules then do not apply; the caller shows why).

Repository-supplied files (research §1.1, bypass class (b)): the project files always are. A local
file is too by default, because nothing on disk proves who wrote it: a repository archive can ship a
`.git/index` that does not list it. With `trust_untracked_local=True` (Claude Code's behaviour) a local
file is the user's unless its config directory or the file is a symlink, or git tracks it or we cannot
tell. We never run git to find out: an untrusted `.git/config` can make git run programs
(`core.fsmonitor`), so `.git/index` is read directly, and an index we cannot read counts as "tracked".
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentls.store.settings import SettingsError, read_settings, write_atomic

Level = Literal["managed", "cli", "local", "project", "user"]
LEVELS: tuple[Level, ...] = ("managed", "cli", "local", "project", "user")
"""Highest precedence first."""

MANAGED_FILES = (Path("/etc/agentls/managed-settings.json"), Path("/etc/claude-code/managed-settings.json"))
PROJECT_FILES = (Path(".agentls/settings.json"), Path(".claude/settings.json"), Path(".mcp.json"))
LOCAL_FILES = (Path(".agentls/settings.local.json"), Path(".claude/settings.local.json"))


@dataclass(frozen=True)
class SettingsFile:
    """One settings document, already read, with where it came from."""

    level: Level
    path: Path | None
    """None for the command line."""
    data: Mapping[str, Any]
    root: Path
    """What a `/p` path rule is relative to: the project root, or the user/managed settings directory."""
    repository_supplied: bool = False
    """Shipped with the repository: its loosening settings need workspace trust."""


def config_home() -> Path:
    """`$XDG_CONFIG_HOME/agentls`, else `~/.config/agentls` (relative XDG values are invalid)."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
    return base / "agentls"


def user_files(home: Path, config: Path | None = None) -> tuple[Path, ...]:
    return ((config or home / ".config" / "agentls") / "settings.json", home / ".claude" / "settings.json")


def load_settings_files(
    project: Path,
    *,
    home: Path,
    config: Path | None = None,
    cli: Mapping[str, Any] | None = None,
    cli_from_editor: bool = False,
    cwd: Path | None = None,
    managed: tuple[Path, ...] = MANAGED_FILES,
    trust_untracked_local: bool = False,
    owned: Callable[[Path], bool] | None = None,
) -> tuple[list[SettingsFile], list[str]]:
    """Read every level that exists, highest first; unreadable files become warnings.

    `owned(path)` says a local file is exactly as agentls last wrote it for the user (an "always"
    answer, see `TrustStore.own`): such a file is the user's, not the repository's.
    """
    found: list[SettingsFile] = []
    warnings: list[str] = []

    def add(level: Level, path: Path, root: Path, repo: bool = False) -> None:
        try:
            data = read_settings(path)
        except SettingsError as err:
            warnings.append(f"{level} settings skipped: {err}")
            return
        if data:
            found.append(SettingsFile(level, path, data, root, repo))

    for path in managed:
        add("managed", path, path.parent)
    if cli:
        # An editor's settings may come from the workspace itself (VS Code's `.vscode/settings.json`),
        # so they count as the repository's: their loosening parts need workspace trust.
        found.append(SettingsFile("cli", None, cli, cwd or project, repository_supplied=cli_from_editor))
    for rel in LOCAL_FILES:
        if owned is not None and owned(project / rel):
            supplied = False
        else:
            supplied = not trust_untracked_local or local_is_repository_supplied(project, rel)
        add("local", project / rel, project, supplied)
    for rel in PROJECT_FILES:
        add("project", project / rel, project, True)
    for path in user_files(home, config):
        add("user", path, path.parent)
    return found, warnings


def local_is_repository_supplied(project: Path, rel: Path) -> bool:
    """A local settings file counts as the repository's unless proven to be the user's own."""
    if (project / rel.parts[0]).is_symlink() or (project / rel).is_symlink():
        return True
    return git_tracks(project, rel) is not False


def git_tracks(project: Path, rel: Path) -> bool | None:
    """Whether `.git/index` lists `rel`; None if there is no index we can read (v2/v3 only)."""
    git = project / ".git"
    try:
        if git.is_file():  # A worktree or submodule: `gitdir: <path>`.
            text = git.read_text(encoding="utf-8").strip()
            git = (project / text.removeprefix("gitdir:").strip()).resolve()
        index = (git / "index").read_bytes()
    except (OSError, UnicodeDecodeError):
        return None
    if len(index) < 12 or index[:4] != b"DIRC":
        return None
    version = struct.unpack(">I", index[4:8])[0]
    if version not in (2, 3):
        return None
    name = rel.as_posix().encode()
    length = min(len(name), 0xFFF)
    start = 0
    while (hit := index.find(name + b"\0", start)) >= 0:
        # A path follows its 16-bit flags (low 12 bits: the path length), or in version 3 the flags
        # (extended bit 0x4000 set) and then 16 bits of extended flags.
        flags = struct.unpack(">H", index[hit - 2 : hit])[0] if hit >= 2 else -1
        flags3 = struct.unpack(">H", index[hit - 4 : hit - 2])[0] if hit >= 4 else -1
        if flags & 0xFFF == length or (version == 3 and flags3 & 0x4FFF == 0x4000 | length):
            return True
        start = hit + 1
    return False


@dataclass
class TrustStore:
    """Trusted folders, kept in `<config>/trusted.json` as `{"trusted": [paths]}` (atomic writes).

    It also remembers the digest of each local settings file agentls wrote for the user (`"owned"`:
    path → sha256), so rules the user created by answering "always" apply in an untrusted folder,
    while a local file the repository shipped, or one changed since, does not count as the user's.
    """

    path: Path = field(default_factory=lambda: config_home() / "trusted.json")

    def _data(self) -> dict[str, Any]:
        return read_settings(self.path)

    def _save(self, data: dict[str, Any]) -> None:
        write_atomic(self.path, json.dumps(data, indent=2) + "\n")

    def folders(self) -> list[Path]:
        items = self._data().get("trusted", [])
        if not isinstance(items, list):
            raise SettingsError(f"{self.path}: `trusted` must be a list of paths")
        return [Path(p) for p in items if isinstance(p, str) and Path(p).is_absolute()]

    def owns(self, settings_file: Path) -> bool:
        """True if `settings_file` holds exactly what `own` last recorded for it (and is no symlink:
        a repository could point one at a file the user owns for another project)."""
        if settings_file.is_symlink() or settings_file.parent.is_symlink():
            return False
        owned = self._data().get("owned", {})
        digest = _digest(settings_file)
        return (
            isinstance(owned, dict)
            and digest is not None
            and owned.get(str(_canonical(settings_file))) == digest
        )

    def own(self, settings_file: Path) -> None:
        """Record the file's current content as the user's (call right after writing it)."""
        digest = _digest(settings_file)
        if digest is None:
            return
        data = self._data()
        owned = data.get("owned")
        data["owned"] = {**(owned if isinstance(owned, dict) else {}), str(_canonical(settings_file)): digest}
        self._save(data)

    def is_trusted(self, folder: Path) -> bool:
        """True if the folder's canonical path, or a parent of it, was trusted."""
        target = _canonical(folder)
        return any(target.is_relative_to(t) for t in self.folders())

    def trust(self, folder: Path) -> bool:
        """Record `folder` (canonicalised); True if the file changed."""
        target = _canonical(folder)
        current = self.folders()
        if target in current:
            return False
        data = self._data()
        data["trusted"] = [str(p) for p in [*current, target]]
        self._save(data)
        return True

    def revoke(self, folder: Path) -> bool:
        target = _canonical(folder)
        current = self.folders()
        if target not in current:
            return False
        data = self._data()
        data["trusted"] = [str(p) for p in current if p != target]
        self._save(data)
        return True


def _canonical(folder: Path) -> Path:
    return Path(os.path.realpath(folder.expanduser()))


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None

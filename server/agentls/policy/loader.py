"""Where a session's permission settings come from, loading them, and noticing when they change.

`SettingsSources` names every file of every level for one project plus the trust store. `load`
reads and merges them; `fingerprint` stats them (no reads), so the engine can reload before a
decision when anything changed, and a file watcher (the language server's) can do it eagerly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentls.policy.decision import CallFacts, Decision, PermissionMode
from agentls.policy.engine import PermissionEngine
from agentls.policy.rule_syntax import DEFAULT_KNOWN_TOOLS
from agentls.policy.settings_levels import EffectivePolicyConfig, merge
from agentls.store.settings import SettingsError
from agentls.store.settings_files import (
    LOCAL_FILES,
    MANAGED_FILES,
    PROJECT_FILES,
    SettingsFile,
    TrustStore,
    config_home,
    load_settings_files,
    user_files,
)

Fingerprint = tuple[tuple[int, int, int] | None, ...]


@dataclass(frozen=True)
class SettingsSources:
    project: Path
    home: Path = field(default_factory=Path.home)
    config: Path = field(default_factory=config_home)
    managed: tuple[Path, ...] = MANAGED_FILES
    cli: Mapping[str, Any] | None = None
    """Settings given on the command line (`--settings`) or by the editor."""
    cli_from_editor: bool = False
    """The editor passed `cli` (it may come from workspace settings): allow rules etc. need trust."""
    trust: TrustStore | None = None
    """None: `<config>/trusted.json`."""

    @property
    def trust_store(self) -> TrustStore:
        return self.trust or TrustStore(self.config / "trusted.json")

    def files(self) -> list[Path]:
        """Every file whose change can change a decision."""
        return [
            *self.managed,
            *(self.project / rel for rel in (*LOCAL_FILES, *PROJECT_FILES)),
            *user_files(self.home, self.config),
            self.trust_store.path,
        ]

    def directories(self) -> list[Path]:
        """Existing directories holding those files, for a file watcher."""
        return sorted({p.parent for p in self.files() if p.parent.is_dir()})

    def fingerprint(self) -> Fingerprint:
        return tuple(_stat(p) for p in self.files())

    def trusted(self) -> tuple[bool, list[str]]:
        try:
            return self.trust_store.is_trusted(self.project), []
        except SettingsError as err:
            return False, [f"{err}; the folder counts as untrusted"]

    def read_files(self) -> tuple[list[SettingsFile], list[str]]:
        """Every settings file of every level, highest first, and the problems reading them."""
        store = self.trust_store

        def owned(path: Path) -> bool:
            try:
                return store.owns(path)
            except SettingsError:
                return False

        return load_settings_files(
            self.project,
            home=self.home,
            config=self.config,
            cli=self.cli,
            cli_from_editor=self.cli_from_editor,
            managed=self.managed,
            owned=owned,
        )

    def load(self, known_tools: frozenset[str] = DEFAULT_KNOWN_TOOLS) -> EffectivePolicyConfig:
        files, warnings = self.read_files()
        trusted, trust_warnings = self.trusted()
        config = merge(files, trusted=trusted, cwd=self.project, home=self.home, known_tools=known_tools)
        config.warnings[:0] = [*warnings, *trust_warnings]
        return config


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class ReloadingEngine(PermissionEngine):
    """A `PermissionEngine` that re-reads its settings before a decision when a file changed."""

    def __init__(
        self,
        sources: SettingsSources,
        *,
        mode: PermissionMode | None = None,
        known_tools: frozenset[str] = DEFAULT_KNOWN_TOOLS,
    ) -> None:
        self.sources = sources
        self._known = known_tools
        self._print = sources.fingerprint()
        super().__init__(sources.load(known_tools), root=sources.project, home=sources.home, mode=mode)
        self.reloads = 0
        self.listeners: list[Callable[[], None]] = []
        """Called after each reload (the session refreshes its sandbox and hooks)."""

    def refresh(self) -> bool:
        """Reload if any settings file changed; True if it did."""
        current = self.sources.fingerprint()
        if current == self._print:
            return False
        self._print = current
        self.reconfigure(self.sources.load(self._known))
        self.reloads += 1
        for listener in self.listeners:
            listener()
        return True

    def decide(self, call: CallFacts) -> Decision:
        self.refresh()
        return super().decide(call)

    def read_denied(self, path: Path) -> bool:
        self.refresh()
        return super().read_denied(path)

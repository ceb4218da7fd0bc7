"""A session's permissions: the engine over its settings, the Bash sandbox, the hooks of every
event, and how an "always" answer is saved.

Built once per session from `SettingsSources`; when a settings file changes the engine reloads
(before its next decision, or when a watcher calls `refresh`), and the sandbox and hooks follow.
"""

from __future__ import annotations

from pathlib import Path

from agentls.core.hooks import HookRunner, hooks_by_event
from agentls.policy.decision import CallFacts, PermissionMode
from agentls.policy.loader import ReloadingEngine, SettingsSources
from agentls.policy.remember import rules_for
from agentls.policy.rule_syntax import DEFAULT_KNOWN_TOOLS
from agentls.policy.sandbox_config import sandbox_policy
from agentls.store.settings import LOCAL_SETTINGS, add_permission_rule
from agentls.tools.base import ToolContext
from agentls.workspace.port import Workspace
from agentls.workspace.sandbox import SandboxPolicy


class SessionPermissions:
    def __init__(
        self,
        sources: SettingsSources,
        *,
        mode: PermissionMode | None,
        tool_names: tuple[str, ...],
        workspace: Workspace,
        session_id: str,
        subprocess_env: dict[str, str] | None,
    ) -> None:
        self.sources = sources
        self.engine = ReloadingEngine(sources, mode=mode, known_tools=DEFAULT_KNOWN_TOOLS | set(tool_names))
        self._workspace = workspace
        self._session_id = session_id
        self._env = subprocess_env
        self._contexts: list[ToolContext] = []
        self.sandbox: SandboxPolicy | None = None
        self.hooks = HookRunner(
            workspace=workspace, session_id=session_id, env=subprocess_env, mode=lambda: self.engine.mode
        )
        self.warnings: list[str] = []
        self._rebuild()
        self.engine.listeners.append(self._rebuild)

    def _rebuild(self) -> None:
        config = self.engine.config
        self.sandbox, sandbox_warnings = sandbox_policy(
            config, root=self.sources.project, home=self.sources.home
        )
        hooks, hook_warnings = hooks_by_event(config.hooks)
        # Updated in place: a turn's ToolRunner holds this object from before the reload.
        self.hooks.set_hooks(hooks)
        self.warnings = [*self.engine.warnings, *sandbox_warnings, *hook_warnings]
        for ctx in self._contexts:
            self.attach(ctx)

    def attach(self, ctx: ToolContext) -> None:
        """Keep `ctx`'s sandbox and search filter in step with the settings."""
        if ctx not in self._contexts:
            self._contexts.append(ctx)
        ctx.sandbox = self.sandbox
        ctx.hidden = self.engine.read_denied

    def refresh(self) -> bool:
        return self.engine.refresh()

    @property
    def local_settings(self) -> Path:
        return self.sources.project / LOCAL_SETTINGS

    def remember(self, call: CallFacts, allowed: bool) -> str:
        """Save an "always"/"never" answer as rules in the project's local settings."""
        path = self.local_settings
        store = self.sources.trust_store
        was_ours = not path.exists() or store.owns(path)
        list_name = "allow" if allowed else "deny"
        rules = rules_for(call)
        if not rules:
            return (
                "Not saved as a rule: no rule can approve this command (see `agentls permissions`); "
                "the answer holds for this session"
            )
        for rule in rules:
            add_permission_rule(path, list_name, rule)
        where = f"Saved {', '.join(rules)} to permissions.{list_name} in {path}"
        if was_ours:
            store.own(path)
        elif allowed:
            where += (
                ". That file came with the repository, so its allow rules apply only once you trust "
                "the folder (`agentls trust`); this session keeps the answer"
            )
        self.engine.refresh()
        return where

"""The one place a front end gets a session from: the CLI, the language server (and later
subagents and the ACP front end) say what the user chose; everything else is decided here.

Before, `cli/run.py` and `lsp/sessions.py` each assembled a session and had drifted apart (issue
11): the server did not make room in `max_tokens` for a thinking budget (every session with
`thinking: 20000` failed), hard-coded its own turn limit, and resumed a session in the server's
root instead of the session's own directory. Here the configuration is built from what the front
end chose (`SessionSpec.config`, only the values the user actually set) over `AgentConfig`'s
defaults; a resumed session keeps its own directory and model unless the front end names others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentls.core.anthropic_model import DEFAULT_MODEL
from agentls.core.config import AgentConfig
from agentls.core.mcp_port import McpServers, McpStart, McpStarter
from agentls.core.model import Model
from agentls.core.session import Session, SessionDeps
from agentls.mcp.manager import start_servers
from agentls.policy.decision import Approver
from agentls.policy.loader import SettingsSources
from agentls.store.jsonl import read_jsonl
from agentls.store.sessions import SessionStore
from agentls.tools.registry import ToolRegistry
from agentls.workspace.port import Workspace


class SessionSetupError(Exception):
    """A session cannot be started or resumed as asked; the message is for the user."""


@dataclass(frozen=True)
class SessionSpec:
    """What the user chose for a session. Unset (None, absent) means: the resumed session's own
    value, else the settings files', else agentls' default."""

    model: str | None = None
    cwd: Path | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    """`AgentConfig` fields the user set (flags, editor options), by field name."""
    cli_settings: Mapping[str, Any] | None = None
    """Settings at the command-line level (`--settings`, the editor's `settings` option)."""
    cli_settings_from_editor: bool = False
    """They came from the editor (maybe from a workspace's settings): their allow rules need trust."""
    registry: ToolRegistry | None = None
    """Tools other than the built-in set (review sessions add ReportFinding)."""
    mcp_config: tuple[str, ...] = ()
    """MCP server files or inline JSON at the command-line level (`agentls run --mcp-config`)."""


@dataclass
class SessionFactory:
    store: SessionStore
    model_for: Callable[[str], Model]
    workspace_for: Callable[[Path], Workspace]
    approver_for: Callable[[str], Approver]
    """The approver of the session with this id (the language server names the session in its
    permission requests)."""
    default_cwd: Callable[[], Path]
    default_model: str = DEFAULT_MODEL
    mcp_servers: bool = True
    """Start the MCP servers the settings name (the offline demo does not)."""

    async def start(self, spec: SessionSpec) -> Session:
        root = self._directory(spec.cwd or self.default_cwd())
        session_id = self.store.new_id()
        deps = self._deps(session_id, spec, spec.model or self.default_model, root)
        return await Session.start(deps, session_id=session_id)

    async def resume(self, session_id: str, spec: SessionSpec) -> Session:
        """The stored session `session_id` (an id or a unique prefix), in its own directory and
        with its own model unless `spec` names others."""
        try:
            path = self.store.find(session_id)
        except LookupError as err:
            raise SessionSetupError(str(err)) from None
        header = _header(path)
        recorded_cwd = header.get("cwd")
        recorded_model = header.get("config", {}).get("model")
        root = spec.cwd or (Path(recorded_cwd) if isinstance(recorded_cwd, str) and recorded_cwd else None)
        if root is None:
            root = self.default_cwd()
        elif not root.is_dir():
            raise SessionSetupError(
                f"the session's directory {root} no longer exists; name the directory to continue it in"
            )
        if not isinstance(recorded_model, str):
            recorded_model = None
        model = spec.model or recorded_model or self.default_model
        deps = self._deps(path.stem, spec, model, self._directory(root))
        try:
            # A model the user names wins over a fallback the session switched to earlier.
            return await Session.resume(deps, path.stem, keep_fallback=spec.model is None)
        except LookupError as err:
            raise SessionSetupError(str(err)) from None

    def _deps(self, session_id: str, spec: SessionSpec, model: str, root: Path) -> SessionDeps:
        try:
            config = AgentConfig(model=model, **spec.config)
        except (ValidationError, TypeError) as err:
            raise SessionSetupError(f"invalid session settings: {_first_error(err)}") from None
        return SessionDeps(
            config=config,
            model=self.model_for(config.model),
            workspace=self.workspace_for(root),
            approver=self.approver_for(session_id),
            store=self.store,
            settings=SettingsSources(
                project=root, cli=spec.cli_settings, cli_from_editor=spec.cli_settings_from_editor
            ),
            registry=spec.registry,
            model_for=self.model_for,
            mcp=_mcp_starter(spec.mcp_config) if self.mcp_servers else None,
        )

    @staticmethod
    def _directory(path: Path) -> Path:
        path = path.expanduser()
        if not path.is_absolute() or not path.is_dir():
            raise SessionSetupError(f"{path} must be an absolute path to an existing directory")
        return path.resolve()


def _mcp_starter(mcp_config: tuple[str, ...]) -> McpStarter:
    """A session's MCP servers come from `agentls.mcp`; the session sees them through the port."""

    def start(setup: McpStart) -> McpServers:
        return start_servers(
            setup.sources,
            setup.settings,
            approver=setup.approver,
            mcp_config=mcp_config,
            subprocess_env=setup.subprocess_env,
        )

    return start


def _header(path: Path) -> dict[str, Any]:
    records = read_jsonl(path).records
    first = records[0] if records else {}
    return first if first.get("type") == "session" else {}


def _first_error(err: ValidationError | TypeError) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(err)

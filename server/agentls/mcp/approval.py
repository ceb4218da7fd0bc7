"""Whether a project's own MCP server may start: the user says so once per project.

A server from the project's files (`.mcp.json`, the project's settings) runs a program the
repository chose, so even in a trusted folder it starts only once approved, in this order:

1. Claude Code's answers, read as they are: `disabledMcpjsonServers` (never),
   `enabledMcpjsonServers` and `enableAllProjectMcpServers` (yes) in the user's, local, managed
   or command-line settings, or in the project's object in `~/.claude.json`. The project's own
   settings cannot approve its servers.
2. agentls' own store of answers (`store/mcp_approvals.py`), tied to the entry as it was approved.
3. Otherwise the session's approver asks the user, once: "yes" (once or always) and "no, never"
   are kept for the project; a plain "no" (or nobody there to answer) keeps the server off for this
   session only, so it is asked about again next time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentls.mcp.config import ServerConfig
from agentls.mcp.sources import CLAUDE_STATE, project_entry
from agentls.policy.decision import ApprovalRequest, Approver, CallFacts
from agentls.policy.loader import SettingsSources
from agentls.store.mcp_approvals import McpApprovals, entry_digest
from agentls.store.settings import SettingsError, read_settings


def needs_approval(config: ServerConfig) -> bool:
    return config.origin.level == "project"


@dataclass(frozen=True)
class ApprovalSettings:
    """Claude Code's settings about `.mcp.json` servers."""

    enable_all: bool = False
    enabled: frozenset[str] = frozenset()
    disabled: frozenset[str] = frozenset()
    where: dict[str, str] = field(default_factory=dict)
    """For each name listed, the file that listed it (to say why a server is on or off)."""


def approval_settings(sources: SettingsSources) -> ApprovalSettings:
    enable_all = False
    enabled: set[str] = set()
    disabled: set[str] = set()
    where: dict[str, str] = {}
    documents: list[tuple[Mapping[str, Any], str]] = []
    files, _ = sources.read_files()
    for f in files:
        if f.level != "project":
            documents.append((f.data, str(f.path or "the command line")))
    try:
        state = project_entry(read_settings(sources.home / CLAUDE_STATE), sources.project)
    except SettingsError:
        state = None
    if state is not None:
        documents.append((state, str(sources.home / CLAUDE_STATE)))
    for data, path in documents:
        if data.get("enableAllProjectMcpServers") is True:
            enable_all = True
            where.setdefault("*", path)
        for key, names in (("enabledMcpjsonServers", enabled), ("disabledMcpjsonServers", disabled)):
            for name in _names(data.get(key)):
                names.add(name)
                where.setdefault(f"{key}:{name}", path)
    return ApprovalSettings(enable_all, frozenset(enabled), frozenset(disabled), where)


@dataclass
class Approvals:
    """The answers for one project: known ones, and asking for the rest."""

    sources: SettingsSources
    settings: ApprovalSettings
    store: McpApprovals

    @classmethod
    def of(cls, sources: SettingsSources) -> Approvals:
        return cls(sources, approval_settings(sources), McpApprovals.in_config(sources.config))

    def known(self, config: ServerConfig) -> tuple[bool | None, str]:
        """(True, why) / (False, why) when the answer is already known; (None, "") to ask."""
        name = config.entry_name
        s = self.settings
        if name in s.disabled:
            return False, f"disabled by disabledMcpjsonServers in {s.where[f'disabledMcpjsonServers:{name}']}"
        if name in s.enabled:
            return True, f"enabled by enabledMcpjsonServers in {s.where[f'enabledMcpjsonServers:{name}']}"
        if s.enable_all:
            return True, f"enabled by enableAllProjectMcpServers in {s.where['*']}"
        answer = self.store.answer(self.sources.project, name, entry_digest(config.entry))
        if answer is True:
            return True, "you approved it for this project"
        if answer is False:
            return False, f"you declined it for this project (`agentls mcp reset {name}` to be asked again)"
        return None, ""

    async def ask(self, config: ServerConfig, approver: Approver) -> tuple[bool, str]:
        """Ask the user; keep a yes or a "never". Returns (allowed, why)."""
        where = config.origin.path or "the project's settings"
        request = ApprovalRequest(
            call_id=f"mcp-server:{config.name}",
            call=CallFacts(
                tool=f"mcp__{config.name}",
                input={"server": config.name, "transport": config.transport, "target": config.target},
                read_only=False,
                edits_files=False,
                paths=(),
                summary=f"Start the MCP server {config.name}: {config.target}",
            ),
            reason=(
                f"{where} adds the MCP server {config.name!r} ({config.transport}: {config.target}); "
                "it runs with your permissions. Use it in this project?"
            ),
        )
        try:
            response = await approver.approve(request)
        except Exception as err:  # A broken prompt is a "no", never a "yes".
            return False, f"the approval prompt failed: {err}"
        remember = response.allowed or response.choice == "reject_always"
        if remember:
            try:
                self.store.record(
                    self.sources.project, config.entry_name, entry_digest(config.entry), response.allowed
                )
            except (SettingsError, OSError) as err:
                return response.allowed, f"answered, but the answer could not be kept: {err}"
        if response.allowed:
            return True, "you approved it for this project"
        if response.choice == "reject_always":
            return False, f"you declined it for this project (`agentls mcp reset {config.name}` to ask again)"
        said = f" ({response.message})" if response.message else ""
        return False, (
            f"not approved{said}; a later session asks again (or list it in enabledMcpjsonServers "
            "in your settings)"
        )


def _names(value: object) -> Iterable[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

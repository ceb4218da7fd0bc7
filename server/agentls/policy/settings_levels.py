"""Merge the settings of every level into the configuration the permission engine runs on.

Precedence, highest first: managed, command line, local, project, user (`store.settings_files`).
- Rule arrays of all levels are *merged*, each rule keeping its source; the engine applies
  deny → ask → allow, so a deny at any level beats an allow at any other (research §1.1).
- Scalars (`defaultMode`, `env` keys, MCP servers by name, sandbox keys) take the highest level's
  value, so managed settings cannot be overridden. `disableBypassPermissionsMode` only restricts and
  counts from any level. Managed `allowManagedPermissionRulesOnly` / `allowManagedHooksOnly` /
  `allowManagedMcpServersOnly` / `sandbox.network.allowManagedDomainsOnly` drop everyone else's.
- Workspace trust (CVE-2025-59536: repository hooks and MCP servers ran before the trust dialog;
  CVE-2026-21852: a repository's `ANTHROPIC_BASE_URL` received the API key): from repository-supplied
  files of an untrusted folder, allow rules, `additionalDirectories`, hooks, MCP servers, `env`,
  helper commands, the sandbox block and loosening `defaultMode` values are ignored with a warning.
  Their deny and ask rules always apply: they can only restrict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentls.policy.decision import PERMISSION_MODES, PermissionMode
from agentls.policy.paths import canonical
from agentls.policy.rule_syntax import DEFAULT_KNOWN_TOOLS, ListKind, Rule, RuleSource, parse_rule
from agentls.store.settings_files import LEVELS, SettingsFile

TRUST_HINT = "trust the folder to apply them"
LOOSENING_MODES = frozenset({"acceptEdits", "bypassPermissions"})
CONTEXT_KEYS = ("contextWindow", "autoCompactEnabled", "context")
"""Settings that shape what the model sees of a long session (see `core.context.settings`)."""
HELPER_KEYS = ("apiKeyHelper", "awsAuthRefresh", "awsCredentialExport", "otelHeadersHelper", "statusLine")
"""Settings that name a command the agent would run."""
_KINDS: tuple[ListKind, ...] = ("deny", "ask", "allow")


@dataclass(frozen=True)
class Sourced:
    """A value passed through as data, with the file it came from."""

    value: Any
    level: str
    path: Path | None


@dataclass
class EffectivePolicyConfig:
    deny: list[Rule] = field(default_factory=list)
    ask: list[Rule] = field(default_factory=list)
    allow: list[Rule] = field(default_factory=list)
    default_mode: PermissionMode = "default"
    default_mode_source: str = "built-in default"
    additional_directories: list[Path] = field(default_factory=list)
    disable_bypass_permissions_mode: bool = False
    sandbox: dict[str, Any] = field(default_factory=dict)
    hooks: list[Sourced] = field(default_factory=list)
    """Every level's `hooks` object; hooks of all levels run."""
    mcp_servers: dict[str, Sourced] = field(default_factory=dict)
    mcp_managed_only: bool = False
    """Managed settings allow only their own MCP servers: other sources (`--mcp-config`,
    `~/.claude.json`) are ignored too (`agentls.mcp.sources`)."""
    env: dict[str, Sourced] = field(default_factory=dict)
    helpers: dict[str, Sourced] = field(default_factory=dict)
    context: list[Sourced] = field(default_factory=list)
    """Per level (highest first), the context-shaping keys (`CONTEXT_KEYS`) it sets."""
    budgets: list[Sourced] = field(default_factory=list)
    """Every level's `budget` object (budgets only restrict, so an untrusted repository's count)."""
    warnings: list[str] = field(default_factory=list)

    def rules(self, kind: ListKind) -> list[Rule]:
        return {"deny": self.deny, "ask": self.ask, "allow": self.allow}[kind]


def merge(
    files: list[SettingsFile],
    *,
    trusted: bool,
    cwd: Path,
    home: Path | None = None,
    known_tools: frozenset[str] = DEFAULT_KNOWN_TOOLS,
) -> EffectivePolicyConfig:
    """Merge `files` (any order; ordered by level, then as given) into one configuration."""
    ordered = sorted(files, key=lambda f: LEVELS.index(f.level))
    out = EffectivePolicyConfig()
    managed = [f for f in ordered if f.level == "managed"]
    only = {key for f in managed for key in _managed_switches(f.data)}
    out.mcp_managed_only = "allowManagedMcpServersOnly" in only
    for f in ordered:
        gated = not trusted and (f.repository_supplied or f.level == "project")
        _merge_file(out, f, gated, only, cwd, home, known_tools)
    if only & {"sandbox.network.allowManagedDomainsOnly"}:
        lists = [setting_at(f.data, "sandbox", "network", "allowedDomains") for f in managed]
        domains = [d for domains in lists if isinstance(domains, list) for d in domains]
        out.sandbox.setdefault("network", {})["allowedDomains"] = domains
    if out.disable_bypass_permissions_mode and out.default_mode == "bypassPermissions":
        out.warnings.append(f"defaultMode bypassPermissions from {out.default_mode_source} is disabled")
        out.default_mode, out.default_mode_source = "default", "disableBypassPermissionsMode"
    out.additional_directories = list(dict.fromkeys(out.additional_directories))
    return out


def _managed_switches(data: Mapping[str, Any]) -> list[str]:
    keys = ["allowManagedPermissionRulesOnly", "allowManagedHooksOnly", "allowManagedMcpServersOnly"]
    found = [k for k in keys if data.get(k) is True or setting_at(data, "permissions", k) is True]
    if setting_at(data, "sandbox", "network", "allowManagedDomainsOnly") is True:
        found.append("sandbox.network.allowManagedDomainsOnly")
    return found


def _merge_file(
    out: EffectivePolicyConfig,
    f: SettingsFile,
    gated: bool,
    only: set[str],
    cwd: Path,
    home: Path | None,
    known_tools: frozenset[str],
) -> None:
    where = f"{f.level} settings ({f.path if f.path is not None else 'the command line'})"
    ignored: list[str] = []
    data = f.data
    permissions = data.get("permissions", {})
    if not isinstance(permissions, Mapping):
        out.warnings.append(f"{where}: `permissions` must be an object; ignored")
        permissions = {}
    managed = f.level == "managed"
    for kind in _KINDS:
        texts = _strings(permissions.get(kind), f"{where}: permissions.{kind}", out.warnings)
        if texts and not managed and "allowManagedPermissionRulesOnly" in only:
            out.warnings.append(f"{where}: {len(texts)} {kind} rules ignored: managed rules only")
            continue
        if texts and kind == "allow" and gated:
            ignored.append(f"{len(texts)} allow rules")
            continue
        source = RuleSource(f.level, f.path, kind, f.root)
        for text in texts:
            rule = parse_rule(text, source=source, cwd=cwd, home=home, known_tools=known_tools)
            if isinstance(rule, Rule):
                out.rules(kind).append(rule)
            else:
                out.warnings.append(str(rule))
    dirs = _strings(permissions.get("additionalDirectories"), f"{where}: additionalDirectories", out.warnings)
    if dirs and gated:
        ignored.append("additionalDirectories")
    else:
        out.additional_directories += [canonical(d, f.root, home=home) for d in dirs]
    if permissions.get("disableBypassPermissionsMode") in ("disable", True):
        out.disable_bypass_permissions_mode = True
    _merge_mode(out, permissions.get("defaultMode"), f, where, gated, ignored)
    _merge_passthrough(out, f, gated, only, where, ignored)
    if ignored:
        out.warnings.append(
            f"{where}: ignored {', '.join(ignored)} because the folder is not trusted; {TRUST_HINT}"
        )


def _merge_mode(
    out: EffectivePolicyConfig, mode: object, f: SettingsFile, where: str, gated: bool, ignored: list[str]
) -> None:
    if mode is None or out.default_mode_source != "built-in default":
        return  # A higher level already chose.
    if mode not in PERMISSION_MODES:
        out.warnings.append(f"{where}: unknown defaultMode {mode!r}; ignored")
    elif gated and mode in LOOSENING_MODES:
        ignored.append(f"defaultMode {mode}")
    else:
        out.default_mode, out.default_mode_source = mode, where


def _merge_passthrough(
    out: EffectivePolicyConfig, f: SettingsFile, gated: bool, only: set[str], where: str, ignored: list[str]
) -> None:
    managed = f.level == "managed"
    hooks = f.data.get("hooks")
    if isinstance(hooks, Mapping) and hooks:
        if not managed and "allowManagedHooksOnly" in only:
            out.warnings.append(f"{where}: hooks ignored: managed hooks only")
        elif gated:
            ignored.append("hooks")
        else:
            out.hooks.append(Sourced(dict(hooks), f.level, f.path))
    servers = f.data.get("mcpServers")
    if isinstance(servers, Mapping) and servers:
        if not managed and "allowManagedMcpServersOnly" in only:
            out.warnings.append(f"{where}: MCP servers ignored: managed MCP servers only")
        elif gated:
            ignored.append(f"MCP servers ({', '.join(sorted(map(str, servers)))})")
        else:
            for name, spec in servers.items():
                out.mcp_servers.setdefault(str(name), Sourced(spec, f.level, f.path))
    env = f.data.get("env")
    helpers = [k for k in HELPER_KEYS if k in f.data]
    if gated and ((isinstance(env, Mapping) and env) or helpers):
        names = [*(map(str, env) if isinstance(env, Mapping) else ()), *helpers]
        ignored.append(f"environment overrides and helpers ({', '.join(names)})")
    else:
        if isinstance(env, Mapping):
            for key, value in env.items():
                out.env.setdefault(str(key), Sourced(str(value), f.level, f.path))
        for key in helpers:
            out.helpers.setdefault(key, Sourced(f.data[key], f.level, f.path))
    _merge_sandbox(out, f, gated, where, ignored)
    _merge_session_settings(out, f, gated, ignored)


def _merge_session_settings(
    out: EffectivePolicyConfig, f: SettingsFile, gated: bool, ignored: list[str]
) -> None:
    context = {k: f.data[k] for k in CONTEXT_KEYS if k in f.data}
    if context and gated:
        # A repository could make every session compact constantly or never: the user's call.
        ignored.append(f"context settings ({', '.join(context)})")
    elif context:
        out.context.append(Sourced(context, f.level, f.path))
    if "budget" in f.data:
        out.budgets.append(Sourced(f.data["budget"], f.level, f.path))


def _merge_sandbox(
    out: EffectivePolicyConfig, f: SettingsFile, gated: bool, where: str, ignored: list[str]
) -> None:
    sandbox = f.data.get("sandbox")
    if isinstance(sandbox, Mapping) and sandbox:
        if gated:
            ignored.append("sandbox settings")
            return
        if f.level in ("project", "local") and sandbox.get("enabled") is False:
            # Turning the sandbox off is the user's call, never the repository's.
            out.warnings.append(f"{where}: sandbox.enabled false is not honoured from {f.level} settings")
            sandbox = {k: v for k, v in sandbox.items() if k != "enabled"}
        if f.level in ("project", "local") and setting_at(sandbox, "filesystem", "disabled") is not None:
            # Honoured only from user, managed and command-line settings (research §1.5).
            out.warnings.append(
                f"{where}: sandbox.filesystem.disabled is not honoured from {f.level} settings"
            )
            sandbox = {**sandbox, "filesystem": {**sandbox["filesystem"]}}
            del sandbox["filesystem"]["disabled"]
        _fill(out.sandbox, sandbox)


def _fill(target: dict[str, Any], lower: Mapping[str, Any]) -> None:
    """Add a lower level's values: objects merge, lists are joined, scalars keep the higher value."""
    for key, value in lower.items():
        if isinstance(value, Mapping) and isinstance(target.setdefault(key, {}), dict):
            _fill(target[key], value)
        elif key not in target:
            target[key] = list(value) if isinstance(value, list) else value
        elif isinstance(target[key], dict) and isinstance(value, Mapping):
            _fill(target[key], value)
        elif isinstance(target[key], list) and isinstance(value, list):
            target[key] = [*target[key], *(v for v in value if v not in target[key])]


def _strings(value: object, where: str, warnings: list[str]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        warnings.append(f"{where} must be a list of strings; ignored")
        return []
    bad = [v for v in value if not isinstance(v, str)]
    if bad:
        warnings.append(f"{where}: {len(bad)} entries that are not strings ignored")
    return [v for v in value if isinstance(v, str)]


def setting_at(data: Mapping[str, Any], *keys: str) -> Any:
    """`data[k1][k2]…`, or None where a level is missing or not an object."""
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)  # type: ignore[assignment]
    return data

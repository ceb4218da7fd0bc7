"""The Bash sandbox a session's settings ask for (the `sandbox` block, additional directories, Read denies).

Keys (merged by `settings_levels`; a repository's `sandbox` block needs workspace trust, and
`enabled: false` counts only from user, command-line and managed settings):
- `sandbox.enabled` (default true): false runs commands without the OS sandbox.
- `sandbox.network.allowAll` (default false): share the host's network.
- `sandbox.filesystem.allowWrite`: extra writable directories (`~/x`, `//abs`, or relative to the
  project); `permissions.additionalDirectories` are writable too.
- `sandbox.filesystem.denyRead`: extra paths hidden inside the sandbox, same syntax.
Read deny rules that name one file or directory (`Read(~/.aws/**)`, `Read(//etc/shadow)`) are hidden
inside the sandbox as well, so `cat` cannot read what the Read tool may not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agentls.policy.paths import canonical
from agentls.policy.settings_levels import EffectivePolicyConfig, setting_at
from agentls.workspace.sandbox import DEFAULT_HIDDEN, SandboxPolicy

_GLOB = frozenset("*?[")


def sandbox_policy(
    config: EffectivePolicyConfig, *, root: Path, home: Path
) -> tuple[SandboxPolicy | None, list[str]]:
    """The policy, or None when the user turned the sandbox off; plus warnings."""
    block = config.sandbox
    warnings: list[str] = []
    enabled = block.get("enabled", True)
    if not isinstance(enabled, bool):
        warnings.append("sandbox.enabled must be true or false; the sandbox stays on")
        enabled = True
    if not enabled:
        return None, warnings
    network = setting_at(block, "network", "allowAll") is True
    writable = [*config.additional_directories, *_paths(block, "allowWrite", root, home, warnings)]
    hidden = [
        *DEFAULT_HIDDEN,
        *_hidden_by_rules(config),
        *_entries(_paths(block, "denyRead", root, home, warnings)),
    ]
    if (agentls_home := os.environ.get("AGENTLS_HOME")) and Path(agentls_home).is_absolute():
        hidden += _entries([Path(agentls_home)])
    policy = SandboxPolicy(
        workspace=root,
        writable=tuple(dict.fromkeys(writable)),
        allow_network=network,
        hidden=tuple(dict.fromkeys(hidden)),
        home=home,
    )
    return policy, warnings


def _paths(block: dict[str, Any], key: str, root: Path, home: Path, warnings: list[str]) -> list[Path]:
    items = setting_at(block, "filesystem", key)
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
        warnings.append(f"sandbox.filesystem.{key} must be a list of paths; ignored")
        return []
    return [canonical("/" + i[2:] if i.startswith("//") else i, root, home=home) for i in items]


def _hidden_by_rules(config: EffectivePolicyConfig) -> list[str]:
    out: list[str] = []
    for rule in config.deny:
        if rule.tool != "Read" or rule.path is None or not rule.path.pattern.startswith("/"):
            continue
        body = rule.path.pattern.removesuffix("/**").rstrip("/")
        if not body or _GLOB & set(body):
            continue
        out += _entries([Path(os.path.normpath(rule.path.base / body.lstrip("/")))])
    return out


def _entries(paths: list[Path]) -> list[str]:
    """Sandbox path entries: absolute, with a trailing `/` for directories; `/` itself is refused."""
    return [str(p) + ("/" if p.is_dir() else "") for p in paths if p.is_absolute() and p != Path("/")]

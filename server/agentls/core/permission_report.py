"""What `agentls permissions` and the `agentls.permissions` command show: the effective rules with
their sources, the mode, trust, sandbox and the hooks of every event, warnings, and the recent
decisions of this project read back from the session transcripts (every decision is a
`permission` record there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentls.core.hooks import HOOK_EVENTS, hooks_by_event, unsupported_events
from agentls.core.skills.catalog import load_skills
from agentls.mcp.sources import find_servers
from agentls.policy.decision import PermissionMode
from agentls.policy.loader import ReloadingEngine, SettingsSources
from agentls.policy.sandbox_config import sandbox_policy
from agentls.store.jsonl import read_jsonl
from agentls.store.sessions import SessionStore
from agentls.tools.registry import builtin_tools
from agentls.workspace.sandbox import SandboxStatus, check_sandbox


def permission_report(
    sources: SettingsSources,
    *,
    mode: PermissionMode | None = None,
    store: SessionStore | None = None,
    limit: int = 20,
    sandbox_status: SandboxStatus | None = None,
) -> dict[str, Any]:
    """A JSON-ready report. `sandbox_status` defaults to probing bwrap (blocking, tens of ms)."""
    engine = ReloadingEngine(sources, mode=mode)
    config = engine.config
    sandbox, sandbox_warnings = sandbox_policy(config, root=sources.project, home=sources.home)
    hooks, hook_warnings = hooks_by_event(config.hooks)
    trusted, _ = sources.trusted()
    status = sandbox_status or (check_sandbox() if sandbox is not None else None)
    return {
        "project": str(sources.project),
        "trusted": trusted,
        "mode": engine.mode,
        "modeSource": "chosen for this session" if mode else config.default_mode_source,
        "rules": [
            {"list": kind, "rule": r.text, "level": r.source.level, "file": _file(r.source.file)}
            for kind in ("deny", "ask", "allow")
            for r in config.rules(kind)
        ],
        "additionalDirectories": [str(d) for d in config.additional_directories],
        "sandbox": {
            "enabled": sandbox is not None,
            "network": bool(sandbox and sandbox.allow_network),
            "writable": [str(sources.project), *(str(p) for p in sandbox.writable)] if sandbox else [],
            "available": status.available if status else None,
            "status": status.reason if status else "turned off in the settings",
        },
        "hooks": [
            {
                "event": h.event,
                "matcher": h.matcher,
                "command": h.command,
                "timeout": h.timeout_s,
                "source": h.source,
            }
            for event in HOOK_EVENTS
            for h in hooks[event]
        ],
        "tools": tool_pool(sources, engine, trusted),
        "warnings": [*engine.warnings, *sandbox_warnings, *hook_warnings, *unsupported_events(config.hooks)],
        "recentDecisions": recent_decisions(store or SessionStore(), sources.project, limit),
    }


def tool_pool(sources: SettingsSources, engine: ReloadingEngine, trusted: bool) -> dict[str, Any]:
    """What a session here would offer the model: the built-in tools (a bare deny rule hides
    one), `Skill` with the skills it lists, and the MCP servers whose tools join once they connect."""
    skills = load_skills(sources.project, sources.home, sources.config, trusted=trusted)
    listed = [s.name for s in skills.model_invocable()]
    names = [n for n in builtin_tools().names() if n != "Skill" or listed]
    hidden = engine.hidden_tools(names)
    found = find_servers(sources, engine.config)
    return {
        "builtin": [{"name": n, "hidden": n in hidden} for n in names],
        "skills": listed,
        "mcpServers": [
            {"name": s.name, "transport": s.transport, "target": s.target, "source": s.origin.describe()}
            for s in found.servers
        ],
        "mcpWarnings": list(found.warnings),
    }


def _file(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def recent_decisions(store: SessionStore, project: Path, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` permission decisions of sessions whose directory is `project`."""
    out: list[dict[str, Any]] = []
    for info in store.list():
        if len(out) >= limit:
            break
        if (info.header or {}).get("cwd") != str(project):
            continue
        records = [r for r in read_jsonl(info.path).records if r.get("type") == "permission"]
        for record in reversed(records):
            out.append(
                {
                    "session": info.id,
                    "tool": record.get("tool"),
                    "inputDigest": record.get("input_digest"),
                    "outcome": record.get("outcome"),
                    "by": record.get("by"),
                    "stage": record.get("stage", ""),
                    "rule": record.get("rule"),
                    "mode": record.get("mode", ""),
                    "reason": record.get("reason", ""),
                    "at": record.get("at", ""),
                }
            )
            if len(out) >= limit:
                break
    return out


def format_report(report: dict[str, Any]) -> str:
    """The report as Markdown, for a terminal or an editor without a UI of its own."""
    sandbox = report["sandbox"]
    lines = [
        f"# Permissions for {report['project']}",
        "",
        f"- Mode: **{report['mode']}** ({report['modeSource']})",
        f"- Folder trusted: {'yes' if report['trusted'] else 'no (run `agentls trust` to trust it)'}",
        f"- Bash sandbox: {'on' if sandbox['enabled'] else 'OFF'}; {sandbox['status']}"
        + (f"; network {'allowed' if sandbox['network'] else 'off'}" if sandbox["enabled"] else ""),
    ]
    if report["additionalDirectories"]:
        lines.append(f"- Additional directories: {', '.join(report['additionalDirectories'])}")
    lines += ["", "## Rules (deny beats ask beats allow)", ""]
    if not report["rules"]:
        lines.append("No rules: read-only tools inside the workspace run; everything else asks.")
    for rule in report["rules"]:
        where = rule["file"] or "the command line"
        lines.append(f"- {rule['list']:5} `{rule['rule']}` ({rule['level']}: {where})")
    if report["hooks"]:
        lines += ["", "## Hooks", ""]
        for h in report["hooks"]:
            lines.append(f"- {h['event']} `{h['matcher'] or '*'}` → `{h['command']}` ({h['source']})")
    lines += _tool_lines(report["tools"])
    if report["warnings"]:
        lines += ["", "## Warnings", ""]
        lines += [f"- {w}" for w in report["warnings"]]
    lines += ["", "## Recent decisions (newest first)", ""]
    if not report["recentDecisions"]:
        lines.append("None recorded for this folder yet.")
    for d in report["recentDecisions"]:
        rule = f" by rule {d['rule']}" if d.get("rule") else ""
        lines.append(
            f"- {d['at'] or ''} {d['tool']} [{d['inputDigest']}]: **{d['outcome']}** at {d['stage'] or '?'} "
            f"(by {d['by']}, mode {d['mode'] or '?'}){rule}: {d['reason']}"
        )
    return "\n".join(lines) + "\n"


def _tool_lines(tools: dict[str, Any]) -> list[str]:
    shown = [t["name"] + (" (hidden by a deny rule)" if t["hidden"] else "") for t in tools["builtin"]]
    lines = ["", "## Tool pool", "", f"- Built-in: {', '.join(shown)}"]
    if tools["skills"]:
        lines.append(f"- Skills the model may load: {', '.join(tools['skills'])}")
    for server in tools["mcpServers"]:
        lines.append(
            f"- MCP server `{server['name']}` ({server['transport']}: {server['target']}), from "
            f"{server['source']}: its tools join as `mcp__{server['name']}__<tool>` once it connects "
            "(`agentls mcp list --check` lists them)"
        )
    lines += [f"- {w}" for w in tools["mcpWarnings"]]
    return lines

"""`agentls permissions` shows the session's tool pool: built-in tools (hidden ones marked),
`Skill` only with skills to list, and the MCP servers whose tools join when they connect."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from agentls.core.permission_report import format_report, permission_report
from agentls.policy.loader import SettingsSources
from agentls.store.sessions import SessionStore
from agentls.workspace.sandbox import SandboxStatus


def sources(tmp_path: Path, project: Path, settings: dict[str, object]) -> SettingsSources:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "settings.json").write_text(json.dumps(settings))
    return SettingsSources(project=project, home=tmp_path / "home", config=config, managed=())


def report_for(src: SettingsSources, tmp_path: Path) -> dict[str, object]:
    status = SandboxStatus(available=False, reason="not probed in this test")
    return permission_report(src, store=SessionStore(tmp_path / "sessions"), sandbox_status=status)


def test_the_pool_lists_builtins_hidden_ones_skills_and_mcp_servers(tmp_path: Path, project: Path) -> None:
    src = sources(
        tmp_path,
        project,
        {
            "permissions": {"deny": ["WebFetch", "Bash"]},
            "mcpServers": {"docs": {"command": sys.executable, "args": ["server.py"]}, "bad": {"url": "x"}},
        },
    )
    skill = tmp_path / "home" / ".claude" / "skills" / "release" / "SKILL.md"
    skill.parent.mkdir(parents=True)
    skill.write_text("---\ndescription: Cut a release\n---\nTag, build, publish.\n")
    pool = report_for(src, tmp_path)["tools"]
    assert isinstance(pool, dict)
    builtin = {t["name"]: t["hidden"] for t in pool["builtin"]}
    assert builtin["Bash"] is True and builtin["Read"] is False and "Skill" in builtin
    assert pool["skills"] == ["release"]
    [server] = pool["mcpServers"]
    assert server["name"] == "docs" and server["transport"] == "stdio"
    assert any("bad" in w for w in pool["mcpWarnings"])
    text = format_report(report_for(src, tmp_path))
    assert "## Tool pool" in text and "Bash (hidden by a deny rule)" in text
    assert "MCP server `docs` (stdio:" in text and "mcp__docs__<tool>" in text
    assert "Skills the model may load: release" in text


def test_without_skills_there_is_no_skill_tool(tmp_path: Path, project: Path) -> None:
    pool = report_for(sources(tmp_path, project, {}), tmp_path)["tools"]
    assert isinstance(pool, dict)
    assert "Skill" not in {t["name"] for t in pool["builtin"]}
    assert pool["mcpServers"] == [] and pool["skills"] == []


def test_context_groups_the_tools_it_sends_by_source() -> None:
    from agentls.core.commands.local import tool_pool

    pool = tool_pool(["Read", "Bash", "mcp__docs__search", "mcp__docs__get", "mcp__git__log_x"])
    assert pool == {"builtin": ["Read", "Bash"], "mcp": {"docs": ["search", "get"], "git": ["log_x"]}}

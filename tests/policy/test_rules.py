"""Rules saved by "always" answers, and how the simple policy applies them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentls.policy.decision import Allow, Ask, CallFacts, Deny
from agentls.policy.rules import PermissionRules, matches, rule_for
from agentls.policy.simple import SimplePolicy, is_inside
from agentls.store.settings import SettingsError, add_permission_rule, read_settings


def bash(command: str) -> CallFacts:
    return CallFacts(
        tool="Bash",
        input={"command": command},
        read_only=False,
        edits_files=False,
        paths=(),
        summary=f"Bash: {command}",
    )


def edit(path: Path, tool: str = "Edit") -> CallFacts:
    return CallFacts(
        tool=tool,
        input={"file_path": str(path)},
        read_only=False,
        edits_files=True,
        paths=(path,),
        summary=f"{tool} {path.name}",
    )


def test_rule_for_and_matches(project: Path) -> None:
    assert rule_for(bash("pytest -q")) == "Bash(pytest -q)"
    assert rule_for(edit(project / "a.py", "Write")) == "Edit"
    assert matches("Bash(pytest -q)", bash("pytest -q"))
    assert not matches("Bash(pytest -q)", bash("pytest -q; rm -rf ~"))
    assert matches("Bash", bash("anything"))
    assert matches("Edit", edit(project / "a.py", "Write"))
    assert not matches("Bash(pytest", bash("pytest"))
    assert not matches("Read(./x)", bash("cat x"))


def test_policy_applies_rules_inside_the_workspace_only(project: Path) -> None:
    rules = PermissionRules(allow=("Edit", "Bash(make)"), deny=("Bash(rm -rf build)",))
    policy = SimplePolicy(project, "default", rules)
    assert isinstance(policy.decide(edit(project / "a.py")), Allow)
    assert isinstance(policy.decide(edit(project.parent / "elsewhere.py")), Ask)
    assert isinstance(policy.decide(bash("make")), Allow)
    assert isinstance(policy.decide(bash("make install")), Ask)
    assert isinstance(policy.decide(bash("rm -rf build")), Deny)
    # A deny rule holds even in bypassPermissions; plan mode ignores allow rules for changes.
    assert isinstance(SimplePolicy(project, "bypassPermissions", rules).decide(bash("rm -rf build")), Deny)
    assert isinstance(SimplePolicy(project, "plan", rules).decide(bash("make")), Deny)


def test_inside_compares_components_and_resolves_links(project: Path, tmp_path: Path) -> None:
    evil = project.parent / (project.name + "_evil")
    evil.mkdir()
    assert not is_inside(evil / "x", project)
    assert is_inside(project / "sub" / ".." / "x", project)
    (project / "out").symlink_to(tmp_path)
    assert not is_inside(project / "out" / "x", project)


def test_settings_rules_are_added_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / ".agentls" / "settings.local.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"model": "keep-me", "permissions": {"allow": ["Edit"]}}))
    assert add_permission_rule(path, "allow", "Bash(make)")
    assert not add_permission_rule(path, "allow", "Bash(make)")
    assert add_permission_rule(path, "deny", "Bash(rm -rf /)")
    data = read_settings(path)
    assert data["model"] == "keep-me"
    assert data["permissions"] == {"allow": ["Edit", "Bash(make)"], "deny": ["Bash(rm -rf /)"]}
    assert PermissionRules.from_settings(data).allow == ("Edit", "Bash(make)")


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"permissions": []}'])
def test_broken_settings_are_reported(tmp_path: Path, text: str) -> None:
    path = tmp_path / "settings.local.json"
    path.write_text(text)
    with pytest.raises(SettingsError, match=r"settings\.local\.json"):
        data = read_settings(path)
        add_permission_rule(path, "allow", "Edit")
        assert data  # Unreachable for every case: one of the two calls raises.

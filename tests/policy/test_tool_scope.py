"""`ToolScope` / `ScopedPolicy`: a custom command's `allowed-tools` narrow a turn, never widen it."""

from __future__ import annotations

from pathlib import Path

from agentls.policy.decision import Allow, Ask, CallFacts, Decision, Deny, PermissionMode
from agentls.policy.tool_scope import ScopedPolicy, ToolScope


def bash(command: str) -> CallFacts:
    return CallFacts(
        "Bash", {"command": command}, read_only=False, edits_files=False, paths=(), summary=command
    )


def edit(path: Path) -> CallFacts:
    return CallFacts(
        "Edit", {"file_path": str(path)}, read_only=False, edits_files=True, paths=(path,), summary=""
    )


class AllowAll:
    """The session's policy, as permissive as it gets: whatever the scope lets through is allowed."""

    mode: PermissionMode = "bypassPermissions"

    def decide(self, call: CallFacts) -> Decision:
        return Allow("inner")

    def settle(self, decision: Decision) -> Decision:
        return decision

    def hidden_tools(self, names: object) -> frozenset[str]:
        return frozenset({"TodoWrite"})


def scope(project: Path, *rules: str) -> ToolScope:
    return ToolScope.parse(rules, label="/cmd (allowed-tools)", root=project, home=project / "home")


def test_bash_specifiers_match_every_command_of_the_line(project: Path) -> None:
    s = scope(project, "Bash(git diff:*)", "Bash(git status)")
    assert s.permits(bash("git diff HEAD~1"))
    assert s.permits(bash("git status && git diff"))
    assert not s.permits(bash("git diff; rm -rf build"))
    assert not s.permits(bash("git status --short"))
    assert not s.permits(bash("git diff $(rm -rf ~)"))  # Substitution blocks prefix matching.


def test_path_rules_and_hidden_tools(project: Path) -> None:
    s = scope(project, "Read", "Edit(src/**)")
    assert s.permits(edit(project / "src" / "a.py"))
    assert not s.permits(edit(project / "README.md"))
    # `Read` covers the file-reading tools; `Edit` the editing ones; nothing names Bash.
    assert s.hidden(["Read", "Glob", "Grep", "Edit", "Write", "Bash"]) == frozenset({"Bash"})


def test_scoped_policy_denies_first_and_only_narrows(project: Path) -> None:
    policy = ScopedPolicy(AllowAll(), scope(project, "Bash(ls:*)"))
    denied = policy.decide(bash("rm -rf build"))
    assert isinstance(denied, Deny) and denied.rule == "allowed-tools of /cmd (allowed-tools)"
    assert "Bash(ls:*)" in denied.reason
    assert isinstance(policy.decide(bash("ls -la")), Allow)
    assert policy.hidden_tools(["Bash", "Read", "TodoWrite"]) == frozenset({"Read", "TodoWrite"})
    assert policy.mode == "bypassPermissions"
    ask = Ask("x")
    assert policy.settle(ask) is ask


def test_bad_rules_are_warnings_and_match_nothing(project: Path) -> None:
    s = scope(project, "Frobnicate", "Bash(unbalanced")
    assert s.rules == ()
    assert len(s.warnings) == 2 and "Frobnicate" in s.warnings[0]
    assert not s.permits(bash("ls"))
    assert s.names() == "no tools"

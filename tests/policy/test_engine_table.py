"""The permission engine, table-driven: one row per attack or everyday call, with settings and mode.

Each row builds real settings files (merged by `settings_levels`), asks the engine about a call
built by the real tool (so paths resolve as in a session), settles the mode, and checks the outcome
and, where it matters, the stage that decided.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agentls.policy.decision import Allow, Ask, CallFacts, Decision, Deny, PermissionMode
from agentls.policy.engine import PermissionEngine
from agentls.policy.settings_levels import merge
from agentls.store.settings_files import Level, SettingsFile
from agentls.tools.registry import builtin_tools


@dataclass(frozen=True)
class Row:
    id: str
    tool: str
    input: dict[str, Any]
    expect: str
    """allow, ask or deny, after the mode settles."""
    mode: PermissionMode = "default"
    settings: dict[Level, dict[str, Any]] = field(default_factory=dict)
    trusted: bool = True
    stage: str | None = None


def perms(
    allow: list[str] | None = None, ask: list[str] | None = None, deny: list[str] | None = None
) -> dict:
    return {"permissions": {"allow": allow or [], "ask": ask or [], "deny": deny or []}}


def user(**kw: list[str]) -> dict[Level, dict[str, Any]]:
    return {"user": perms(**kw)}


def bash(command: str) -> dict[str, Any]:
    return {"command": command}


def path(p: str) -> dict[str, Any]:
    return {"file_path": p}


RM_DENIED = user(deny=["Bash(rm *)"])
ECHO_ALLOWED = user(allow=["Bash(echo *)"])
REDIRECTS = [
    ("truncate", "echo x > f"),
    ("append", "echo x >> f"),
    ("both", "echo x &> f"),
    ("clobber", "echo x >| f"),
    ("dup-file", "echo x >& f"),
    ("fd-numbered", "echo x 1> f"),
    ("both-append", "echo x &>> f"),
]
CHAIN_60 = " && ".join(["true"] * 60) + " && rm x"
LONG = "echo " + "a" * 10_001

ROWS = [
    # Compound lines: every part must be allowed on its own.
    Row(
        "git-status-then-rm-home",
        "Bash",
        bash("git status && rm -rf ~"),
        "ask",
        settings=user(allow=["Bash(git status *)"]),
    ),
    Row(
        "git-status-alone",
        "Bash",
        bash("git status"),
        "allow",
        settings=user(allow=["Bash(git status *)"]),
        stage="allow",
    ),
    Row(
        "git-status-then-rm",
        "Bash",
        bash("git status; rm x"),
        "ask",
        settings=user(allow=["Bash(git status *)"]),
    ),
    Row(
        "git-status-pipe-sh",
        "Bash",
        bash("git status | sh"),
        "ask",
        settings=user(allow=["Bash(git status *)"]),
    ),
    Row("60-true-then-rm", "Bash", bash(CHAIN_60), "deny", settings=RM_DENIED, stage="deny"),
    Row(
        "60-true-then-rm-allowed-true",
        "Bash",
        bash(CHAIN_60),
        "deny",
        settings=user(allow=["Bash(true)"], deny=["Bash(rm *)"]),
    ),
    # Normalisation and wrappers against a deny rule.
    Row("rm", "Bash", bash("rm x"), "deny", settings=RM_DENIED),
    Row("env-prefix", "Bash", bash("FOO=1 rm x"), "deny", settings=RM_DENIED),
    Row("timeout", "Bash", bash("timeout 5 rm x"), "deny", settings=RM_DENIED),
    Row("backslash", "Bash", bash("r\\m x"), "deny", settings=RM_DENIED),
    Row("quoted-abs", "Bash", bash("'/bin/rm' x"), "deny", settings=RM_DENIED),
    Row("double-quoted", "Bash", bash('"rm" x'), "deny", settings=RM_DENIED),
    Row("ansi-c", "Bash", bash("$'\\x72m' x"), "deny", settings=RM_DENIED),
    Row("nice", "Bash", bash("nice -n 5 rm x"), "deny", settings=RM_DENIED),
    Row("nohup", "Bash", bash("nohup rm x"), "deny", settings=RM_DENIED),
    Row("time", "Bash", bash("time rm x"), "deny", settings=RM_DENIED),
    Row("stdbuf", "Bash", bash("stdbuf -o0 rm x"), "deny", settings=RM_DENIED),
    Row("command", "Bash", bash("command rm x"), "deny", settings=RM_DENIED),
    Row("env-wrapper", "Bash", bash("env A=1 rm x"), "deny", settings=RM_DENIED),
    Row("sudo", "Bash", bash("sudo rm x"), "deny", settings=RM_DENIED),
    Row("xargs", "Bash", bash("ls | xargs rm"), "deny", settings=RM_DENIED),
    Row("after-or", "Bash", bash("true || rm x"), "deny", settings=RM_DENIED),
    Row("background", "Bash", bash("rm x &"), "deny", settings=RM_DENIED),
    Row("subshell", "Bash", bash("(cd src && rm x)"), "deny", settings=RM_DENIED),
    Row("substitution", "Bash", bash("echo $(rm x)"), "deny", settings=RM_DENIED),
    Row("backticks", "Bash", bash("echo `rm x`"), "deny", settings=RM_DENIED),
    Row("bash-c", "Bash", bash("bash -c 'rm x'"), "deny", settings=RM_DENIED),
    Row("sh-c-double", "Bash", bash('sh -c "rm -rf build"'), "deny", settings=RM_DENIED),
    Row("eval", "Bash", bash('eval "rm x"'), "deny", settings=RM_DENIED),
    Row("find-exec", "Bash", bash("find . -name '*.o' -exec rm {} \\;"), "deny", settings=RM_DENIED),
    Row("heredoc-to-sh", "Bash", bash("cat <<EOF | sh\nrm x\nEOF"), "deny", settings=RM_DENIED),
    Row("watch", "Bash", bash("watch rm x"), "deny", settings=RM_DENIED),
    Row("deny-in-bypass", "Bash", bash("rm -rf build"), "deny", mode="bypassPermissions", settings=RM_DENIED),
    Row("deny-in-accept-edits", "Bash", bash("rm x"), "deny", mode="acceptEdits", settings=RM_DENIED),
    Row("expansion-in-name", "Bash", bash("rm${IFS}-rf x"), "ask", settings=RM_DENIED),
    Row(
        "expansion-in-name-dontask", "Bash", bash("rm${IFS}-rf x"), "deny", mode="dontAsk", settings=RM_DENIED
    ),
    # Substitution, inline scripts and dangerous options are never approved by a prefix rule.
    Row(
        "cat-ssh-in-substitution",
        "Bash",
        bash("echo $(cat ~/.ssh/id_rsa)"),
        "ask",
        settings=user(allow=["Bash(echo *)", "Bash(cat *)"]),
    ),
    Row(
        "cat-ssh-in-substitution-denied",
        "Bash",
        bash("echo $(cat ~/.ssh/id_rsa)"),
        "deny",
        settings=user(deny=["Read(~/.ssh/**)"]),
    ),
    Row("cat-ssh-denied", "Bash", bash("cat ~/.ssh/id_rsa"), "deny", settings=user(deny=["Read(~/.ssh/**)"])),
    Row("bash-c-curl", "Bash", bash("bash -c 'curl evil'"), "ask", settings=user(allow=["Bash(bash *)"])),
    Row(
        "bash-c-curl-denied",
        "Bash",
        bash("bash -c 'curl evil'"),
        "deny",
        settings=user(deny=["Bash(curl *)"]),
    ),
    Row(
        "git-c-pager",
        "Bash",
        bash("git -c core.pager='sh -c id' log"),
        "ask",
        settings=user(allow=["Bash(git *)"]),
    ),
    Row("git-log-allowed", "Bash", bash("git log --oneline"), "allow", settings=user(allow=["Bash(git *)"])),
    Row(
        "git-diff-output",
        "Bash",
        bash("git diff --output=/tmp/x"),
        "ask",
        settings=user(allow=["Bash(git diff *)"]),
    ),
    Row(
        "git-diff-allowed", "Bash", bash("git diff HEAD"), "allow", settings=user(allow=["Bash(git diff *)"])
    ),
    Row("pager-env", "Bash", bash("PAGER='sh -c id' git log"), "ask", settings=user(allow=["Bash(git *)"])),
    Row("sed-i", "Bash", bash("sed -i s/a/b/ f.txt"), "ask", settings=user(allow=["Bash(sed *)"])),
    Row("rg-pre", "Bash", bash("rg --pre ./x foo"), "ask", settings=user(allow=["Bash(rg *)"])),
    Row(
        "xargs-allowed",
        "Bash",
        bash("ls | xargs cat"),
        "ask",
        settings=user(allow=["Bash(ls *)", "Bash(xargs *)"]),
    ),
    Row(
        "python-c",
        "Bash",
        bash("python -c 'import os'"),
        "ask",
        settings=user(allow=["Bash(python -m pytest *)"]),
    ),
    Row(
        "python-pytest",
        "Bash",
        bash("python -m pytest -q"),
        "allow",
        settings=user(allow=["Bash(python -m pytest *)"]),
    ),
    Row(
        "legacy-colon-star",
        "Bash",
        bash("npm run test"),
        "allow",
        settings=user(allow=["Bash(npm run test:*)"]),
    ),
    Row(
        "legacy-colon-star-other",
        "Bash",
        bash("npm run testx"),
        "ask",
        settings=user(allow=["Bash(npm run test:*)"]),
    ),
    Row("word-boundary", "Bash", bash("lsof -i"), "ask", settings=user(allow=["Bash(ls *)"])),
    Row(
        "redirect-not-approved-by-exact-rule",
        "Bash",
        bash("echo hi > src/app.py"),
        "ask",
        settings=user(allow=["Bash(echo hi)"]),
    ),
    # Writes that other programs act on (protected paths), and critical removals.
    Row(
        "git-hook-redirect",
        "Bash",
        bash("echo x > .git/hooks/pre-commit"),
        "ask",
        settings=user(allow=["Bash(echo *)"]),
        stage="check",
    ),
    Row(
        "git-hook-redirect-bypass",
        "Bash",
        bash("echo x > .git/hooks/pre-commit"),
        "ask",
        mode="bypassPermissions",
    ),
    Row("git-hook-redirect-dontask", "Bash", bash("echo x > .git/hooks/pre-commit"), "deny", mode="dontAsk"),
    Row(
        "tee-vscode",
        "Bash",
        bash("echo {} | tee .vscode/settings.json"),
        "ask",
        settings=user(allow=["Bash(echo *)", "Bash(tee *)"]),
    ),
    Row(
        "cp-to-bashrc",
        "Bash",
        bash("cp evil ~/.bashrc"),
        "ask",
        mode="bypassPermissions",
        settings=user(allow=["Bash(cp *)"]),
    ),
    Row(
        "rm-root",
        "Bash",
        bash("rm -rf /"),
        "ask",
        mode="bypassPermissions",
        settings=user(allow=["Bash(rm *)"]),
    ),
    Row("rm-home", "Bash", bash("rm -rf ~"), "ask", mode="bypassPermissions"),
    # The read-only set.
    Row("ls", "Bash", bash("ls -la"), "allow", stage="check"),
    Row("cat-inside", "Bash", bash("cat README.md"), "allow"),
    Row("grep-chain", "Bash", bash("grep -n foo src && wc -l README.md"), "allow"),
    Row("echo-dev-null", "Bash", bash("echo hi > /dev/null"), "allow"),
    Row("cat-outside", "Bash", bash("cat ../../etc/passwd"), "ask"),
    Row("cat-shadow-chained", "Bash", bash("ls; cat /etc/shadow"), "ask"),
    Row("redirect-inside", "Bash", bash("echo hi > out.txt"), "ask", mode="acceptEdits"),
    Row("make", "Bash", bash("make"), "ask"),
    Row("make-dontask", "Bash", bash("make"), "deny", mode="dontAsk", stage="mode"),
    Row("make-bypass", "Bash", bash("make"), "allow", mode="bypassPermissions", stage="mode"),
    Row("ls-dontask", "Bash", bash("ls"), "allow", mode="dontAsk"),
    Row("unparsable", "Bash", bash('echo "unterminated'), "ask"),
    Row("unparsable-bypass", "Bash", bash('echo "unterminated'), "ask", mode="bypassPermissions"),
    Row("too-long", "Bash", bash(LONG), "ask", settings=user(allow=["Bash(echo *)"])),
    Row("too-long-with-rm", "Bash", bash("rm x; " + LONG), "deny", settings=RM_DENIED),
    # Paths: traversal, prefixes, symlinks, hard links, protected names.
    Row("read-traversal", "Read", path("../../etc/passwd"), "ask"),
    Row("read-traversal-dontask", "Read", path("../../etc/passwd"), "deny", mode="dontAsk"),
    Row("read-inside", "Read", path("README.md"), "allow"),
    Row("read-sibling-prefix", "Read", path("{evil}/x"), "ask"),
    Row(
        "edit-sibling-prefix",
        "Edit",
        {"file_path": "{evil}/x", "old_string": "a", "new_string": "b"},
        "ask",
        mode="acceptEdits",
        settings={"local": perms(allow=["Edit(/**)"])},
    ),
    Row("read-link-to-denied", "Read", path("key"), "deny", settings=user(deny=["Read(~/.ssh/**)"])),
    Row("read-link-to-outside", "Read", path("key"), "ask"),
    Row(
        "edit-hardlink-out",
        "Edit",
        {"file_path": "linked.txt", "old_string": "a", "new_string": "b"},
        "deny",
        mode="bypassPermissions",
    ),
    Row(
        "accept-edits-src",
        "Edit",
        {"file_path": "src/a.py", "old_string": "a", "new_string": "b"},
        "allow",
        mode="acceptEdits",
        stage="mode",
    ),
    Row(
        "accept-edits-git-config",
        "Edit",
        {"file_path": ".git/config", "old_string": "a", "new_string": "b"},
        "ask",
        mode="acceptEdits",
    ),
    Row(
        "accept-edits-git-case",
        "Write",
        {"file_path": ".GIT/hooks/pre-commit", "content": "x"},
        "ask",
        mode="acceptEdits",
    ),
    Row(
        "accept-edits-vscode",
        "Write",
        {"file_path": ".vscode/settings.json", "content": "{}"},
        "ask",
        mode="acceptEdits",
    ),
    Row(
        "accept-edits-claude",
        "Write",
        {"file_path": ".claude/settings.json", "content": "{}"},
        "ask",
        mode="acceptEdits",
    ),
    Row("accept-edits-envrc", "Write", {"file_path": ".envrc", "content": "x"}, "ask", mode="acceptEdits"),
    Row(
        "accept-edits-husky",
        "Write",
        {"file_path": ".husky/pre-commit", "content": "x"},
        "ask",
        mode="acceptEdits",
    ),
    Row("accept-edits-mcp", "Write", {"file_path": ".mcp.json", "content": "{}"}, "ask", mode="acceptEdits"),
    Row(
        "bypass-own-settings",
        "Write",
        {"file_path": ".agentls/settings.local.json", "content": "{}"},
        "ask",
        mode="bypassPermissions",
    ),
    Row(
        "protected-with-allow-rule",
        "Edit",
        {"file_path": ".git/config", "old_string": "a", "new_string": "b"},
        "ask",
        settings=user(allow=["Edit"]),
    ),
    Row(
        "bare-edit-rule-outside",
        "Write",
        {"file_path": "/tmp/agentls-never/x", "content": "x"},
        "ask",
        settings=user(allow=["Edit"]),
    ),
    Row(
        "edit-rule-src",
        "Edit",
        {"file_path": "src/a.py", "old_string": "a", "new_string": "b"},
        "allow",
        settings={"local": perms(allow=["Edit(src/**)"])},
    ),
    Row(
        "edit-rule-docs",
        "Write",
        {"file_path": "docs/x.md", "content": "x"},
        "ask",
        settings={"local": perms(allow=["Edit(src/**)"])},
    ),
    Row("read-env-denied", "Read", path(".env"), "deny", settings={"project": perms(deny=["Read(./.env)"])}),
    Row(
        "edit-env-denied-by-read-rule",
        "Write",
        {"file_path": ".env", "content": "x"},
        "deny",
        settings={"project": perms(deny=["Read(./.env)"])},
    ),
    Row(
        "grep-env-denied",
        "Bash",
        bash("grep SECRET .env"),
        "deny",
        settings={"project": perms(deny=["Read(./.env)"])},
    ),
    Row("floating-secrets", "Read", path("a/secrets/k"), "deny", settings=user(deny=["Read(secrets/**)"])),
    Row(
        "plan-edit",
        "Edit",
        {"file_path": "src/a.py", "old_string": "a", "new_string": "b"},
        "deny",
        mode="plan",
        stage="mode",
    ),
    Row("plan-read", "Read", path("README.md"), "allow", mode="plan"),
    Row("plan-ls", "Bash", bash("ls"), "allow", mode="plan"),
    Row("plan-make", "Bash", bash("make"), "deny", mode="plan", settings=user(allow=["Bash(make)"])),
    # Levels and trust.
    Row(
        "user-deny-beats-project-allow",
        "Bash",
        bash("npm publish"),
        "deny",
        settings={"user": perms(deny=["Bash(npm publish *)"]), "project": perms(allow=["Bash(npm *)"])},
    ),
    Row(
        "project-allow-trusted",
        "Bash",
        bash("npm test"),
        "allow",
        settings={"user": perms(deny=["Bash(npm publish *)"]), "project": perms(allow=["Bash(npm *)"])},
    ),
    Row(
        "project-allow-untrusted",
        "Bash",
        bash("make all"),
        "ask",
        settings={"project": perms(allow=["Bash(make *)"])},
        trusted=False,
    ),
    Row(
        "project-deny-untrusted",
        "Read",
        path(".env"),
        "deny",
        settings={"project": perms(deny=["Read(./.env)"])},
        trusted=False,
    ),
    Row(
        "project-ask-untrusted",
        "Bash",
        bash("git push origin"),
        "ask",
        mode="bypassPermissions",
        settings={"project": perms(ask=["Bash(git push *)"])},
        trusted=False,
    ),
    Row(
        "untrusted-bypass-mode",
        "Bash",
        bash("make"),
        "ask",
        settings={"project": {"permissions": {"defaultMode": "bypassPermissions"}}},
        trusted=False,
    ),
    Row(
        "managed-deny-beats-cli-allow",
        "Bash",
        bash("curl x"),
        "deny",
        settings={"managed": perms(deny=["Bash(curl *)"]), "cli": perms(allow=["Bash(curl *)"])},
    ),
    Row(
        "managed-disables-bypass",
        "Bash",
        bash("make"),
        "ask",
        mode="bypassPermissions",
        settings={"managed": {"permissions": {"disableBypassPermissionsMode": "disable"}}},
    ),
    Row(
        "ask-rule-beats-allow",
        "Bash",
        bash("git push origin main"),
        "ask",
        settings=user(allow=["Bash(git *)"], ask=["Bash(git push *)"]),
        stage="ask",
    ),
    Row(
        "ask-rule-bypass",
        "Bash",
        bash("git push"),
        "ask",
        mode="bypassPermissions",
        settings=user(ask=["Bash(git push *)"]),
    ),
    Row(
        "ask-rule-dontask",
        "Bash",
        bash("git push"),
        "deny",
        mode="dontAsk",
        settings=user(ask=["Bash(git push *)"]),
    ),
    Row(
        "bare-edit-deny",
        "Write",
        {"file_path": "a.txt", "content": "x"},
        "deny",
        mode="bypassPermissions",
        settings=user(deny=["Edit"]),
    ),
    Row(
        "additional-dir-read",
        "Read",
        path("{extra}/notes.md"),
        "allow",
        settings={"user": {"permissions": {"additionalDirectories": ["{extra}"]}}},
    ),
    Row(
        "additional-dir-edit",
        "Write",
        {"file_path": "{extra}/notes.md", "content": "x"},
        "allow",
        mode="acceptEdits",
        settings={"user": {"permissions": {"additionalDirectories": ["{extra}"]}}},
    ),
    # A Bash allow rule covers the command, not the files its redirections write (issue 10).
    *(
        Row(f"redirect-{name}-dontask", "Bash", bash(line), "deny", mode="dontAsk", settings=ECHO_ALLOWED)
        for name, line in REDIRECTS
    ),
    Row(
        "redirect-git-log-dontask",
        "Bash",
        bash("git log -1 > f"),
        "deny",
        mode="dontAsk",
        settings=user(allow=["Bash(git *)"]),
    ),
    Row(
        "redirect-dev-null",
        "Bash",
        bash("echo x > /dev/null"),
        "allow",
        mode="dontAsk",
        settings=ECHO_ALLOWED,
    ),
    Row(
        "redirect-stderr-null",
        "Bash",
        bash("echo x 2>/dev/null"),
        "allow",
        mode="dontAsk",
        settings=ECHO_ALLOWED,
    ),
    Row("redirect-to-fd", "Bash", bash("echo x 2>&1"), "allow", mode="dontAsk", settings=ECHO_ALLOWED),
    Row(
        "redirect-with-edit-rule",
        "Bash",
        bash("echo x > out.txt"),
        "allow",
        mode="dontAsk",
        settings={"project": perms(allow=["Bash(echo *)", "Edit(/out.txt)"])},
    ),
    Row(
        "redirect-accept-edits-inside",
        "Bash",
        bash("echo x >> out.txt"),
        "allow",
        mode="acceptEdits",
        settings=ECHO_ALLOWED,
    ),
    Row(
        "redirect-accept-edits-outside",
        "Bash",
        bash("echo x > /tmp/out.txt"),
        "ask",
        mode="acceptEdits",
        settings=ECHO_ALLOWED,
    ),
    Row(
        "redirect-named-by-the-rule",
        "Bash",
        bash("echo hi > notes.txt"),
        "allow",
        mode="dontAsk",
        settings=user(allow=["Bash(echo hi > notes.txt)"]),
    ),
    Row(
        "redirect-named-rule-other-file",
        "Bash",
        bash("echo hi > src/a.py"),
        "deny",
        mode="dontAsk",
        settings=user(allow=["Bash(echo hi > notes.txt)"]),
    ),
    Row(
        "redirect-in-chain",
        "Bash",
        bash("echo ok && echo x > f"),
        "deny",
        mode="dontAsk",
        settings=ECHO_ALLOWED,
    ),
]


def facts_for_tool(tool: str, data: dict[str, Any], root: Path) -> CallFacts:
    if tool == "WebFetch" or tool.startswith("mcp__"):
        return CallFacts(tool, data, False, False, (), tool)
    impl = builtin_tools().get(tool)
    assert impl is not None
    args = impl.parse(data)
    return CallFacts(
        tool=tool,
        input=data,
        read_only=impl.read_only,
        edits_files=impl.edits_files,
        paths=impl.paths(args, root),
        summary=impl.summary(args, root),
    )


@dataclass
class World:
    root: Path
    home: Path
    extra: Path
    evil: Path

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("{evil}", str(self.evil)).replace("{extra}", str(self.extra))
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value

    def engine(self, row: Row) -> PermissionEngine:
        files = []
        for level, data in row.settings.items():
            where = {
                "managed": (self.root.parent / "etc" / "managed-settings.json", self.root.parent / "etc"),
                "cli": (None, self.root),
                "local": (self.root / ".agentls/settings.local.json", self.root),
                "project": (self.root / ".agentls/settings.json", self.root),
                "user": (self.home / ".config/agentls/settings.json", self.home / ".config/agentls"),
            }[level]
            files.append(
                SettingsFile(level, where[0], self.fill(data), where[1], level in ("project", "local"))
            )
        config = merge(files, trusted=row.trusted, cwd=self.root, home=self.home)
        return PermissionEngine(config, root=self.root, home=self.home, mode=row.mode)


@pytest.fixture
def world(tmp_path: Path) -> World:
    base = tmp_path.resolve()
    root = base / "srv" / "proj"
    home = base / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("secret")
    for d in ("src", ".git/hooks", "docs", "a/secrets"):
        (root / d).mkdir(parents=True)
    (root / "README.md").write_text("hi\n")
    (root / "src" / "a.py").write_text("a\n")
    (root / ".git" / "config").write_text("a\n")
    (root / ".env").write_text("SECRET=1\n")
    (root / "a/secrets/k").write_text("k\n")
    (root / "key").symlink_to(home / ".ssh" / "id_rsa")
    outside = base / "outside.txt"
    outside.write_text("a\n")
    os.link(outside, root / "linked.txt")
    evil = base / "srv" / "proj_evil"
    evil.mkdir()
    extra = base / "extra"
    extra.mkdir()
    (extra / "notes.md").write_text("n\n")
    return World(root, home, extra, evil)


KINDS: dict[str, type[Decision]] = {"allow": Allow, "ask": Ask, "deny": Deny}


def test_the_table_is_big_enough() -> None:
    assert len(ROWS) >= 80
    assert len({r.id for r in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_engine_table(world: World, row: Row) -> None:
    engine = world.engine(row)
    call = facts_for_tool(row.tool, world.fill(row.input), world.root)
    decided = engine.decide(call)
    settled = engine.settle(decided)
    assert isinstance(settled, KINDS[row.expect]), (decided, settled)
    if row.stage is not None:
        assert settled.stage == row.stage, settled


def test_rules_of_other_tools_and_mcp(world: World) -> None:
    row = Row(
        "x",
        "WebFetch",
        {},
        "ask",
        settings=user(allow=["WebFetch(domain:example.com)"], deny=["mcp__github"]),
    )
    engine = world.engine(row)
    fetch = CallFacts("WebFetch", {"url": "https://docs.example.com/x"}, True, False, (), "")
    assert isinstance(
        engine.decide(CallFacts("WebFetch", {"url": "https://example.com/x"}, True, False, (), "")), Allow
    )
    assert isinstance(engine.decide(fetch), Allow)  # read-only, no paths: nothing to confine
    mcp = CallFacts("mcp__github__create_issue", {}, False, False, (), "")
    assert isinstance(engine.decide(mcp), Deny)
    assert engine.hidden_tools(["mcp__github__create_issue", "Read"]) == {"mcp__github__create_issue"}


def test_bare_deny_hides_tools_and_read_denies_hide_files(world: World) -> None:
    engine = world.engine(Row("x", "Read", {}, "ask", settings=user(deny=["Bash", "Edit", "Read(./.env)"])))
    assert engine.hidden_tools(["Bash", "Edit", "Write", "Read", "Grep"]) == {"Bash", "Edit", "Write"}
    assert engine.read_denied(world.root / ".env")
    assert not engine.read_denied(world.root / "README.md")


def test_decisions_name_the_rule_and_its_file(world: World) -> None:
    engine = world.engine(Row("x", "Bash", {}, "deny", settings=RM_DENIED))
    decision = engine.decide(facts_for_tool("Bash", bash("FOO=1 rm -rf x"), world.root))
    assert isinstance(decision, Deny)
    assert decision.stage == "deny"
    assert decision.rule is not None
    assert (
        "Bash(rm *)" in decision.rule and str(world.home / ".config/agentls/settings.json") in decision.rule
    )


def test_set_mode_refuses_bypass_when_managed_disables_it(world: World) -> None:
    managed = {"managed": {"permissions": {"disableBypassPermissionsMode": "disable"}}}
    engine = world.engine(Row("x", "Bash", {}, "ask", settings=managed))
    assert engine.set_mode("bypassPermissions") is not None
    assert engine.mode == "default"
    assert engine.set_mode("acceptEdits") is None
    assert engine.mode == "acceptEdits"

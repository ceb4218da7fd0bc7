"""Claude Code's rule syntax: parsing, anchors, warnings, and matching (table-driven)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentls.policy.decision import CallFacts
from agentls.policy.rule_syntax import ListKind, Rule, RuleSource, RuleWarning, parse_rule


@dataclass(frozen=True)
class Env:
    cwd: Path
    home: Path
    user_root: Path


@pytest.fixture
def env(tmp_path: Path) -> Env:
    cwd = (tmp_path / "proj").resolve()
    home = (tmp_path / "home").resolve()
    for d in (cwd / "src" / "a", cwd / "sub" / "deep", cwd / "secrets", home / ".agentls", home / ".ssh"):
        d.mkdir(parents=True)
    return Env(cwd, home, home / ".agentls")


def parse(env: Env, text: str, kind: ListKind = "deny", level: str = "project") -> Rule | RuleWarning:
    root = env.user_root if level == "user" else env.cwd
    source = RuleSource(level, root / "settings.json", kind, root)
    return parse_rule(text, source=source, cwd=env.cwd, home=env.home)


def rule(env: Env, text: str, kind: ListKind = "deny", level: str = "project") -> Rule:
    parsed = parse(env, text, kind, level)
    assert isinstance(parsed, Rule), parsed
    return parsed


def call(tool: str, *paths: Path, **inputs: object) -> CallFacts:
    return CallFacts(
        tool, dict(inputs), tool in ("Read", "Grep", "Glob"), tool in ("Edit", "Write"), paths, tool
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Bash(git diff", "unbalanced"),
        ("Bash)", "unbalanced"),
        ("Bash(a))", "unbalanced"),
        ('Bash(echo "x)', "unbalanced"),
        ("Bash()", "empty specifier"),
        ("Bash(   )", "empty specifier"),
        ("Bash(command:rm *)", "main field"),
        ("Read(file_path:/etc/passwd)", "main field"),
        ("bash", "did you mean 'Bash'"),
        ("Frobnicate", "unknown tool"),
        ("Frobnicate(x)", "unknown tool"),
        ("", "not a tool name"),
        ("mcp__*", "glob after the server"),
        ("mcp__srv__tool(x)", "no specifier"),
        ("Write(src/**)", "never consulted"),
        ("Glob(*.py)", "never consulted"),
        ("WebFetch(example.com)", "domain:"),
        ("WebFetch(domain:exa mple.com)", "domain:"),
        ("TodoWrite(x)", "does not take a specifier"),
        ("Read(!x)", "negated"),
        ("Read(~bob/x)", "~user"),
        ("Read(a/../../b)", "`..`"),
        ("Bash(run_in_background:true)", "parameters"),
        ("Read(a\\)", "gitignore-style"),
    ],
)
def test_malformed_and_unknown_rules_are_warnings(env: Env, text: str, fragment: str) -> None:
    parsed = parse(env, text)
    assert isinstance(parsed, RuleWarning)
    assert fragment in str(parsed)
    assert "project settings" in str(parsed)


@pytest.mark.parametrize(
    ("text", "tool", "expected"),
    [
        ("Bash", "Bash", True),
        ("Bash(*)", "Bash", True),
        ("Bash", "Read", False),
        ("Edit", "Write", True),
        ("Edit", "NotebookEdit", True),
        ("Edit", "Read", False),
        ("Read", "Grep", True),
        ("Read", "Edit", False),
        ("WebSearch", "WebSearch", True),
        ("Task", "Agent", True),
        ("mcp__github", "mcp__github__create_issue", True),
        ("mcp__github", "mcp__githubx__create_issue", False),
        ("mcp__github__create_issue", "mcp__github__create_issue", True),
        ("mcp__github__create_issue", "mcp__github__delete_repo", False),
        ("mcp__github__get_*", "mcp__github__get_issue", True),
        ("mcp__github__get_*", "mcp__github__delete_repo", False),
        ("mcp__github__*", "mcp__gitlab__x", False),
    ],
)
def test_tool_names(env: Env, text: str, tool: str, expected: bool) -> None:
    assert rule(env, text, "allow").matches(call(tool)) is expected


def test_bash_specifiers_go_to_the_matcher_and_fail_closed_without_it(env: Env) -> None:
    seen: list[str | None] = []

    def matcher(r: Rule, c: CallFacts) -> bool:
        seen.append(r.specifier)
        return str(c.input["command"]).startswith("git diff")

    deny = rule(env, "Bash(git diff *)")
    legacy = rule(env, "Bash(npm run test:*)", "allow")
    assert deny.matches(call("Bash", command="git diff x"), bash_matcher=matcher)
    assert not deny.matches(call("Bash", command="ls"), bash_matcher=matcher)
    assert seen == ["git diff *", "git diff *"]
    assert legacy.specifier == "npm run test:*"
    # No analyser: a restrictive rule holds, an allow rule grants nothing.
    assert deny.matches(call("Bash", command="ls"))
    assert not legacy.matches(call("Bash", command="npm run test"))


@pytest.mark.parametrize(
    ("text", "url", "expected"),
    [
        ("WebFetch(domain:example.com)", "https://example.com/x", True),
        ("WebFetch(domain:example.com)", "https://EXAMPLE.com./x", True),
        ("WebFetch(domain:example.com)", "https://sub.example.com/x", False),
        ("WebFetch(domain:example.com)", "https://example.com.evil.io/", False),
        ("WebFetch(domain:*.example.com)", "https://a.example.com/", True),
        ("WebFetch(domain:*.example.com)", "https://example.com/", False),
        ("WebFetch(domain:example.com)", "https://evil.com\x00.example.com/", False),
        ("WebFetch(domain:example.com)", "https://evil.com\\@example.com/", False),
        ("WebFetch(domain:example.com)", "https://example.com@evil.com/", False),
        ("WebFetch(domain:example.com)", "https://exa%6Dple.com/", False),
        ("WebFetch(domain:example.com)", "file:///etc/passwd", False),
    ],
)
def test_webfetch_domains_as_allow(env: Env, text: str, url: str, expected: bool) -> None:
    assert rule(env, text, "allow").matches(call("WebFetch", url=url)) is expected


@pytest.mark.parametrize(
    "url", ["http://[::1", "https://evil.com\\@example.com/", "https://exa%6Dple.com/", 3]
)
def test_webfetch_ambiguous_url_matches_deny_not_allow(env: Env, url: object) -> None:
    bad = call("WebFetch", url=url)
    assert rule(env, "WebFetch(domain:example.com)", "deny").matches(bad)
    assert not rule(env, "WebFetch(domain:example.com)", "allow").matches(bad)


@pytest.mark.parametrize(
    ("text", "bare"),
    [
        ("Bash", True),
        ("Bash(*)", True),
        ("Bash(ls *)", False),
        ("Read(.env)", False),
        ("mcp__s", True),
        ("mcp__s__*", False),
        ("WebFetch(domain:a.io)", False),
    ],
)
def test_bare_rules(env: Env, text: str, bare: bool) -> None:
    assert rule(env, text).is_bare is bare


def test_agent_specifier(env: Env) -> None:
    r = rule(env, "Agent(Explore)")
    assert r.matches(call("Task", subagent_type="Explore"))
    assert not r.matches(call("Task", subagent_type="general"))


@pytest.mark.parametrize(
    ("text", "kind", "rel", "expected"),
    [
        ("Read(.env)", "deny", ".env", True),
        ("Read(.env)", "deny", "sub/deep/.env", True),
        ("Read(./.env)", "deny", "sub/.env", True),
        ("Read(.env)", "deny", "sub/.envrc", False),
        ("Read(*.env)", "deny", "sub/prod.env", True),
        ("Edit(src/**)", "allow", "src/a/b.py", True),
        ("Edit(src/**)", "allow", "srcx/a.py", False),
        ("Edit(src/**)", "allow", "sub/src/a.py", False),
        ("Edit(src/**)", "deny", "sub/src/a.py", True),
        ("Read(secrets/**)", "deny", "sub/secrets/k", True),
        ("Read(./secrets/**)", "ask", "sub/secrets/k", True),
        ("Read(src/a/*.py)", "deny", "src/a/x.py", True),
        ("Read(src/a/*.py)", "deny", "sub/src/a/x.py", False),
        ("Read(/src/**)", "deny", "src/x", True),
        ("Read(/src/**)", "deny", "sub/src/x", False),
        ("Read(.)", "allow", "sub/deep/x", True),
        ("Read(src/)", "allow", "src/a/x.py", True),
        ("Read(src/)", "allow", "sub/src/x.py", False),
        ("Read(src/)", "deny", "sub/src/x.py", True),
        ("Read(#notes)", "deny", "#notes", True),
    ],
)
def test_cwd_relative_patterns(env: Env, text: str, kind: ListKind, rel: str, expected: bool) -> None:
    tool = "Edit" if text.startswith("Edit") else "Read"
    assert rule(env, text, kind).matches(call(tool, env.cwd / rel)) is expected


def test_anchors(env: Env) -> None:
    assert rule(env, "Read(//etc/passwd)").matches(call("Read", Path("/etc/passwd")))
    assert not rule(env, "Read(//etc/passwd)").matches(call("Read", env.cwd / "etc/passwd"))
    assert rule(env, "Read(//etc)").matches(call("Read", Path("/etc/shadow")))
    ssh = rule(env, "Read(~/.ssh/**)")
    assert ssh.matches(call("Read", env.home / ".ssh/id_rsa"))
    assert not ssh.matches(call("Read", env.cwd / ".ssh/id_rsa"))
    assert str(ssh.path) == f"{env.home.as_posix()}/.ssh/**"
    # `/p` is relative to the settings file's root: a user-level `/secrets` is not the project's.
    user = rule(env, "Read(/secrets/**)", level="user")
    assert user.matches(call("Read", env.user_root / "secrets/k"))
    assert not user.matches(call("Read", env.cwd / "secrets/k"))
    assert rule(env, "Read(/secrets/**)").matches(call("Read", env.cwd / "secrets/k"))
    assert rule(env, "Read(../other/**)").matches(call("Read", env.cwd.parent / "other/x"))
    assert rule(env, "Read(~)").matches(call("Read", env.home / "any/file"))
    assert not rule(env, "Read(~)").matches(call("Read", env.cwd / "any/file"))


def test_path_rules_canonicalise_the_call_path(env: Env) -> None:
    deny = rule(env, "Read(//etc/**)")
    assert deny.matches(call("Read", env.cwd / "../../../../../../../etc/passwd"))
    assert not rule(env, "Read(./**)", "allow").matches(call("Read", env.cwd / "../../etc/passwd"))


def test_symlink_to_denied_target_is_denied(env: Env) -> None:
    key = env.home / ".ssh" / "id_rsa"
    key.write_text("secret")
    link = env.cwd / "notes.txt"
    link.symlink_to(key)
    assert rule(env, "Read(~/.ssh/**)").matches(call("Read", link))
    # ... and a deny on the link's name holds whatever it points to.
    assert rule(env, "Read(notes.txt)").matches(call("Read", link))


def test_symlink_allow_needs_both_link_and_target(env: Env) -> None:
    target = env.cwd / "src" / "a" / "real.py"
    target.write_text("")
    inside = env.cwd / "src" / "alias.py"
    inside.symlink_to(target)
    outside_target = env.home / "x.py"
    outside_target.write_text("")
    escape = env.cwd / "src" / "escape.py"
    escape.symlink_to(outside_target)
    allow = rule(env, "Edit(src/**)", "allow")
    assert allow.matches(call("Edit", inside))
    assert not allow.matches(call("Edit", escape))
    assert not rule(env, "Edit(src/a/**)", "allow").matches(call("Edit", inside))


def test_all_paths_for_allow_any_path_for_deny(env: Env) -> None:
    two = call("Edit", env.cwd / "src/a.py", env.cwd / "other.py")
    assert not rule(env, "Edit(src/**)", "allow").matches(two)
    assert rule(env, "Edit(other.py)", "deny").matches(two)


def test_read_deny_blocks_edits_but_read_allow_does_not_grant_them(env: Env) -> None:
    path = env.cwd / ".env"
    assert rule(env, "Read(.env)", "deny").matches(call("Write", path))
    assert rule(env, "Read(.env)", "ask").matches(call("Edit", path))
    assert not rule(env, "Read(.env)", "allow").matches(call("Write", path))
    assert rule(env, "Edit(.env)", "deny").matches(call("Write", path))


def test_calls_without_absolute_paths_fail_closed(env: Env) -> None:
    assert rule(env, "Read(.env)", "deny").matches(call("Grep"))
    assert rule(env, "Read(.env)", "deny").matches(call("Read", Path("relative/.env")))
    assert not rule(env, "Read(**)", "allow").matches(call("Read"))


def test_directory_pattern_with_trailing_slash(env: Env) -> None:
    r = rule(env, "Read(secrets/)")
    assert r.matches(call("Grep", env.cwd / "secrets"))
    assert r.matches(call("Read", env.cwd / "secrets" / "k"))


def test_rule_keeps_its_source(env: Env) -> None:
    r = rule(env, "  Bash(ls *)  ", "ask", "user")
    assert r.text == "Bash(ls *)"
    assert r.source.kind == "ask"
    assert r.source.level == "user"
    assert "user settings" in r.source.describe()
    assert r.describe().startswith("Bash(ls *) from user settings (")
    assert r.describe().endswith("permissions.ask")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tool=st.sampled_from(["Read", "Edit", "Bash", "WebFetch", "Task", "mcp__s", "Write", "X"]),
    spec=st.text(alphabet="ab/.*~?[]!#\\:() -_", max_size=12) | st.none(),
    kind=st.sampled_from(["allow", "ask", "deny"]),
)
def test_any_text_parses_to_a_rule_or_a_warning_and_matching_never_raises(
    env: Env, tool: str, spec: str | None, kind: ListKind
) -> None:
    text = tool if spec is None else f"{tool}({spec})"
    parsed = parse(env, text, kind)
    assert isinstance(parsed, Rule | RuleWarning)
    if isinstance(parsed, Rule):
        for c in (
            call("Read", env.cwd / "a" / ".env"),
            call("Edit", env.cwd / "src/x"),
            call("WebFetch", url="x"),
        ):
            parsed.matches(c)


def test_a_pattern_re_would_warn_about_parses_quietly(tmp_path: Path) -> None:
    """`[[]` (a set holding `[`) made `re` raise a FutureWarning, an error under the test settings."""
    import warnings

    from agentls.policy.rule_syntax import PathPattern

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pattern = PathPattern.make(tmp_path, "[[]")
    assert pattern.matches(tmp_path / "[")
    assert not pattern.matches(tmp_path / "a")

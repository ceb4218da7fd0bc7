"""Property: a denied subcommand can never hide inside a composed command string."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from agentls.policy.decision import PERMISSION_MODES, CallFacts, PermissionMode
from agentls.policy.engine import PermissionEngine
from agentls.policy.settings_levels import merge
from agentls.policy.shell import analyze
from agentls.store.settings_files import SettingsFile

SAFE = ["ls -la", "git status", "echo hi", "cat README.md", "true", "pwd", "grep -n foo src", "wc -l f"]
ALLOW = ["Bash(ls *)", "Bash(git status *)", "Bash(echo *)", "Bash(cat *)", "Bash(true)", "Bash(pwd)"]
ALLOW += ["Bash(grep *)", "Bash(wc *)", "Bash(timeout *)", "Bash(env *)", "Bash(bash *)", "Bash(eval *)"]
DENY = "Bash(rm *)"

NAMES = [
    "rm",
    "'rm'",
    '"rm"',
    "r\\m",
    "\\rm",
    "r''m",
    '"r"m',
    "'r'\"m\"",
    "'r'\\m",
    '"r"\\m',
    "$'\\x{72}m'",
    "$'rm'",
    "$'\\x72m'",
    "$'\\162m'",
    "/bin/rm",
    "/usr/bin/rm",
    "'/bin/rm'",
]
ARGS = ["-rf X", "'-rf' \"X\"", "-r\\f X", "-rf -- X", "-rf \\\n X"]
WRAPPERS = [
    "timeout 5",
    "timeout -s KILL 5",
    "nice -n 5",
    "nice -5",
    "nohup",
    "time",
    "stdbuf -oL",
    "command",
    "builtin",
    "noglob",
    "xargs",
    "env",
    "env FOO=1",
    "sudo",
    "exec",
    "sudo FOO=1",
]
ASSIGNMENTS = ["", "FOO=1", "A=1 B='x y'"]
"""Only before the first word: after a wrapper, `FOO=1` is the program to run (so rm would not run)."""
SEPARATORS = [" && ", " || ", "; ", ";", " | ", " |& ", " & ", "\n", " &&\n"]
CONTAINERS = [
    "{}",
    "( {} )",
    "{{ {}; }}",
    "if true; then {}; fi",
    "if false; then :; else {}; fi",
    "while false; do {}; done",
    "for i in 1; do {}; done",
    "case a in a) {};; esac",
    "! {}",
    "f() {{ {}; }}; f",
    "echo $({})",
    'echo "$({})"',
    "echo `{}`",
    "cat <({})",
    "{} # trailing comment",
    "{} &",
    "cat <<EOF && {}\nbody\nEOF",
]


@st.composite
def denied(draw: st.DrawFn) -> str:
    wrappers = draw(st.lists(st.sampled_from(WRAPPERS), max_size=3))
    words = [
        draw(st.sampled_from(ASSIGNMENTS)),
        *wrappers,
        draw(st.sampled_from(NAMES)),
        draw(st.sampled_from(ARGS)),
    ]
    command = " ".join(w for w in words if w)
    container = draw(st.sampled_from([*CONTAINERS, "bash -c", "sh -c", "eval"]))
    if container in ("bash -c", "sh -c", "eval"):
        return f"{container} {shlex.quote(command)}"
    return container.format(command)


@st.composite
def composed(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(SAFE), max_size=5))
    parts.insert(draw(st.integers(0, len(parts))), draw(denied()))
    text = parts[0]
    for part in parts[1:]:
        text += draw(st.sampled_from(SEPARATORS)) + part
    return text


def _engine() -> PermissionEngine:
    source = SettingsFile("user", Path("/home/u/.config/agentls/settings.json"), {}, Path("/home/u"))
    data = {"permissions": {"allow": ALLOW, "deny": [DENY]}}
    config = merge([replace(source, data=data)], trusted=True, cwd=ROOT, home=Path("/home/u"))
    return PermissionEngine(config, root=ROOT, home=Path("/home/u"))


ROOT = Path("/srv/proj")
ENGINE = _engine()


def decide(command: str, mode: PermissionMode = "default") -> str:
    """The real permission engine, settled for a mode: "allow", "ask" or "deny"."""
    ENGINE.set_mode(mode)
    call = CallFacts("Bash", {"command": command}, False, False, (), command)
    decision = ENGINE.settle(ENGINE.decide(call))
    return type(decision).__name__.lower()


@settings(max_examples=300, deadline=None)
@given(composed())
def test_denied_subcommand_is_never_hidden(command: str) -> None:
    analysis = analyze(command)
    names = {c.name for c in analysis.commands}
    flagged = analysis.unparsable or analysis.has_substitution or analysis.has_eval_like
    assert "rm" in names or flagged or analysis.has_expansion_in_command_name, (command, analysis)
    # Stronger than the flags: a literal rm is found even inside substitutions and inline scripts.
    assert "rm" in names or analysis.unparsable, (command, analysis)


@settings(max_examples=300, deadline=None)
@given(composed())
def test_command_with_denied_subcommand_is_never_allowed(command: str) -> None:
    analysis = analyze(command)
    for mode in PERMISSION_MODES:
        assert decide(command, mode) != "allow", (mode, command, analysis)
    if not analysis.unparsable:
        assert decide(command) == "deny", (command, analysis)

"""Claude Code's `Bash(...)` rule syntax, matched against one analysed simple command.

The matched text is `command_line(cmd)`: the normalised, wrapper-stripped argv joined with single
spaces, so quoting, escapes, `/bin/` prefixes, wrappers and double spaces cannot dodge a rule. The
rule's own words are normalised the same way (`Bash("rm" *)` is `Bash(rm *)`); a quoted `*` in a rule
is a literal star.
"""

from __future__ import annotations

import re
from functools import lru_cache

from agentls.policy.shell_types import SimpleCommand
from agentls.policy.shell_words import WORDISH, Word, WordReader, parse_tree
from agentls.policy.shell_wrappers import program_name


def command_line(cmd: SimpleCommand) -> str:
    """What rules are matched against: argv joined with single spaces."""
    return " ".join(cmd.argv)


def command_text(cmd: SimpleCommand) -> str:
    """`command_line` plus the redirections (`echo hi >> notes.txt`, `make 2>&1`): what allow rules
    match, so `Bash(echo hi)` does not also approve `echo hi > src/app.py`."""
    parts = [command_line(cmd)]
    for redirect in cmd.redirects:
        op = redirect.op
        parts.append(f"{op}{redirect.target}" if op.endswith("&") else f"{op} {redirect.target}")
    return " ".join(p for p in parts if p)


def matches_prefix(rule_pattern: str, cmd: SimpleCommand, *, with_redirects: bool = False) -> bool:
    """Whether a `Bash(...)` rule (or its bare specifier) matches this one simple command.

    - `Bash`, `Bash(*)`: every command.
    - `Bash(npm run test:*)`: the legacy `:*` suffix, only at the end: `npm run test` itself or followed by
      a space (`npm run test unit`), never `npm run testx` or `npm run test:unit`; the same as ` *`.
    - `*` anywhere matches any characters, spaces included (`Bash(git * main)`).
    - A trailing ` *` (space, star) is a word boundary: `Bash(ls *)` matches `ls` and `ls -la`, not `lsof`.
    - Anything else is an exact match on the normalised command line.
    An empty or malformed rule matches nothing. `with_redirects` matches `command_text` instead.
    """
    specifier = _specifier(rule_pattern)
    if specifier is None:
        return False
    text = command_text(cmd) if with_redirects else command_line(cmd)
    return _compile(specifier).fullmatch(text) is not None


def _specifier(rule: str) -> str | None:
    rule = rule.strip()
    if rule == "Bash":
        return "*"
    if rule.startswith("Bash(") and rule.endswith(")"):
        rule = rule[5:-1].strip()
    elif rule.startswith("Bash(") or (rule.endswith(")") and "(" in rule):
        return None
    return rule or None


@lru_cache(maxsize=1024)
def _compile(specifier: str) -> re.Pattern[str]:
    if specifier == "*":
        return re.compile(".*", re.DOTALL)
    if specifier.endswith(":*"):
        words = _rule_words(specifier[:-2])
        base = " ".join(w.value for w in words) if words is not None else " ".join(specifier[:-2].split())
        return re.compile(re.escape(base) + "(?: .*)?", re.DOTALL)
    words = _rule_words(specifier)
    if words is None:
        raw = specifier.split()
        words = [Word(part, stars=tuple(i for i, ch in enumerate(part) if ch == "*")) for part in raw]
    pieces: list[str] = []
    for index, word in enumerate(words):
        if index and index == len(words) - 1 and word.value == "*" and word.stars == (0,):
            pieces.append("(?: .*)?")
            break
        if index:
            pieces.append(" ")
        pieces.extend(".*" if pos in word.stars else re.escape(ch) for pos, ch in enumerate(word.value))
    return re.compile("".join(pieces), re.DOTALL)


def _rule_words(specifier: str) -> list[Word] | None:
    """The rule's words, unescaped like a command's; None if it is not one plain command."""
    root = parse_tree(specifier).root_node
    statements = [c for c in root.named_children if c.type != "comment"]
    if root.has_error or len(statements) != 1 or statements[0].type != "command":
        return None
    problems: list[str] = []
    reader = WordReader(lambda _node: problems.append("substitution"), problems.append)
    words: list[Word] = []
    for child in statements[0].children:
        if child.type == "command_name" and child.child_count == 1:
            first = reader.read(child.children[0])
            words.append(Word(program_name(first.value), stars=first.stars) if first.literal else first)
        elif child.type in WORDISH:
            words.append(reader.read(child))
        else:
            return None
    return None if problems else words

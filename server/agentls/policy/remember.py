"""The rules an "always" answer records, in Claude Code's syntax.

- A file edit records `Edit`: every edit inside the workspace (the engine still asks for edits
  outside it and for protected paths, whatever the rule).
- A Bash line records one exact rule per simple command, its words shell-quoted so the rule reads
  back as the same command (`Bash(pytest -k 'a or b')`), redirections included: an allow rule
  matches them, so `Bash(echo hi)` does not approve `echo hi > src/app.py`. Prefix rules
  (`Bash(npm run test *)`) are for the user to write: guessing a prefix from one command would
  allow far more than was approved.
- A line no rule can approve (substitution, `sed -i`, `FOO=1 make`, `echo $HOME`…) records nothing:
  `Bash(make)` would allow what was not approved and still not match the line. The answer then holds
  for the session only.
- Anything else records the bare tool name.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from agentls.policy.decision import CallFacts

if TYPE_CHECKING:
    from agentls.policy.shell import SimpleCommand


def rules_for(call: CallFacts) -> list[str]:
    if call.edits_files:
        return ["Edit"]
    if call.tool != "Bash":
        return [call.tool]
    from agentls.policy.shell import analyze  # With the first Bash answer, not at start-up.

    command = call.input.get("command")
    analysis = analyze(command if isinstance(command, str) else "")
    if analysis.blocks_auto_approval or any(c.env or c.dynamic_args or not c.argv for c in analysis.commands):
        return []  # No rule could ever approve this line (or the rule would allow something else).
    rules = [f"Bash({_words(cmd)})" for cmd in analysis.commands]
    return list(dict.fromkeys(rules))


def _words(cmd: SimpleCommand) -> str:
    words = [shlex.quote(w) for w in cmd.argv]
    for redirect in cmd.redirects:
        target = shlex.quote(redirect.target)
        words.append(f"{redirect.op}{target}" if redirect.op.endswith("&") else f"{redirect.op} {target}")
    return " ".join(words)

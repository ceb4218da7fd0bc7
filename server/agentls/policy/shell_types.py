"""The values shell-command analysis produces; see `agentls.policy.shell` for the rules behind them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Redirect:
    """One redirection, e.g. `2>` to `err.log`. `op` carries the file descriptor when one is written.

    `target` is the unescaped word (`~` is kept, the policy expands it); for a here-document it is the
    delimiter. `literal` is False when the target contains an expansion or a glob, so nobody can know
    the file before the shell runs.
    """

    op: str
    target: str
    literal: bool = True


@dataclass(frozen=True)
class SimpleCommand:
    """One command that could run, after unescaping, wrapper stripping and env-prefix removal."""

    argv: tuple[str, ...]
    """Normalised words: quotes and escapes removed, the path of an absolute command name dropped."""
    raw: str
    """The source text this command came from."""
    env: tuple[str, ...] = ()
    """Leading `NAME=value` assignments (also those given to `env`), normalised."""
    redirects: tuple[Redirect, ...] = ()
    wrappers_stripped: tuple[str, ...] = ()
    """Wrapper words removed before matching, in order, e.g. `("timeout 5", "nice -n 5")`."""
    dangerous_reasons: tuple[str, ...] = ()
    """Why a prefix rule must never auto-approve this command (empty when nothing was found)."""
    dynamic_args: bool = False
    """Some argument contains a parameter, arithmetic, command or brace expansion."""
    glob_args: bool = False
    """Some argument contains an unquoted glob (`*`, `?`, `[...]`)."""
    origin: str = ""
    """Where it was found when not at the top level: `substitution`, `bash -c`, `eval`, `find -exec`…"""

    @property
    def name(self) -> str:
        return self.argv[0] if self.argv else ""


@dataclass(frozen=True)
class ShellAnalysis:
    """Everything `analyze` found in one command string."""

    command: str
    commands: tuple[SimpleCommand, ...] = ()
    unparsable: bool = False
    too_long: bool = False
    has_substitution: bool = False
    has_eval_like: bool = False
    has_expansion_in_command_name: bool = False
    problems: tuple[str, ...] = ()
    """Human-readable reasons for the flags above, for prompts and the audit log."""

    @property
    def must_ask(self) -> bool:
        """The parser cannot vouch for this command: a human has to look (issue 4: "always ask")."""
        return self.unparsable or self.too_long

    @property
    def blocks_auto_approval(self) -> bool:
        """No prefix rule and no read-only shortcut may approve this command on its own."""
        return (
            self.must_ask
            or self.has_substitution
            or self.has_eval_like
            or self.has_expansion_in_command_name
            or any(c.dangerous_reasons for c in self.commands)
        )

    @property
    def reasons(self) -> tuple[str, ...]:
        """All problems plus every command's dangerous reasons, de-duplicated, in order."""
        seen: dict[str, None] = dict.fromkeys(self.problems)
        for cmd in self.commands:
            seen.update(dict.fromkeys(f"{cmd.name or '(assignment)'}: {r}" for r in cmd.dangerous_reasons))
        return tuple(seen)

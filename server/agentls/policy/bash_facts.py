"""What a Bash call means to the permission engine: its shell analysis and the files it reads and writes.

The analysis is cached by command string (the engine looks at a call several times and the model
repeats commands). Target paths are made absolute against the workspace root with `~` expanded;
a target after a `cd` is relative to an unknown directory, which `shell_danger` already flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from agentls.policy.decision import CallFacts
from agentls.policy.paths import canonical
from agentls.policy.shell import (
    ShellAnalysis,
    analyze,
    is_read_only,
    read_targets,
    redirect_write_targets,
    write_targets,
)


@dataclass(frozen=True)
class BashFacts:
    analysis: ShellAnalysis
    reads: tuple[Path, ...]
    writes: tuple[Path, ...]
    redirect_writes: tuple[tuple[Path, ...], ...] = ()
    """For each command of `analysis.commands`, the files its redirections write."""

    def as_read(self, call: CallFacts) -> CallFacts | None:
        """The reads as a Read call, so Read rules apply to `cat x` as to the Read tool."""
        return _derived(call, "Read", self.reads, read_only=True)

    def as_write(self, call: CallFacts) -> CallFacts | None:
        """The writes as an Edit call, so Edit rules apply to `echo x > f` and `tee f`."""
        return _derived(call, "Edit", self.writes, read_only=False)


def _derived(call: CallFacts, tool: str, paths: tuple[Path, ...], *, read_only: bool) -> CallFacts | None:
    if not paths:
        return None
    return CallFacts(
        tool=tool,
        input=call.input,
        read_only=read_only,
        edits_files=not read_only,
        paths=paths,
        summary=call.summary,
    )


@lru_cache(maxsize=256)
def _analysis(command: str) -> ShellAnalysis:
    return analyze(command)


def only_reads(command: str) -> bool:
    """The line only reads, as the engine judges it before "read-only inside the workspace": it
    parses, nothing in it blocks auto-approval (substitution, eval, a dangerous form, an env
    assignment that matters), and every command is of the read-only set with no write target (no
    redirection into a file: `/dev/null` and descriptor dups are not writes). So `cd x && ls`,
    `ls > out.txt`, `ls | tee x` and an unparsable line do not. The tool runner lets such Bash
    calls run beside each other; the engine's decision is not changed by it."""
    return is_read_only(_analysis(command))


def bash_facts(command: str, root: Path, home: Path) -> BashFacts:
    analysis = _analysis(command)
    reads: dict[Path, None] = {}
    writes: dict[Path, None] = {}
    redirects: list[tuple[Path, ...]] = []
    for cmd in analysis.commands:
        reads.update(dict.fromkeys(_resolve(t, root, home) for t in read_targets(cmd)))
        writes.update(dict.fromkeys(_resolve(t, root, home) for t in write_targets(cmd)))
        redirects.append(tuple(_resolve(t, root, home) for t in redirect_write_targets(cmd)))
    return BashFacts(analysis, tuple(reads), tuple(writes), tuple(redirects))


def _resolve(target: str, root: Path, home: Path) -> Path:
    return canonical(target, root, home=home)

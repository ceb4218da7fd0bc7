"""A tiny getopt for reading the options of the commands the shell analysis knows about.

Only what the analysis needs: which options were given (with their values) and where the operands
are. Options not declared are accepted as flags unless the caller passes a closed set, in which case
parsing stops with `ok=False` so the caller can refuse to guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Parsed:
    options: list[tuple[str, str | None]] = field(default_factory=list)
    """`("-n", "5")`, `("--output", "x")`, `("-v", None)`; short clusters are split."""
    operands: list[str] = field(default_factory=list)
    end: int = 0
    """Index just past what was read: the first operand when parsing stopped there."""
    ok: bool = True

    def has(self, *names: str) -> bool:
        return any(name in names for name, _ in self.options)

    def values(self, *names: str) -> list[str]:
        return [v for name, v in self.options if name in names and v is not None]


def parse(
    args: Sequence[str],
    *,
    short_arg: str = "",
    short_flag: str | None = None,
    long_arg: frozenset[str] = frozenset(),
    long_flag: frozenset[str] | None = None,
    stop_at_operand: bool = True,
) -> Parsed:
    """Read `args` (without the command name). `short_flag`/`long_flag` of None accept any flag."""
    out = Parsed()
    i = 0
    only_operands = False
    while i < len(args):
        arg = args[i]
        if only_operands or arg == "-" or not arg.startswith("-"):
            if stop_at_operand:
                break
            out.operands.append(arg)
            i += 1
            continue
        if arg == "--":
            i += 1
            if stop_at_operand:
                break
            only_operands = True
            continue
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if name[2:] in long_arg:
                if eq:
                    out.options.append((name, value))
                elif i + 1 < len(args):
                    out.options.append((name, args[i + 1]))
                    i += 1
                else:
                    out.ok = False
                    break
            elif long_flag is None or name[2:] in long_flag:
                out.options.append((name, value if eq else None))
            else:
                out.ok = False
                break
            i += 1
            continue
        i = _short_cluster(args, i, short_arg, short_flag, out)
        if not out.ok:
            break
    out.end = i
    if stop_at_operand and out.ok:
        out.operands = list(args[i:])
    return out


def _short_cluster(args: Sequence[str], i: int, short_arg: str, short_flag: str | None, out: Parsed) -> int:
    arg = args[i]
    for pos in range(1, len(arg)):
        letter = arg[pos]
        if letter in short_arg:
            rest = arg[pos + 1 :]
            if rest:
                out.options.append((f"-{letter}", rest))
                return i + 1
            if i + 1 < len(args):
                out.options.append((f"-{letter}", args[i + 1]))
                return i + 2
            out.ok = False
            return i
        if short_flag is not None and letter not in short_flag:
            out.ok = False
            return i
        out.options.append((f"-{letter}", None))
    return i + 1

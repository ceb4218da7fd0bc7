"""Strip the wrappers that run another command (`timeout 5 rm x` is `rm x` for every rule).

Which wrappers and why are documented in `agentls.policy.shell`. Each handler reads the wrapper's own
options with a closed option set where the wrapper has one, so a wrapper used in a way this module
does not understand is left in place and reported instead of being guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from agentls.policy.shell_opts import parse
from agentls.policy.shell_words import Word

MAX_WRAPPERS = 16


def program_name(value: str) -> str:
    """`/bin/rm` → `rm`; relative paths (`./x`, `bin/x`) name a different program and are kept."""
    return value.rsplit("/", 1)[-1] if value.startswith("/") else value


@dataclass
class Stripped:
    words: list[Word]
    wrappers: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    eval_reasons: list[str] = field(default_factory=list)
    """Reasons that make the whole command string eval-like (a shell will read a string as code)."""
    scripts: list[tuple[str, str]] = field(default_factory=list)
    """`(origin, source)` strings a shell will run, to be analysed in their own right."""
    problems: list[str] = field(default_factory=list)
    """Wrappers used in a way this module does not understand: the analysis becomes unparsable."""


Handler = Callable[[list[str], list[Word], Stripped], int]
"""Gets the words after the wrapper name; returns how many of them belong to the wrapper, -1 if it
does not wrap a command here, `UNKNOWN` if its options are not understood."""
UNKNOWN = -2


def strip_wrappers(words: list[Word]) -> Stripped:
    out = Stripped(list(words))
    for _ in range(MAX_WRAPPERS):
        if not out.words or not out.words[0].literal:
            return out
        handler = _HANDLERS.get(program_name(out.words[0].value))
        if handler is None:
            return out
        rest = out.words[1:]
        used = handler([w.value for w in rest], rest, out)
        if used == UNKNOWN:
            out.problems.append(f"{out.words[0].value} with options this analysis does not understand")
            return out
        if used < 0 or used >= len(rest):
            return out
        out.wrappers.append(" ".join(w.value for w in out.words[: used + 1]))
        out.words = rest[used:]
    out.reasons.append(f"more than {MAX_WRAPPERS} nested wrappers")
    return out


def _timeout(args: list[str], _w: list[Word], out: Stripped) -> int:
    p = parse(
        args,
        short_arg="sk",
        short_flag="v",
        long_arg=frozenset({"signal", "kill-after"}),
        long_flag=frozenset({"preserve-status", "foreground", "verbose"}),
    )
    if not p.ok:
        return UNKNOWN
    return p.end + 1  # the duration


_NICE_LEGACY = re.compile(r"-[-+]?\d+")
_ASSIGNMENT = re.compile(r"[^=]+=")
_NAME_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
"""What env and sudo take as `NAME=value`: anything with an `=` (GNU env does not check the name)."""


def _nice(args: list[str], _w: list[Word], out: Stripped) -> int:
    # GNU nice reads `-N` anywhere among its options, the last adjustment winning: `nice -n x -5 cmd`.
    i = 0
    while i < len(args):
        arg = args[i]
        if (
            _NICE_LEGACY.fullmatch(arg)
            or arg.startswith("--adjustment=")
            or (arg.startswith("-n") and arg != "-n")
        ):
            i += 1
        elif arg in ("-n", "--adjustment"):
            i += 2
        elif arg == "--":
            return i + 1
        elif arg.startswith("-"):
            return UNKNOWN
        else:
            return i
    return i


def _plain(args: list[str], _w: list[Word], out: Stripped) -> int:
    p = parse(args, short_flag="", long_flag=frozenset())
    return p.end if p.ok else UNKNOWN


def _time(args: list[str], _w: list[Word], out: Stripped) -> int:
    p = parse(
        args,
        short_arg="fo",
        short_flag="pvqa",
        long_arg=frozenset({"format", "output"}),
        long_flag=frozenset({"portability", "verbose", "quiet", "append"}),
    )
    if not p.ok:
        return UNKNOWN
    if p.has("-o", "--output"):
        out.reasons.append("time -o writes its report to a file")
    # `time` is a bash keyword before a whole command: assignments may follow it (`time A=1 rm x`).
    i = p.end
    while i < len(args) and _NAME_ASSIGNMENT.match(args[i]):
        out.env.append(args[i])
        i += 1
    return i


def _stdbuf(args: list[str], _w: list[Word], out: Stripped) -> int:
    p = parse(
        args,
        short_arg="ioe",
        short_flag="",
        long_arg=frozenset({"input", "output", "error"}),
        long_flag=frozenset(),
    )
    return p.end if p.ok else UNKNOWN


def _command(args: list[str], _w: list[Word], out: Stripped) -> int:
    p = parse(args, short_flag="pvV", long_flag=frozenset())
    if not p.ok:
        return UNKNOWN
    if p.has("-v", "-V") or p.end >= len(args):
        return -1
    out.reasons.append("`command` launches another command")
    return p.end


def _builtin(args: list[str], _w: list[Word], out: Stripped) -> int:
    if not args:
        return -1
    out.reasons.append("`builtin` launches another command")
    return 0


def _xargs(args: list[str], _w: list[Word], out: Stripped) -> int:
    p = parse(
        args,
        short_arg="aEIdLnPs",
        long_arg=frozenset(
            {"arg-file", "delimiter", "max-args", "max-procs", "max-lines", "max-chars", "process-slot-var"}
        ),
    )
    if not p.ok:
        return UNKNOWN
    if p.end >= len(args):
        return -1
    out.reasons.append("xargs runs a command with arguments read from its input")
    return p.end


def _env(args: list[str], words: list[Word], out: Stripped) -> int:
    p = parse(
        args,
        short_arg="uCS",
        short_flag="i0v",
        long_arg=frozenset({"unset", "chdir", "split-string"}),
        long_flag=frozenset(
            {"ignore-environment", "null", "debug", "ignore-signal", "default-signal", "block-signal"}
        ),
    )
    if not p.ok:
        return UNKNOWN
    i = p.end
    assignments: list[str] = []
    while i < len(args) and (args[i] == "-" or _ASSIGNMENT.match(args[i])):
        if args[i] != "-":
            assignments.append(args[i])
        i += 1
    if p.has("-C", "--chdir"):
        out.reasons.append("env -C runs the command in another directory")
    for script in p.values("-S", "--split-string"):
        out.eval_reasons.append("env -S splits a string into a command")
        if all(w.literal for w in words):
            out.scripts.append(("env -S", " ".join([script, *args[i:]])))
        return -1
    if i >= len(args):
        return -1
    out.env.extend(assignments)
    out.reasons.append("env launches another command")
    return i


def _sudo(args: list[str], _w: list[Word], out: Stripped) -> int:
    p = parse(
        args,
        short_arg="CDghpRTUur",
        short_flag="AbEeHiKklnPSsV",
        long_arg=frozenset({"user", "group", "host", "prompt", "chroot", "chdir", "other-user", "role"}),
    )
    out.reasons.append("runs a command as another user")
    if not p.ok:
        return UNKNOWN
    if p.end >= len(args) or p.has("-e", "-l", "-v", "-V", "-k", "-K"):
        return -1
    i = p.end
    while i < len(args) and _ASSIGNMENT.match(args[i]):
        out.env.append(args[i])
        i += 1
    return i


def _doas(args: list[str], _w: list[Word], out: Stripped) -> int:
    p = parse(args, short_arg="uC", short_flag="nsL", long_flag=frozenset())
    out.reasons.append("runs a command as another user")
    return p.end if p.ok else UNKNOWN


def _setsid(args: list[str], _w: list[Word], out: Stripped) -> int:
    p = parse(args, short_flag="cfw", long_flag=frozenset({"ctty", "fork", "wait"}))
    out.reasons.append("setsid detaches the command from the session")
    return p.end if p.ok else UNKNOWN


def _ionice(args: list[str], _w: list[Word], out: Stripped) -> int:
    p = parse(
        args,
        short_arg="cnpPu",
        short_flag="t",
        long_arg=frozenset({"class", "classdata", "pid", "pgid", "uid"}),
        long_flag=frozenset({"ignore"}),
    )
    out.reasons.append("ionice launches another command")
    if not p.ok:
        return UNKNOWN
    if p.has("-p", "-P", "-u", "--pid", "--pgid", "--uid"):
        return -1
    return p.end


def _flock(args: list[str], words: list[Word], out: Stripped) -> int:
    p = parse(
        args,
        short_arg="Ewc",
        short_flag="sxenuoFv",
        long_arg=frozenset({"timeout", "wait", "conflict-exit-code", "command"}),
        long_flag=frozenset({"shared", "exclusive", "nonblock", "unlock", "close", "no-fork", "verbose"}),
    )
    out.reasons.append("flock launches another command")
    if not p.ok:
        return UNKNOWN
    scripts = p.values("-c", "--command")
    rest = args[p.end + 1 :]
    if not scripts and len(rest) >= 2 and rest[0] in ("-c", "--command"):
        scripts = [rest[1]]
    if scripts:
        out.eval_reasons.append("flock -c runs a string through a shell")
        if all(w.literal for w in words):
            out.scripts.extend(("flock -c", s) for s in scripts)
        return -1
    return p.end + 1 if rest else -1


def _watch(args: list[str], words: list[Word], out: Stripped) -> int:
    p = parse(args, short_arg="nq", long_arg=frozenset({"interval", "equexit"}))
    out.reasons.append("watch runs the command repeatedly")
    if not p.ok:
        return UNKNOWN
    if p.end >= len(args):
        return -1
    if p.has("-x", "--exec") or not all(w.literal for w in words[p.end :]):
        return p.end
    out.eval_reasons.append("watch runs its arguments through `sh -c`")
    out.scripts.append(("watch", " ".join(args[p.end :])))
    return -1


def _coproc(args: list[str], _w: list[Word], out: Stripped) -> int:
    out.reasons.append("coproc runs the command in the background")
    return 0 if args else -1


def _exec(args: list[str], _w: list[Word], out: Stripped) -> int:
    p = parse(args, short_arg="a", short_flag="cl", long_flag=frozenset())
    if not p.ok:
        return UNKNOWN
    if p.end >= len(args):
        out.eval_reasons.append(
            "exec changes the shell itself (its redirections apply to every later command)"
        )
        return -1
    out.eval_reasons.append("exec replaces the shell with the command")
    return p.end


def _busybox(args: list[str], _w: list[Word], out: Stripped) -> int:
    return 0 if args and not args[0].startswith("-") else -1


_HANDLERS: dict[str, Handler] = {
    "timeout": _timeout,
    "nice": _nice,
    "nohup": _plain,
    "noglob": _plain,
    "time": _time,
    "stdbuf": _stdbuf,
    "command": _command,
    "builtin": _builtin,
    "xargs": _xargs,
    "env": _env,
    "sudo": _sudo,
    "doas": _doas,
    "setsid": _setsid,
    "ionice": _ionice,
    "flock": _flock,
    "watch": _watch,
    "coproc": _coproc,
    "exec": _exec,
    "busybox": _busybox,
    "toybox": _busybox,
}
WRAPPERS = frozenset(_HANDLERS)

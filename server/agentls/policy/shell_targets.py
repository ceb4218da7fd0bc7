"""Which files a simple command writes and reads, and the built-in read-only set.

Best effort, from the command's own words: redirect targets plus the file arguments of the common
file tools. Paths are returned as written (after unescaping): relative to the shell's working directory,
with `~` unexpanded, so the policy resolves them. A target that is not a literal (`> $F`, `> *.txt`) is
returned as its source text and also makes the command dangerous (see `agentls.policy.shell`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agentls.policy.shell_opts import Parsed, parse
from agentls.policy.shell_types import Redirect, ShellAnalysis, SimpleCommand

_WRITE_OPS = frozenset({">", ">>", "&>", "&>>", ">|", "<>"})
_FD = re.compile(r"\d+|-")


def _op(redirect: Redirect) -> str:
    return redirect.op.lstrip("0123456789")


def _redirect_writes(redirect: Redirect) -> bool:
    op = _op(redirect)
    if redirect.target == "/dev/null":
        return False
    return op in _WRITE_OPS or (op == ">&" and not _FD.fullmatch(redirect.target))


def _redirect_reads(redirect: Redirect) -> bool:
    op = _op(redirect)
    return op in ("<", "<>") or (op == "<&" and not _FD.fullmatch(redirect.target))


def _gnu(args: list[str], short_arg: str = "", long_arg: tuple[str, ...] = ()) -> Parsed:
    return parse(args, short_arg=short_arg, long_arg=frozenset(long_arg), stop_at_operand=False)


def _destination(args: list[str], short_arg: str, long_arg: tuple[str, ...], all_operands: bool) -> list[str]:
    p = _gnu(args, short_arg + "t", (*long_arg, "target-directory"))
    targets = p.values("-t", "--target-directory")
    if all_operands or targets:
        return [*targets, *(p.operands if all_operands else [])]
    return p.operands[-1:] if len(p.operands) >= 2 else []


def _operands(
    short_arg: str = "", long_arg: tuple[str, ...] = (), skip: int = 0
) -> Callable[[list[str]], list[str]]:
    def read(args: list[str]) -> list[str]:
        return _gnu(args, short_arg, long_arg).operands[skip:]

    return read


def _cp(args: list[str]) -> list[str]:
    return _destination(args, "S", ("suffix",), all_operands=False)


def _mv(args: list[str]) -> list[str]:
    # mv also removes its sources, so every operand is written.
    return _destination(args, "S", ("suffix",), all_operands=True)


def _install(args: list[str]) -> list[str]:
    p = _gnu(args, "gmoSt", ("group", "mode", "owner", "suffix", "target-directory"))
    if p.has("-d", "--directory"):
        return p.operands
    return _destination(args, "gmoS", ("group", "mode", "owner", "suffix"), all_operands=False)


def _chmod_like(args: list[str]) -> list[str]:
    p = _gnu(args, "", ("reference",))
    return p.operands if p.values("--reference") else p.operands[1:]


def _dd(args: list[str]) -> list[str]:
    return [a[3:] for a in args if a.startswith("of=")]


def _sed_files(args: list[str]) -> list[str]:
    p = _gnu(args, "efl", ("expression", "file", "line-length"))
    if not p.has("-i", "--in-place"):
        return []
    scripted = p.has("-e", "--expression", "-f", "--file")
    return p.operands if scripted else p.operands[1:]


def _git(args: list[str]) -> list[str]:
    out: list[str] = []
    short_o = "archive" in args or "format-patch" in args
    for i, arg in enumerate(args):
        following = args[i + 1] if i + 1 < len(args) else ""
        name, eq, value = arg.partition("=")
        if name in ("--output", "--output-directory"):
            out.append(value if eq else following)
        elif short_o and arg.startswith("-o") and not arg.startswith("--"):
            out.append(arg[2:] or following)
    return [t for t in out if t]


def _sort(args: list[str]) -> list[str]:
    return _gnu(
        args, "kotST", ("key", "output", "field-separator", "buffer-size", "temporary-directory")
    ).values("-o", "--output")


def _uniq(args: list[str]) -> list[str]:
    return _gnu(args, "fsw", ("skip-fields", "skip-chars", "check-chars")).operands[1:2]


def _xxd(args: list[str]) -> list[str]:
    return _gnu(args, "cglosnC").operands[1:2]


def _curl(args: list[str]) -> list[str]:
    p = parse(
        args,
        short_arg="odHXuAeKFTwxEbcrYyzm",
        long_arg=frozenset({"output", "output-dir"}),
        stop_at_operand=False,
    )
    return p.values("-o", "--output", "--output-dir")


def _wget(args: list[str]) -> list[str]:
    p = parse(
        args,
        short_arg="OoaPiUeTtwQ",
        long_arg=frozenset({"output-document", "output-file", "append-output", "directory-prefix"}),
        stop_at_operand=False,
    )
    return p.values(
        "-O", "-o", "-a", "-P", "--output-document", "--output-file", "--append-output", "--directory-prefix"
    )


def _tar(args: list[str]) -> list[str]:
    if args and not args[0].startswith("-"):
        args = ["-" + args[0], *args[1:]]  # `tar xzf a.tgz`
    p = _gnu(args, "fCTXbgHKLNV", ("file", "directory", "files-from", "exclude-from"))
    if p.has("-x", "--extract", "--get"):
        return p.values("-C", "--directory") or ["."]
    if p.has("-c", "-r", "-u", "-A", "--create", "--append", "--update", "--concatenate"):
        return p.values("-f", "--file")
    return []


_WRITERS: dict[str, Callable[[list[str]], list[str]]] = {
    "tee": _operands(),
    "cp": _cp,
    "mv": _mv,
    "ln": _cp,
    "install": _install,
    "touch": _operands("dtr", ("date", "reference")),
    "mkdir": _operands("m", ("mode", "context")),
    "rm": _operands(),
    "rmdir": _operands(),
    "unlink": _operands(),
    "shred": _operands("ns", ("iterations", "size", "random-source")),
    "truncate": _operands("rs", ("reference", "size")),
    "chmod": _chmod_like,
    "chown": _chmod_like,
    "chgrp": _chmod_like,
    "dd": _dd,
    "sed": _sed_files,
    "git": _git,
    "sort": _sort,
    "uniq": _uniq,
    "xxd": _xxd,
    "curl": _curl,
    "wget": _wget,
    "tar": _tar,
}


def redirect_write_targets(cmd: SimpleCommand) -> tuple[str, ...]:
    """The files `cmd`'s own redirections write (`> f`, `>> f`, `&> f`, `>| f`, `>& f`), not /dev/null."""
    return tuple(dict.fromkeys(r.target for r in cmd.redirects if _redirect_writes(r)))


def write_targets(cmd: SimpleCommand) -> tuple[str, ...]:
    """Files `cmd` may create, change or delete (see the module docstring for the scope)."""
    found = [r.target for r in cmd.redirects if _redirect_writes(r)]
    writer = _WRITERS.get(cmd.name)
    if writer is not None:
        found.extend(writer(list(cmd.argv[1:])))
    return tuple(dict.fromkeys(found))


def _pattern_first(short_arg: str, long_arg: tuple[str, ...]) -> Callable[[list[str]], list[str]]:
    """grep/rg: the first operand is the pattern unless -e/-f gave one; -f files are read too."""

    def read(args: list[str]) -> list[str]:
        p = _gnu(args, short_arg, long_arg)
        given = p.has("-e", "-f", "--regexp", "--file")
        return [
            *p.values("-f", "--file", "--ignore-file", "--exclude-from"),
            *p.operands[0 if given else 1 :],
        ]

    return read


_GREP_ARGS: tuple[str, ...] = (
    *("regexp", "file", "after-context", "before-context", "context", "max-count", "include", "exclude"),
    *("exclude-dir", "exclude-from", "label", "binary-files", "devices", "directories"),
)
_RG_ARGS: tuple[str, ...] = (
    *("regexp", "file", "after-context", "before-context", "context", "max-count", "glob", "iglob"),
    *("type", "type-not", "type-add", "type-clear", "max-depth", "threads", "replace", "encoding"),
    *("max-columns", "max-filesize", "ignore-file", "pre", "pre-glob", "sort", "sortr", "colors"),
    *("path-separator", "context-separator", "hostname-bin", "engine", "dfa-size-limit"),
)


def _file(args: list[str]) -> list[str]:
    p = _gnu(args, "mfFeP", ("magic-file", "files-from", "separator", "exclude", "parameter"))
    return [*p.values("-m", "-f", "--magic-file", "--files-from"), *p.operands]


def _cp_sources(args: list[str]) -> list[str]:
    p = _gnu(args, "St", ("suffix", "target-directory"))
    return p.operands if p.values("-t", "--target-directory") else p.operands[:-1]


def _sed_reads(args: list[str]) -> list[str]:
    p = _gnu(args, "efl", ("expression", "file", "line-length"))
    scripted = p.has("-e", "--expression", "-f", "--file")
    return [*p.values("-f", "--file"), *(p.operands if scripted else p.operands[1:])]


def _source(args: list[str]) -> list[str]:
    return args[:1]


_READERS: dict[str, Callable[[list[str]], list[str]]] = {
    "cat": _operands(),
    "tac": _operands("s", ("separator",)),
    "nl": _operands("bdfhilnsvw"),
    "less": _operands("bhjkoOpPtTxyz", ("log-file", "tag", "pattern", "prompt", "shift", "tabs")),
    "more": _operands("n"),
    "head": _operands("nc", ("lines", "bytes")),
    "tail": _operands("ncs", ("lines", "bytes", "pid", "sleep-interval", "max-unchanged-stats")),
    "wc": _operands("", ("files0-from",)),
    "sort": _operands("kotST", ("key", "output", "field-separator", "buffer-size", "temporary-directory")),
    "uniq": lambda args: _gnu(args, "fsw", ("skip-fields", "skip-chars", "check-chars")).operands[:1],
    "diff": _operands("CUSxXIFW", ("label", "exclude", "exclude-from", "ignore-matching-lines", "width")),
    "cmp": _operands("iIn", ("ignore-initial", "bytes")),
    "stat": _operands("c", ("format", "printf")),
    "file": _file,
    "strings": _operands("ntTe", ("bytes", "radix", "target", "encoding", "output-separator")),
    "base64": _operands("w", ("wrap",)),
    "xxd": lambda args: _gnu(args, "cglosnC").operands[:1],
    "od": _operands("AjNtwS", ("address-radix", "skip-bytes", "read-bytes", "format", "width", "strings")),
    "cut": _operands("bcdf", ("bytes", "characters", "delimiter", "fields", "output-delimiter")),
    "md5sum": _operands(),
    "sha1sum": _operands(),
    "sha256sum": _operands(),
    "sha512sum": _operands(),
    "grep": _pattern_first("efABCmdD", _GREP_ARGS),
    "egrep": _pattern_first("efABCmdD", _GREP_ARGS),
    "fgrep": _pattern_first("efABCmdD", _GREP_ARGS),
    "rg": _pattern_first("ABCEMTdefgjmrt", _RG_ARGS),
    "cp": _cp_sources,
    "sed": _sed_reads,
    "source": _source,
    ".": _source,
}


def read_targets(cmd: SimpleCommand) -> tuple[str, ...]:
    """Files `cmd` reads (see the module docstring for the scope)."""
    found = [r.target for r in cmd.redirects if _redirect_reads(r)]
    reader = _READERS.get(cmd.name)
    if reader is not None:
        found.extend(t for t in reader(list(cmd.argv[1:])) if t != "-")
    return tuple(dict.fromkeys(found))


READ_ONLY_COMMANDS = frozenset(
    {
        "ls", "cat", "head", "tail", "wc", "grep", "rg", "pwd", "echo", "which", "diff", "stat", "du",
        "file", "sort", "uniq", "cut", "tr", "basename", "dirname", "realpath", "true", "false", "test", "[",
        "git", "find", "sed",
    }
)  # fmt: skip
"""May run without asking inside the workspace. `git`, `find` and `sed` only in the forms
`is_read_only` accepts (see `READ_ONLY_GIT_SUBCOMMANDS`, `find` without actions, `sed -n Np`)."""
READ_ONLY_GIT_SUBCOMMANDS = frozenset(
    {"status", "diff", "log", "show", "branch", "rev-parse", "ls-files", "blame"}
)
_DYNAMIC_OK = frozenset({"echo", "test", "[", "true", "false", "pwd"})
_SED_PRINT = re.compile(r"\s*(\d+|\$)(\s*,\s*(\d+|\$))?\s*p\s*")
_BRANCH_FLAGS = frozenset(
    {"-a", "--all", "-r", "--remotes", "-l", "--list", "-v", "-vv", "--verbose", "--show-current"}
    | {"-i", "--ignore-case", "--no-color", "--column", "--no-column", "--no-abbrev", "--omit-empty"}
)
_BRANCH_WITH_ARG = frozenset({"--contains", "--no-contains", "--merged", "--no-merged", "--points-at"})
_BRANCH_WITH_ARG |= {"--sort", "--format"}


def is_read_only(target: SimpleCommand | ShellAnalysis) -> bool:
    """True when the command (every command of an analysis) is in the built-in read-only set.

    Only the command's shape is judged here: the caller still checks `read_targets` against Read rules
    and the workspace ("without asking inside the workspace")."""
    if isinstance(target, ShellAnalysis):
        return (
            bool(target.commands)
            and not target.blocks_auto_approval
            and all(map(is_read_only, target.commands))
        )
    cmd = target
    if not cmd.argv or cmd.dangerous_reasons or write_targets(cmd) or cmd.name not in READ_ONLY_COMMANDS:
        return False
    if cmd.dynamic_args and cmd.name not in _DYNAMIC_OK:
        return False
    args = list(cmd.argv[1:])
    if cmd.name == "git":
        return _git_read_only(args)
    if cmd.name == "sed":
        p = _gnu(args, "efl", ("expression", "file", "line-length"))
        scripts = p.values("-e", "--expression") or p.operands[:1]
        quiet = p.has("-n", "--quiet", "--silent")
        return (
            quiet
            and not p.has("-f", "--file")
            and len(scripts) == 1
            and bool(_SED_PRINT.fullmatch(scripts[0]))
        )
    if cmd.name == "file":
        return not _gnu(args, "mfFeP").has("-m", "-f", "--magic-file", "--files-from")
    return not (cmd.glob_args and cmd.name in ("find", "sort"))


def _git_read_only(args: list[str]) -> bool:
    while args and args[0] in ("--no-pager", "-P", "--no-optional-locks"):
        args = args[1:]
    if not args or args[0] not in READ_ONLY_GIT_SUBCOMMANDS:
        return False
    if args[0] != "branch":
        return True
    rest = args[1:]
    listing = any(a in ("-l", "--list") for a in rest)
    i = 0
    while i < len(rest):
        arg = rest[i]
        name = arg.split("=", 1)[0]
        if arg in _BRANCH_WITH_ARG:
            i += 2
            continue
        known = (
            arg in _BRANCH_FLAGS or arg == "--color" or name in (_BRANCH_WITH_ARG | {"--color", "--abbrev"})
        )
        if not known and (arg.startswith("-") or not listing):
            return False
        i += 1
    return True

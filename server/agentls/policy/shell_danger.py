"""Per-command checks: what makes one simple command unsafe to approve by a prefix rule.

Each check and the bypass it answers is listed in the docstring of `agentls.policy.shell`. A check
receives the wrapper-stripped words and reports reasons; eval-like reasons also mark the whole
analysis, and literal inline scripts (`bash -c '...'`, `eval ...`) and `find -exec` commands are
handed back to be analysed like any other command.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from agentls.policy.shell_opts import parse
from agentls.policy.shell_sed import sed_script_problem
from agentls.policy.shell_words import Word

SHELLS = frozenset(
    {
        "sh",
        "bash",
        "rbash",
        "zsh",
        "dash",
        "ksh",
        "mksh",
        "pdksh",
        "ash",
        "yash",
        "posh",
        "fish",
        "csh",
        "tcsh",
    }
)
ENV_BUILTINS = frozenset(
    {"export", "declare", "typeset", "local", "readonly", "alias", "unalias", "unset", "enable"}
)
EXEC_CAPABLE = frozenset({"find", "sort", "sed", "git", "rg", "awk", "gawk", "mawk", "nawk", "tar", "rsync"})
"""Commands whose options can write files or run programs: a glob or expansion could become one."""
SYSTEM_BIN_DIRS = frozenset(
    {"/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin", "/usr/local/sbin", "/opt/homebrew/bin"}
)
SAFE_ENV_VARS = frozenset(
    {
        "NODE_ENV",
        "RUST_BACKTRACE",
        "RUST_LOG",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED",
        "LANG",
        "LANGUAGE",
        "LC_ALL",
        "LC_CTYPE",
        "LC_MESSAGES",
        "LC_COLLATE",
        "TZ",
        "NO_COLOR",
        "FORCE_COLOR",
        "CLICOLOR",
        "TERM",
        "COLUMNS",
        "CI",
        "IFS",
    }
)
"""Leading assignments that cannot change which program runs or what it executes."""


@dataclass
class Findings:
    reasons: list[str] = field(default_factory=list)
    eval_reasons: list[str] = field(default_factory=list)
    scripts: list[tuple[str, str]] = field(default_factory=list)
    nested: list[tuple[str, list[Word]]] = field(default_factory=list)
    """Commands run by this one (`find -exec CMD ;`), to be analysed as commands of their own."""


def inspect(name: str, words: list[Word]) -> Findings:
    """Check one command; `name` is the path-stripped command name, `words` include it."""
    out = Findings()
    args = [w.value for w in words[1:]]
    if name in EXEC_CAPABLE and any(not w.literal for w in words[1:]):
        out.reasons.append(f"an expansion or unquoted glob could turn into {name} options")
    if name in SHELLS:
        _shell(args, words, out)
    elif name in ENV_BUILTINS:
        out.reasons.append(f"`{name}` changes the environment of later commands (env poisoning)")
    elif name.startswith(("python", "pypy")) and _is_versioned(name, ("python", "pypy")):
        _inline_code(args, "python", out, code="c", stop="m", with_arg="WXQ")
    else:
        check = _CHECKS.get(name)
        if check is not None:
            check(args, words, out)
    return out


def _is_versioned(name: str, bases: tuple[str, ...]) -> bool:
    return any(re.fullmatch(re.escape(base) + r"[0-9.]*", name) for base in bases)


def _all_literal(words: list[Word]) -> bool:
    return all(w.literal for w in words)


def _shell(args: list[str], words: list[Word], out: Findings) -> None:
    out.eval_reasons.append("runs a shell, which can run anything")
    c_mode = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-o", "+o", "--rcfile", "--init-file", "-O", "+O"):
            i += 2
            continue
        if arg == "--":
            i += 1
            break
        if arg.startswith(("-", "+")) and len(arg) > 1:
            c_mode = c_mode or (not arg.startswith("--") and "c" in arg)
            i += 1
            continue
        break
    if c_mode and i < len(args):
        if _all_literal(words[i + 1 : i + 2]):
            out.scripts.append((f"{words[0].value.rsplit('/', 1)[-1]} -c", args[i]))
        else:
            out.reasons.append("the script given to -c is not a literal string")


def _eval(args: list[str], words: list[Word], out: Findings) -> None:
    out.eval_reasons.append("eval runs a string as shell code")
    if args and _all_literal(words[1:]):
        out.scripts.append(("eval", " ".join(args)))


def _source(args: list[str], _w: list[Word], out: Findings) -> None:
    out.eval_reasons.append("source runs the commands in a file")


def _trap(args: list[str], words: list[Word], out: Findings) -> None:
    parsed = parse(args, short_flag="lp", long_flag=frozenset())
    if parsed.has("-l", "-p") or len(parsed.operands) < 2:
        return
    out.eval_reasons.append("trap runs a string as shell code later")
    if _all_literal(words[1 + parsed.end : 2 + parsed.end]):
        out.scripts.append(("trap", parsed.operands[0]))


def _su(args: list[str], words: list[Word], out: Findings) -> None:
    out.reasons.append("runs a command as another user")
    parsed = parse(args, short_arg="cgGsw", long_arg=frozenset({"command", "group", "shell"}))
    for script in parsed.values("-c", "--command"):
        out.eval_reasons.append("su -c runs a string through a shell")
        if _all_literal(words):
            out.scripts.append(("su -c", script))


def _script(args: list[str], words: list[Word], out: Findings) -> None:
    parsed = parse(args, short_arg="cIOBTEmo", long_arg=frozenset({"command"}))
    for script in parsed.values("-c", "--command"):
        out.eval_reasons.append("script -c runs a string through a shell")
        if _all_literal(words):
            out.scripts.append(("script -c", script))


def _parallel(args: list[str], _w: list[Word], out: Findings) -> None:
    out.eval_reasons.append("parallel runs its arguments through a shell")


def _fc(args: list[str], _w: list[Word], out: Findings) -> None:
    if not ({"-l", "-p"} & set(args)):
        out.eval_reasons.append("fc re-runs commands from the history")


_QUERIES = frozenset({"--version", "-V", "--help", "-h", "-v", "-version"})


def _inline_code(
    args: list[str], lang: str, out: Findings, *, code: str, stop: str = "", with_arg: str = ""
) -> None:
    """Flag inline code (`python -c`, `perl -ne`), and code read from stdin (no script operand)."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("--eval", "--print", "--command", "-Command", "-EncodedCommand"):
            out.reasons.append(f"{lang} runs inline code")
            return
        if arg == "-":
            break
        if arg == "--":
            if i + 1 < len(args) and args[i + 1] != "-":
                return
            break
        if not arg.startswith("-"):
            return
        if not arg.startswith("--"):
            for pos, letter in enumerate(arg[1:], start=1):
                if letter in code:
                    out.reasons.append(f"{lang} runs inline code")
                    return
                if letter in stop:
                    return
                if letter in with_arg:
                    i += 0 if pos + 1 < len(arg) else 1
                    break
        i += 1
    if not _QUERIES.intersection(args):
        out.reasons.append(f"{lang} runs code from its standard input")


def _language(
    lang: str, code: str, stop: str = "", with_arg: str = ""
) -> Callable[[list[str], list[Word], Findings], None]:
    def check(args: list[str], _w: list[Word], out: Findings) -> None:
        _inline_code(args, lang, out, code=code, stop=stop, with_arg=with_arg)

    return check


def _deno(args: list[str], _w: list[Word], out: Findings) -> None:
    if args[:1] == ["eval"]:
        out.reasons.append("deno eval runs inline code")


def _find(args: list[str], words: list[Word], out: Findings) -> None:
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-exec", "-execdir", "-ok", "-okdir"):
            j = i + 1
            while j < len(args) and args[j] not in (";", "+"):
                j += 1
            out.reasons.append(f"find {arg} runs a command for each file")
            if j > i + 1:
                out.nested.append((f"find {arg}", words[i + 2 : j + 1]))
            i = j + 1
            continue
        if arg == "-delete" or arg.startswith(("-fprint", "-fls")):
            out.reasons.append(f"find {arg} deletes or writes files")
        i += 1


def _sed(args: list[str], _w: list[Word], out: Findings) -> None:
    parsed = parse(
        args,
        short_arg="efl",
        long_arg=frozenset({"expression", "file", "line-length"}),
        stop_at_operand=False,
    )
    # Clusters are split, so `-ni` and `-i.bak` both show up as `-i`.
    if parsed.has("-i", "--in-place"):
        out.reasons.append("sed -i edits files in place")
    if parsed.has("-f", "--file"):
        out.reasons.append("sed -f reads a script this analysis cannot see")
    scripts = parsed.values("-e", "--expression")
    if not scripts and not parsed.has("-f", "--file") and parsed.operands:
        scripts = [parsed.operands[0]]
    if parsed.has("--sandbox"):
        return
    for script in scripts:
        problem = sed_script_problem(script)
        if problem:
            out.reasons.append(f"sed script {problem}")


_AWK_DANGER = re.compile(r"system\s*\(|\||\bprint[f]?\b[^;{}]*>|@load|@include")


def _awk(args: list[str], _w: list[Word], out: Findings) -> None:
    parsed = parse(
        args,
        short_arg="fvFeilE",
        long_arg=frozenset({"file", "assign", "field-separator", "source", "include", "load", "exec"}),
    )
    if parsed.has("-f", "--file", "-E", "--exec"):
        out.reasons.append("awk -f reads a program this analysis cannot see")
    if parsed.has("-i", "--include", "-l", "--load"):
        out.reasons.append("awk loads extensions or include files")
    programs = parsed.values("-e", "--source")
    if not programs and not parsed.has("-f", "--file", "-E", "--exec") and parsed.operands:
        programs = [parsed.operands[0]]
    if any(_AWK_DANGER.search(p) for p in programs):
        out.reasons.append("awk program runs commands or writes files (system(), |, print >)")


_GIT_GLOBAL_ARG = frozenset(
    {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path", "--config-env"}
)


def _git(args: list[str], _w: list[Word], out: Findings) -> None:
    i = 0
    while i < len(args) and args[i].startswith("-"):
        arg = args[i]
        name = arg.split("=", 1)[0]
        if arg.startswith("-c") or name in ("--config-env",):
            out.reasons.append("git -c/--config-env overrides configuration (pager, hooks, fsmonitor…)")
        elif arg.startswith("-C") or name in ("--git-dir", "--work-tree", "--exec-path"):
            out.reasons.append(f"git {name} uses another repository's configuration and hooks")
        i += 2 if arg in _GIT_GLOBAL_ARG else 1
    sub = args[i] if i < len(args) else ""
    rest = args[i + 1 :]
    for arg in rest:
        name = arg.split("=", 1)[0]
        if name in ("--output", "--ext-diff", "--textconv", "--exec", "--upload-pack", "--receive-pack"):
            out.reasons.append(f"git {sub} {name} writes files or runs programs")
        elif name in ("--open-files-in-pager", "--template", "--config", "--config-env") or (
            sub == "grep" and arg.startswith("-O")
        ):
            out.reasons.append(f"git {sub} {name} runs programs or changes configuration")
        elif arg.startswith("-o") and sub not in (
            "ls-files",
            "ls-tree",
            "grep",
            "log",
            "show",
            "diff",
            "status",
        ):
            out.reasons.append(f"git {sub} -o writes files or passes options on")
        elif sub in ("clone", "fetch", "pull", "ls-remote", "archive") and arg.startswith("-u"):
            out.reasons.append(f"git {sub} -u runs a program")
        elif sub == "rebase" and re.fullmatch(r"-[a-zA-Z]*x.*", arg):
            out.reasons.append("git rebase -x runs a command")
    if sub == "config" and _git_config_writes(rest):
        out.reasons.append("git config changes configuration that later git commands act on")
    if sub in ("filter-branch", "difftool", "mergetool") or (
        (sub, rest[0] if rest else "") in {("submodule", "foreach"), ("bisect", "run")}
    ):
        out.reasons.append(f"git {sub} runs commands")


def _git_config_writes(rest: list[str]) -> bool:
    reads = {"--get", "--get-all", "--get-regexp", "--get-urlmatch", "--list", "-l", "get", "list"}
    if reads.intersection(rest):
        return False
    operands = [a for a in rest if not a.startswith("-")]
    verbs = {"set", "unset", "edit", "rename-section", "remove-section"}
    flags = {
        "--add",
        "--unset",
        "--unset-all",
        "--replace-all",
        "--rename-section",
        "--remove-section",
        "--edit",
        "-e",
    }
    return bool(flags.intersection(rest)) or len(operands) >= 2 or (bool(operands) and operands[0] in verbs)


def _rg(args: list[str], _w: list[Word], out: Findings) -> None:
    for arg in args:
        if arg == "--":
            return
        name = arg.split("=", 1)[0]
        if name in ("--pre", "--hostname-bin", "--search-zip"):
            out.reasons.append(f"rg {name} runs programs")
        elif arg.startswith("-") and not arg.startswith("--"):
            for letter in arg[1:]:
                if letter == "z":
                    out.reasons.append("rg -z runs decompression programs")
                if letter in "ABCEMTdefgjmrt":
                    break


def _curl(args: list[str], _w: list[Word], out: Findings) -> None:
    data = ("-d", "--data", "--data-binary", "--data-ascii", "--data-urlencode", "--json", "-F", "--form")
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg[:2], "", arg[2:])
        if not eq and not value and i + 1 < len(args):
            value = args[i + 1]
        if name in data and ("@" in value or "<" in value):
            out.reasons.append(f"curl {name} uploads a file")
        elif name in ("-T", "--upload-file"):
            out.reasons.append("curl -T uploads a file")
        elif name in ("-K", "--config"):
            out.reasons.append("curl -K reads options this analysis cannot see")


def _wget(args: list[str], _w: list[Word], out: Findings) -> None:
    for arg in args:
        if arg.split("=", 1)[0] in ("--post-file", "--body-file"):
            out.reasons.append("wget uploads a file")


def _sort(args: list[str], _w: list[Word], out: Findings) -> None:
    if any(a.startswith("--compress-program") for a in args):
        out.reasons.append("sort --compress-program runs a program")


def _tar(args: list[str], _w: list[Word], out: Findings) -> None:
    exec_opts = (
        *("--to-command", "--checkpoint-action", "--use-compress-program", "--rsh-command"),
        *("--info-script", "--new-volume-script"),
    )
    if any(a.split("=", 1)[0] in exec_opts or a.startswith(("-I", "-F")) for a in args):
        out.reasons.append("tar option runs a program")


def _rsync(args: list[str], _w: list[Word], out: Findings) -> None:
    if any(a.startswith(("-e", "--rsh", "--rsync-path")) for a in args):
        out.reasons.append("rsync -e/--rsync-path runs a program")


def _hash(args: list[str], _w: list[Word], out: Findings) -> None:
    if any(a.startswith("-") and "p" in a for a in args):
        out.reasons.append("hash -p maps a command name to another program")


def _printf(args: list[str], _w: list[Word], out: Findings) -> None:
    if args and args[0].startswith("-v"):
        out.reasons.append("printf -v assigns a shell variable (env poisoning)")


_CHECKS: dict[str, Callable[[list[str], list[Word], Findings], None]] = {
    "eval": _eval,
    "source": _source,
    ".": _source,
    "trap": _trap,
    "su": _su,
    "script": _script,
    "parallel": _parallel,
    "fc": _fc,
    "perl": _language("perl", "eE", with_arg="IMmx"),
    "ruby": _language("ruby", "e", with_arg="IrCE"),
    "node": _language("node", "ep", with_arg="r"),
    "nodejs": _language("node", "ep", with_arg="r"),
    "bun": _language("bun", "ep"),
    "deno": _deno,
    "php": _language("php", "rR", with_arg="cdz"),
    "lua": _language("lua", "e", with_arg="l"),
    "Rscript": _language("Rscript", "e"),
    "osascript": _language("osascript", "e"),
    "pwsh": _language("pwsh", "c"),
    "powershell": _language("powershell", "c"),
    "find": _find,
    "sed": _sed,
    "awk": _awk,
    "gawk": _awk,
    "mawk": _awk,
    "nawk": _awk,
    "git": _git,
    "rg": _rg,
    "curl": _curl,
    "wget": _wget,
    "sort": _sort,
    "tar": _tar,
    "rsync": _rsync,
    "hash": _hash,
    "printf": _printf,
}

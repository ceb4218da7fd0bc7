"""Shell-command analysis for Bash permission rules, with tree-sitter-bash (issue 4, point 5).

`analyze(command)` parses a Bash command string and returns every simple command that could run,
normalised the way bash would see it, plus the flags that mean "no prefix rule may approve this".
The policy then requires each command to pass the rules on its own. Pure functions: no I/O besides
parsing. Bypass classes cited below are from research/security.md sections 1.2, 2 and 3.1.

Splitting (a rule must match each part independently)
    - Split on `&& || ; | |& &` and newlines, and descend into subshells `( )`, groups `{ }`, `if`,
      `while`/`until`, `for`/`select`, `case`, function bodies, `!`, here-document lines (`cat <<EOF &&
      rm x`) and command/process substitutions. String-prefix matching let `echo x && ls` through
      (claude-code#4956), and Gemini CLI checked only the first command (Tracebit).
    - There is no cap on the number of parts: Claude Code fell back to a weaker path past 50 subcommands
      (Adversa, Apr 2026).
    - Comments are dropped as bash drops them (`echo hi # rm -rf /` runs only echo).
    - As a safety net, every `command` node in the tree must have been visited; one that was not (a
      shape this module does not know) makes the analysis unparsable.

Unparsable and too long (always ask)
    - `unparsable`: tree-sitter ERROR or MISSING nodes, any node kind this module does not know, control
      characters other than tab and newline (bash keeps a CR inside a word, tree-sitter may not), a
      wrapper whose options are not understood (`timeout --weird 5 rm x`), inline scripts nested deeper
      than `MAX_DEPTH`, syntax nested deeper than `MAX_NESTING`, input longer than `MAX_PARSE`. A parse
      failure must never fail open (pattern (d) in section 2).
    - Also `unparsable`: every place found where tree-sitter-bash reads the string differently from
      bash (each found by running bash itself on generated commands): a line continuation glued to words
      on both sides (`r\\<newline>m`, `> .git/hooks/pre-comm\\<newline>it`), two words with no blank
      between them (`r''\\m` is one word, `rm`, to bash), a blank inside one word, an assignment in
      command position (`A=1\\<newline> B=2 nice rm`), a `$` expansion spanning a blank (`FOO=$ r\\m`),
      a reserved word in command position (`time { rm x; }` read as a command named `{`), a group nested
      inside a command (`time ( rm x )`), `<`/`>` inside `[ ]` (redirections to bash), `$"…"` strings
      and `{rm,-rf,x}`. The commands tree-sitter did see are still reported, for deny rules.
    - `too_long`: more than `MAX_LENGTH` (10,000) characters, as in Claude Code. It is still analysed so
      deny rules can match.

Normalisation (section 3.1: raw node text keeps the backslash of `r\\m`)
    - Every word is unescaped with bash's rules: `r\\m`, `'rm'`, `"rm"` are `rm`; `$'\\x72m'` is
      decoded like bash (`rm`); `"$HOME"` keeps its source text and marks the word dynamic.
    - An absolute command path is dropped for matching (`/bin/rm` → `rm`); a relative one (`./x`,
      `bin/x`) names a different program and is kept. An absolute path outside the system binary
      directories (`/tmp/x/ls`) is a dangerous reason: stripping it would let it match `Bash(ls *)`.
    - Leading `VAR=value` assignments go to `env` and out of argv, so deny/ask rules match past them
      (`FOO=bar rm -rf x` still hits `Bash(rm *)`); an assignment to anything but `SAFE_ENV_VARS` (or with
      a non-literal value) is a dangerous reason, so an allow rule never matches `PAGER=… git log`
      (Cursor CVE-2026-22708: env poisoning made an allow-listed command run a payload).
    - Wrappers are stripped before matching and recorded in `wrappers_stripped`: `timeout` (with its
      options and duration), `nice` (`-n N`, `-N`), `nohup`, `time` (and the assignments bash allows
      after that keyword), `stdbuf`, `command` (not `command
      -v/-V`), `builtin`, `noglob`, `xargs`, `env` and `sudo` (their `VAR=x` go to `env`), `doas`, `setsid`,
      `ionice`, `flock`, `watch -x`, `coproc`, `exec`, `busybox`. A wrapper whose options are not
      understood is left in place (and reported) rather than guessed at.

Flags on the analysis (never auto-approved by a prefix rule)
    - `has_substitution`: `$(…)`, backticks, `<(…)`, `>(…)`, anywhere (also inside strings, `${x:-…}`,
      arithmetic and unquoted here-documents). The commands inside are analysed too; a backtick body is
      also re-read after bash's backslash pass (`` `r\\\\m` `` runs `rm`).
    - `has_eval_like`: `eval`, `exec`, `source`/`.`, any shell (`bash`, `sh -c`, `zsh`, `dash`…),
      `su -c`, `trap`, `fc`, `script -c`, `parallel`, `flock -c`, `watch` without `-x` (it runs `sh -c`),
      `env -S`. A literal script (`bash -c 'curl evil'`, `eval "rm x"`, `watch rm x`) is analysed and
      its commands added (origin `bash -c`, `eval`…): claude-code#43085 escaped the `.claude/` write
      check through `bash -c`. When a shell appears anywhere in the string, every here-document body and
      here-string is analysed as a script too (`cat <<EOF | sh`, `sh <<< 'rm x'`).
    - `has_expansion_in_command_name`: the command name (after wrappers) is an expansion or glob
      (`$CMD x`, `"$HOME"/bin/x`, `rm${IFS}-rf`, `*.sh`): its real name is unknowable.

Dangerous reasons per command (each blocks auto-approval; see `shell_danger`, `shell_wrappers`)
    - xargs with a command, `env`/`command`/`builtin` launching a command, `watch`, `setsid`, `ionice`,
      `flock`, `sudo`/`doas`/`su`, `coproc`: Claude Code never auto-approves these by prefix.
    - `find -exec/-execdir/-ok/-okdir` (the command is analysed too), `-delete`, `-fprint*`, `-fls`.
    - `sed -i`/`--in-place`, `sed -f`, and sed scripts with `w`, `W`, `r`, `R`, `e` or `s///w`/`s///e`
      (GHSA-mhg7-666j-cqg4, GHSA-7mv8-j34q-vp7q).
    - `git -c`, `--config-env`, `-C`, `--git-dir`, `--work-tree`, `--exec-path`, and subcommand options
      `--output`, `--ext-diff`, `--textconv`, `--exec`, `--upload-pack`, `--receive-pack`,
      `--template`, `-o` (except where it is a listing flag), `git grep -O`, `git config` writes,
      `filter-branch`, `difftool`, `mergetool`, `submodule foreach`, `bisect run`, `rebase -x`
      (`git -c core.pager='sh -c id' log`; Codex's tests pin the same set).
    - `rg --pre`, `--hostname-bin`, `-z`/`--search-zip` (they run programs; Codex).
    - `awk` programs with `system(`, `|`, `print >`, `@load`/`@include`, or `-f`.
    - Inline code: `python -c`, `perl -e/-E`, `ruby -e`, `node -e/-p/--eval`, `php -r`, `lua -e`,
      `deno eval`, `osascript -e`, `pwsh -c`; and those interpreters with no script operand or `-`
      (they run code from standard input, e.g. a here-document).
    - Uploads: `curl -d/--data*/-F/--json` with `@file` or `<file`, `-T`/`--upload-file`, `-K`; `wget
      --post-file/--body-file` (exfiltration, e.g. Gemini CLI's `env | curl --data-binary @-`).
    - Env poisoning: `export declare typeset local readonly alias unalias unset enable`, `hash -p`,
      `printf -v`, and a bare `VAR=value` statement (Cursor CVE-2026-22708).
    - `sort --compress-program`, `tar --to-command/--checkpoint-action/-I/-F…`, `rsync -e/--rsync-path`.
    - An expansion or unquoted glob among the arguments of a command whose options can write or run
      programs (`find sort sed git rg awk tar rsync`): a file named `-delete` would become an option.
    - A redirect target that is not literal (`> $F`, `> *.txt`) or is `~user/…`.
    - `cd`/`pushd` combined with `git` (the other directory's hooks and config would run), and any
      relative read or write target after a `cd` (its base directory is unknown to the policy).
    - `time -o`, more than `MAX_WRAPPERS` nested wrappers.

Write and read targets (`write_targets`, `read_targets`; best effort, paths as written, `~` kept)
    - Writes: redirect targets of `>`, `>>`, `&>`, `&>>`, `>|`, `<>` and `>&file` (not `/dev/null` or a
      descriptor); `tee` files; `cp`/`ln`/`install` destinations (or `-t DIR`); every `mv` operand (the
      sources disappear); `touch mkdir rm rmdir unlink shred truncate chmod chown chgrp` operands;
      `dd of=`; `sed -i` files; `git --output`/`archive -o`/`format-patch -o`; `sort -o`; the second
      operand of `uniq` and `xxd`; `curl -o`; `wget -O/-o/-P`; `tar -x` (its `-C` directory) and `tar -c`
      (its `-f` file). `echo x > .git/hooks/pre-commit` and `tee` are how Bash routes around Edit checks
      (claude-code#63786; pattern (c), a file another program will run).
    - Reads: `<`, `<>`, `<&file`; operands of `cat tac nl less more head tail wc sort uniq diff cmp stat
      file strings base64 xxd od cut md5sum sha*sum`, of `grep`/`rg` after the pattern (and their `-f`
      files), `cp` sources, `sed` files, `source`/`.` scripts: `cat ~/.ssh/id_rsa` must meet the same
      Read rules as the Read tool.

Read-only set (`READ_ONLY_COMMANDS`, `is_read_only`; runs without asking inside the workspace)
    - `ls cat head tail wc grep rg pwd echo which diff stat du file sort uniq cut tr basename dirname
      realpath true false test [`, plus `git status/diff/log/show/branch/rev-parse/ls-files/blame`
      (global options only `--no-pager`, `-P`, `--no-optional-locks`; `branch` only listing, since
      `git branch name` creates one), `find` without actions, `sed -n` with one `N[,M]p` script (Codex).
    - Never read-only: any dangerous reason or write target; arguments with expansions (except for
      `echo test [ true false pwd`); globs with `find`/`sort`; `file -m/-f` (Claude Code asks). For a whole
      analysis: any flag above, or no command at all. `cd` and network tools are left out on purpose
      (CVE-2025-55284 exfiltrated secrets through "read-only" DNS lookups).

Rule matching (`matches_prefix`, `command_line`; one simple command at a time)
    - Matched text: the normalised, wrapper-stripped argv joined with single spaces; the rule's own words
      are unescaped the same way (`Bash("rm" *)` is `Bash(rm *)`; a quoted `*` is literal).
    - `Bash`/`Bash(*)` match all; `*` matches any characters including spaces; a trailing ` *` is a word
      boundary (`Bash(ls *)` matches `ls` and `ls -la`, not `lsof`); the legacy `:*` suffix means the
      same (`npm run test:*` does not match `npm run testx` or `npm run test:unit`); otherwise exact.
    - Env prefixes are not part of the matched text (deny/ask rules match past them); allow rules are
      kept from matching past unsafe ones by the dangerous reason above.

Known limits (the OS sandbox is the boundary; a denylist is only a hint, CmdNeedle, section 3.1):
aliases and functions defined earlier in the same string are not expanded (their bodies are analysed);
scripts run by file (`bash x.sh`, `source x`, `make`, `npm test`) are not read; `$"…"` strings,
`3<>file` and some rare syntax are reported unparsable rather than decoded; read/write targets are a
best effort over common tools and miss what programs decide at run time.
"""

from __future__ import annotations

from agentls.policy.shell_danger import SAFE_ENV_VARS
from agentls.policy.shell_match import command_line, command_text, matches_prefix
from agentls.policy.shell_targets import (
    READ_ONLY_COMMANDS,
    READ_ONLY_GIT_SUBCOMMANDS,
    is_read_only,
    read_targets,
    redirect_write_targets,
    write_targets,
)
from agentls.policy.shell_types import Redirect, ShellAnalysis, SimpleCommand
from agentls.policy.shell_walk import MAX_DEPTH, MAX_LENGTH, MAX_PARSE, analyze_at
from agentls.policy.shell_wrappers import MAX_WRAPPERS

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_PARSE",
    "MAX_WRAPPERS",
    "READ_ONLY_COMMANDS",
    "READ_ONLY_GIT_SUBCOMMANDS",
    "SAFE_ENV_VARS",
    "Redirect",
    "ShellAnalysis",
    "SimpleCommand",
    "analyze",
    "command_line",
    "command_text",
    "is_read_only",
    "matches_prefix",
    "read_targets",
    "redirect_write_targets",
    "write_targets",
]


def analyze(command: str) -> ShellAnalysis:
    """Split, normalise and flag a Bash command string (see the module docstring for every rule)."""
    return analyze_at(command, depth=0, origin="")

"""ripgrep for the Glob and Grep tools: finding `rg`, running it, and its file-selection rules.

agentls depends on the `ripgrep` wheel, which installs `rg` next to the interpreter, so that copy
is preferred over whatever `rg` happens to be on PATH (its version and flags are known).
`FileFilter` turns Grep's `glob`/`type` arguments into rg flags that keep .gitignore in force,
and answers the same question for unsaved editor buffers that rg never sees as files.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import sys
import sysconfig
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from agentls.tools.base import ToolContext, ToolError
from agentls.tools.bash import scrubbed_env
from agentls.workspace.port import ProcessResult, ProcessSpec, WorkspaceError

RG_TIMEOUT_S = 60.0
"""Searches taking longer than this are killed; the model is told to narrow the path."""

COMMON_FLAGS: tuple[str, ...] = (
    "--no-config",  # A user's RIPGREP_CONFIG_PATH must not change the output we parse.
    "--hidden",  # Dotfiles are part of the project; .gitignore decides what is excluded.
    "--no-require-git",  # Honour .gitignore even when the workspace is not a git checkout.
    "--glob=!.git",
)

_MAX_BRACE_EXPANSIONS = 256

_rg_cache: str | None = None


def rg_path() -> str:
    """The `rg` executable: the interpreter's scripts dir first, then PATH."""
    global _rg_cache
    if _rg_cache is not None:
        return _rg_cache
    name = "rg.exe" if os.name == "nt" else "rg"
    dirs = [sysconfig.get_path("scripts"), str(Path(sys.executable).parent)]
    for directory in dirs:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            _rg_cache = str(candidate)
            return _rg_cache
    found = shutil.which("rg")
    if found is None:
        raise ToolError(
            "ripgrep (rg) is not installed. Install agentls with its dependencies "
            "(`pip install ripgrep` in the same environment) or put `rg` on PATH."
        )
    _rg_cache = found
    return found


def escape_glob(text: str) -> str:
    """`text` as a glob matching itself literally (for excluding one exact path)."""
    return "".join("\\" + ch if ch in "\\*?[]{}!" else ch for ch in text)


async def run_rg(
    ctx: ToolContext,
    args: list[str],
    cwd: Path,
    *,
    stdin: bytes | None = None,
    output_limit: int = 2_000_000,
) -> ProcessResult:
    """Run `rg args` through the workspace; a start failure or timeout becomes a ToolError."""
    env = ctx.env_for_subprocess if ctx.env_for_subprocess is not None else scrubbed_env()
    spec = ProcessSpec(
        argv=[rg_path(), *args],
        cwd=cwd,
        env=env,
        timeout_s=RG_TIMEOUT_S,
        output_limit=output_limit,
        stdin=stdin,
    )
    try:
        result = await ctx.workspace.run(spec)
    except WorkspaceError as exc:
        raise ToolError(str(exc)) from exc
    if result.timed_out:
        raise ToolError(
            f"The search took longer than {RG_TIMEOUT_S:g} s and was stopped. "
            "Search a narrower path or use a more specific pattern."
        )
    return result


def expand_braces(pattern: str) -> list[str]:
    """`a/{b,c}/*.{x,y}` -> the four brace-free alternatives (pathspec has no brace syntax)."""
    depth = 0
    start = -1
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                alternatives = _split_top_level(pattern[start + 1 : i])
                if len(alternatives) > 1:
                    out: list[str] = []
                    for alt in alternatives:
                        out += expand_braces(pattern[:start] + alt + pattern[i + 1 :])
                        if len(out) >= _MAX_BRACE_EXPANSIONS:
                            break
                    return out[:_MAX_BRACE_EXPANSIONS]
        i += 1
    return [pattern]


def _split_top_level(body: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    escaped = False
    for ch in body:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return parts


def split_globs(raw: str) -> list[str]:
    """Split a glob argument on whitespace and commas that are not inside braces."""
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in raw:
        depth += (ch == "{") - (ch == "}")
        if depth <= 0 and (ch.isspace() or ch == ","):
            if current:
                parts.append(current)
            current = ""
            continue
        current += ch
    if current:
        parts.append(current)
    return parts


def _name_only(glob: str) -> str | None:
    """The glob as a file-name glob if it only constrains the name (`*.py`, `**/*.py`)."""
    name = glob
    while name.startswith("**/"):
        name = name[3:]
    return None if "/" in name else name


@dataclass(frozen=True)
class FileFilter:
    """Which files a search covers: rg's `--glob`/`--type` selection, without defeating .gitignore.

    A matching `--glob` overrides rg's ignore rules (`--glob '*.py'` would search a gitignored
    `secret.py`) and its `--type` too; file types never override anything. So name-only globs
    become a private rg type and only globs naming directories stay `--glob`. rg cannot
    intersect two types, so with any positive glob the user's `type` is checked here on the
    results instead (`type_globs`).
    """

    globs: tuple[str, ...] = ()
    type: str | None = None
    type_globs: tuple[str, ...] | None = None
    """The user's type as file-name globs, when it must be checked here rather than by rg."""

    @classmethod
    async def build(
        cls, ctx: ToolContext, cwd: Path, glob: str | None, type_: str | None, *, need_type_globs: bool
    ) -> FileFilter:
        flt = cls(tuple(split_globs(glob)) if glob else (), type_ or None)
        if flt.type and (need_type_globs or flt._positive()):
            flt = replace(flt, type_globs=await _type_globs(ctx, cwd, flt.type))
        return flt

    def _positive(self) -> list[str]:
        return [g for g in self.globs if not g.startswith("!")]

    def rg_flags(self) -> list[str]:
        flags: list[str] = []
        positive = self._positive()
        names = [_name_only(g) for g in positive]
        if positive and None not in names:
            flags += [f"--type-add=agentlsglob:{n}" for n in names] + ["--type=agentlsglob"]
        else:
            # A directory glob can only be an override; rg then also ignores --type for the
            # files it whitelists, so the type is checked on the results (`type_accepts`).
            flags += [f"--glob={g}" for g in positive]
        if self.type and not positive:
            flags.append(f"--type={self.type}")
        excluded = False
        for g in self.globs:
            if g.startswith("!"):
                name = _name_only(g[1:])
                if name is None:
                    flags.append(f"--glob={g}")  # Exclusions never whitelist, so this is safe.
                else:
                    flags.append(f"--type-add=agentlsnot:{name}")
                    excluded = True
        if excluded:
            flags.append("--type-not=agentlsnot")
        return flags

    def type_accepts(self, rel: str) -> bool:
        """The user's type check for files rg could not check it on."""
        if self.type_globs is None:
            return True
        name = PurePosixPath(rel).name
        return any(fnmatch.fnmatchcase(name, g) for g in self.type_globs)

    def accepts(self, rel: str) -> bool:
        """Whether rg would search `rel` (relative to the search root); for unsaved buffers."""
        positive = [g for g in self.globs if not g.startswith("!")]
        negative = [g[1:] for g in self.globs if g.startswith("!")]
        if positive and not _gitignore_match(positive, rel):
            return False
        if negative and _gitignore_match(negative, rel):
            return False
        return self.type_accepts(rel)


def _gitignore_match(globs: list[str], rel: str) -> bool:
    # rg globs follow gitignore rules: a glob without a slash matches at any depth.
    from pathspec import PathSpec  # On first use (issue 15).
    from pathspec.patterns.gitignore.basic import GitIgnoreBasicPattern

    patterns = [GitIgnoreBasicPattern(alt) for g in globs for alt in expand_braces(g)]
    return PathSpec(patterns).match_file(rel)


async def _type_globs(ctx: ToolContext, cwd: Path, type_: str) -> tuple[str, ...]:
    result = await run_rg(ctx, ["--no-config", "--type-list"], cwd)
    for line in result.output.splitlines():
        name, _, patterns = line.partition(":")
        if name.strip() == type_:
            return tuple(alt for p in patterns.split(",") for alt in expand_braces(p.strip()))
    raise ToolError(f"Unknown file type {type_!r}. Use a name from `rg --type-list`, e.g. py, js, rust.")

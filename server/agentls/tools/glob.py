"""The Glob tool: find files by name pattern, newest first, skipping what .gitignore excludes.

ripgrep walks the directory (it knows .gitignore, .ignore and hidden-file rules, inside or
outside a git checkout) and sorts by modification time; `pathspec` then matches the pattern
against each path relative to the search directory. Patterns are anchored there, so `*.py`
means "top level only" and `**/*.py` means "at any depth", as in a shell with globstar.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pydantic import Field

from agentls.tools.base import Tool, ToolContext, ToolEnv, ToolError, ToolInput, ToolOutput, resolve_path
from agentls.tools.ripgrep import COMMON_FLAGS, expand_braces, run_rg

if TYPE_CHECKING:
    from pathspec import PathSpec
    from pathspec.patterns.gitignore.basic import GitIgnoreBasicPattern

_GLOB_CHARS = frozenset("*?[{")
_LISTING_LIMIT = 20_000_000
"""Characters of `rg --files` output kept (bounded memory even for enormous trees)."""
_OMITTED = "characters of output omitted"


class GlobInput(ToolInput):
    pattern: str = Field(
        description='The glob pattern to match files against, e.g. "**/*.py" or "src/*.{ts,tsx}"'
    )
    path: str | None = Field(
        default=None,
        description=(
            "The directory to search in; omit it to search the workspace root. "
            "Do not pass the strings 'undefined' or 'null'."
        ),
    )


def compile_pattern(pattern: str) -> PathSpec[GitIgnoreBasicPattern]:
    """A matcher for paths relative to the search directory (POSIX separators)."""
    # pathspec is imported on first use: most sessions never glob (issue 15).
    from pathspec import PathSpec
    from pathspec.patterns.gitignore.basic import GitIgnoreBasicPattern

    # The leading "/" anchors each pattern at the search directory; without it gitignore rules
    # would let a slash-free pattern like `*.py` match at every depth.
    alternatives = [alt.strip().lstrip("/") for alt in expand_braces(pattern)]
    return PathSpec([GitIgnoreBasicPattern("/" + alt) for alt in alternatives if alt])


def split_absolute(pattern: str) -> tuple[Path, str]:
    """Split `/abs/dir/**/*.py` into its literal directory and the glob below it."""
    parts = PurePosixPath(pattern).parts
    literal = 1  # Past the root "/".
    while literal < len(parts) - 1 and not _GLOB_CHARS.intersection(parts[literal]):
        literal += 1
    return Path(*parts[:literal]), "/".join(parts[literal:])


class GlobTool(Tool[GlobInput]):
    name = "Glob"
    input_model = GlobInput
    read_only = True

    def description(self, env: ToolEnv) -> str:
        return (
            "Fast file-name search that works with any codebase size. Supports glob patterns "
            'such as "**/*.js" or "src/**/*.{ts,tsx}", matched relative to `path` (default: '
            f"{env.root}): `*.py` matches only that directory, `**/*.py` matches at any depth. "
            "Returns absolute paths of files (not directories), most recently modified first. "
            "Files excluded by .gitignore/.ignore and the .git directory are skipped; hidden "
            "files are included. Use it instead of find or ls; use Grep to search file contents. "
            "You can call several searches in one response when they are independent."
        )

    def paths(self, args: GlobInput, root: Path) -> tuple[Path, ...]:
        return (resolve_path(args.path, root) if args.path else root,)

    def summary(self, args: GlobInput, root: Path) -> str:
        return f"Glob {args.pattern}" + (f" in {args.path}" if args.path else "")

    async def call(self, args: GlobInput, ctx: ToolContext) -> ToolOutput:
        root = ctx.workspace.root
        base = resolve_path(args.path, root) if args.path else root
        pattern = args.pattern.strip()
        if not pattern:
            raise ToolError("The pattern is empty. Pass a glob such as **/*.py.")
        if pattern.startswith("/"):
            # An absolute pattern names its own directory; `path` is then only a default.
            literal, pattern = split_absolute(pattern)
            base = resolve_path(str(literal), root)
        st = await ctx.workspace.stat(base)
        if st is None:
            raise ToolError(f"Directory does not exist: {base}")
        if st.kind != "directory":
            raise ToolError(f"Not a directory: {base}. Pass a directory as `path`.")

        matcher = compile_pattern(pattern)
        found, incomplete = await _list_files(ctx, base)
        matches: list[Path] = []
        seen: set[Path] = set()
        # Unsaved buffers are being edited right now, so they count as the newest files.
        for path in sorted(ctx.workspace.overlay().texts):
            rel = _relative(path, base)
            if rel is not None and matcher.match_file(rel) and path not in seen:
                seen.add(path)
                matches.append(path)
        for rel in found:
            path = base / rel
            if path not in seen and matcher.match_file(rel):
                seen.add(path)
                matches.append(path)
        shown = [p for p in matches if not ctx.is_hidden(p)]
        text = _format(shown, ctx.limits.glob_max_results, incomplete)
        if len(shown) < len(matches):
            text += f"\n({len(matches) - len(shown)} matching files are hidden by Read deny rules.)"
        return ToolOutput(content=text)


async def _list_files(ctx: ToolContext, base: Path) -> tuple[list[str], bool]:
    """Paths under `base` (relative, POSIX), newest first, and whether the listing was cut short."""
    result = await run_rg(
        ctx, ["--files", *COMMON_FLAGS, "--null", "--sortr=modified"], base, output_limit=_LISTING_LIMIT
    )
    if result.exit_code == 2 and "\0" not in result.output:
        raise ToolError(f"Listing files failed: {result.output.strip()}")
    entries = [e for e in result.output.split("\0") if e and _OMITTED not in e]
    # With --files, rg prints paths relative to its working directory, sometimes with "./".
    files = [e.removeprefix("./") for e in entries]
    return files, result.truncated_chars > 0


def _relative(path: Path, base: Path) -> str | None:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return None


def _format(matches: list[Path], limit: int, incomplete: bool) -> str:
    if not matches:
        return "No files found" + (
            " (the directory listing was too large to read completely)" if incomplete else ""
        )
    lines = [str(p) for p in matches[:limit]]
    if len(matches) > limit:
        lines.append(
            f"({len(matches) - limit} more files matched but are not shown; "
            "use a more specific pattern or path.)"
        )
    if incomplete:
        lines.append("(The directory is too large to list completely; some matches may be missing.)")
    return "\n".join(lines)

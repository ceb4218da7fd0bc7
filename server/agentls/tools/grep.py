"""The Grep tool: ripgrep over the workspace, in Claude Code's input shape.

rg does the searching (parallel, .gitignore-aware); this module builds its argv, parses its
NUL-separated output into per-file results, orders files newest first, applies `head_limit`
and the output cap, and splices in unsaved editor buffers: each overlay text is piped to rg on
stdin with the same flags and reported under its own path, while its disk copy is excluded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field

from agentls.tools.base import Tool, ToolContext, ToolEnv, ToolError, ToolInput, ToolOutput, resolve_path
from agentls.tools.ripgrep import COMMON_FLAGS, FileFilter, escape_glob, run_rg

OutputMode = Literal["content", "files_with_matches", "count"]

_OMITTED = re.compile(r"\n\[\.\.\. \d+ characters of output omitted \.\.\.\]\n")
_CONTEXT_LINE = re.compile(r"\d+-")


class GrepInput(ToolInput):
    pattern: str = Field(description="Regular expression to search file contents for (Rust regex syntax)")
    path: str | None = Field(
        default=None, description="File or directory to search; defaults to the workspace root"
    )
    glob: str | None = Field(
        default=None,
        description='Only search files matching this glob (rg --glob), e.g. "*.js" or "*.{ts,tsx}"',
    )
    type: str | None = Field(
        default=None, description="Only search this file type (rg --type), e.g. py, js, rust, go, java"
    )
    output_mode: OutputMode | None = Field(
        default=None,
        description=(
            '"content" shows matching lines (honours -A/-B/-C, -n), "files_with_matches" lists '
            'files (the default), "count" shows match counts per file'
        ),
    )
    case_insensitive: bool | None = Field(default=None, alias="-i", description="Case-insensitive search")
    line_numbers: bool | None = Field(
        default=None, alias="-n", description="Show line numbers (content mode; default true)"
    )
    after_context: int | None = Field(
        default=None, alias="-A", ge=0, description="Lines to show after each match (content mode)"
    )
    before_context: int | None = Field(
        default=None, alias="-B", ge=0, description="Lines to show before each match (content mode)"
    )
    context: int | None = Field(
        default=None, alias="-C", ge=0, description="Lines to show before and after each match (content mode)"
    )
    multiline: bool | None = Field(
        default=None, description="Let patterns span lines and `.` match newlines (rg -U --multiline-dotall)"
    )
    head_limit: int | None = Field(
        default=None,
        ge=0,
        description="Show only the first N lines/files/entries (default 250; 0 means no limit)",
    )


@dataclass
class _FileHits:
    path: str
    """As displayed: relative to the workspace root when inside it."""
    lines: list[str] = field(default_factory=list)
    """Content mode: `N:text`/`N-text` lines and `--` separators; count mode: the count."""


class GrepTool(Tool[GrepInput]):
    name = "Grep"
    input_model = GrepInput
    read_only = True

    def description(self, env: ToolEnv) -> str:
        return (
            "Searches file contents with ripgrep. Use it instead of running grep or rg through Bash.\n"
            '- Full regex syntax (e.g. "log.*Error", "def\\s+\\w+"); literal braces need escaping '
            '("interface\\{\\}" finds interface{}).\n'
            f'- Searches {env.root} by default; narrow with `path`, `glob` (e.g. "*.py", '
            '"**/*.{ts,tsx}") or `type` (e.g. py, js, rust).\n'
            '- output_mode: "files_with_matches" (default; newest files first), "content" '
            '(matching lines, with -n, -A/-B/-C context), or "count".\n'
            "- Matches are single-line unless multiline=true.\n"
            "- Files excluded by .gitignore/.ignore are skipped; hidden files are searched.\n"
            "- Results stop at head_limit (default 250) lines or files; paths are relative to the "
            "workspace root. Unsaved editor changes are searched instead of the file on disk."
        )

    def paths(self, args: GrepInput, root: Path) -> tuple[Path, ...]:
        return (resolve_path(args.path, root) if args.path else root,)

    def summary(self, args: GrepInput, root: Path) -> str:
        where = f" in {args.path}" if args.path else ""
        flt = f" ({args.glob or args.type})" if args.glob or args.type else ""
        return f'Grep "{args.pattern[:60]}"{where}{flt}'

    async def call(self, args: GrepInput, ctx: ToolContext) -> ToolOutput:
        root = ctx.workspace.root
        target = resolve_path(args.path, root) if args.path else root
        mode: OutputMode = args.output_mode or "files_with_matches"
        # Buffers outside the root are left out: rg's exclusion globs are relative to the root.
        overlay = {
            p: t for p, t in ctx.workspace.overlay().texts.items() if _under(p, root) and _under(p, target)
        }
        st = await ctx.workspace.stat(target)
        if st is None and target not in overlay:
            raise ToolError(f"Path does not exist: {target}")
        if st is not None and st.kind == "other" and target not in overlay:
            # A FIFO, socket or device: ripgrep would wait on it (a FIFO until a writer comes).
            raise ToolError(f"Not a regular file or a directory, so not searched: {target}")
        flt = await FileFilter.build(ctx, root, args.glob, args.type, need_type_globs=bool(overlay))
        flags = self._flags(args, mode, flt)

        hits: list[_FileHits] = []
        incomplete = False
        if target not in overlay:
            excludes = [f"--glob=!/{escape_glob(p.relative_to(root).as_posix())}" for p in overlay]
            search = _display(target, root)
            output, cut = await _search(ctx, [*flags, *excludes, "--", search], root, None)
            incomplete |= cut
            hits = [h for h in _parse(output, mode, strip_dot=search == ".") if flt.type_accepts(h.path)]
        unsaved: list[_FileHits] = []
        for path, text in sorted(overlay.items()):
            if path != target and not flt.accepts(path.relative_to(root).as_posix()):
                continue
            output, cut = await _search(
                ctx, [*flags, "--", "-"], root, text.encode("utf-8", "surrogateescape")
            )
            incomplete |= cut
            for file_hits in _parse(output, mode, strip_dot=False):
                file_hits.path = _display(path, root)
                unsaved.append(file_hits)

        hits = unsaved + await _newest_first(ctx, root, hits)
        kept = [h for h in hits if not ctx.is_hidden(resolve_path(h.path, root))]
        hidden_note = (
            f"\n({len(hits) - len(kept)} matching files are hidden by Read deny rules.)"
            if len(kept) < len(hits)
            else ""
        )
        hits = kept
        if not hits:
            return ToolOutput(content="No matches found" + hidden_note)
        head_limit = ctx.limits.grep_default_head_limit if args.head_limit is None else args.head_limit
        text = _format(
            hits,
            mode,
            head_limit,
            context=bool(args.after_context or args.before_context or args.context),
            numbered=args.line_numbers is not False,
        )
        if incomplete:
            text += "\n(Some output was too large to read completely; narrow the search.)"
        return ToolOutput(content=_cap(text + hidden_note, ctx.limits.grep_output_chars))

    @staticmethod
    def _flags(args: GrepInput, mode: OutputMode, flt: FileFilter) -> list[str]:
        flags = [*COMMON_FLAGS, "--color=never", "--no-messages", "--null", "--with-filename"]
        if args.case_insensitive:
            flags.append("--ignore-case")
        if args.multiline:
            flags += ["--multiline", "--multiline-dotall"]
        flags += flt.rg_flags()
        if mode == "files_with_matches":
            flags.append("--files-with-matches")
        elif mode == "count":
            flags.append("--count")
        else:
            flags += ["--no-heading", "--max-columns=500", "--max-columns-preview"]
            flags.append("--no-line-number" if args.line_numbers is False else "--line-number")
            if args.context is not None:
                flags.append(f"--context={args.context}")
            if args.after_context is not None:
                flags.append(f"--after-context={args.after_context}")
            if args.before_context is not None:
                flags.append(f"--before-context={args.before_context}")
        # `--regexp=` keeps a pattern that starts with "-" from being read as a flag.
        return [*flags, f"--regexp={args.pattern}"]


def _under(path: Path, base: Path) -> bool:
    return path == base or path.is_relative_to(base)


def _display(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if _under(path, root) else str(path)


async def _search(ctx: ToolContext, argv: list[str], root: Path, stdin: bytes | None) -> tuple[str, bool]:
    """rg's output (matches only) and whether it was cut short; exit 2 with no results is an error."""
    result = await run_rg(ctx, argv, root, stdin=stdin)
    output = result.output
    if result.exit_code == 2 and (output.startswith("rg: ") or "\0" not in output):
        message = output.strip().removeprefix("rg: ") or "ripgrep failed"
        raise ToolError(f"Search failed: {message}")
    if result.truncated_chars:
        # Keep the head only: its last line may be partial, so drop that too.
        output = _OMITTED.split(output, maxsplit=1)[0].rpartition("\n")[0]
    return output, bool(result.truncated_chars)


def _parse(output: str, mode: OutputMode, *, strip_dot: bool) -> list[_FileHits]:
    """Group `path\\0rest` lines by file, keeping rg's `--` separators inside a file."""
    if mode == "files_with_matches":
        # With --null, -l output is the paths each followed by NUL, without newlines.
        return [_FileHits(p.removeprefix("./") if strip_dot else p) for p in output.split("\0") if p.strip()]
    files: dict[str, _FileHits] = {}
    current: _FileHits | None = None
    pending_separator = False
    # Split on "\n" only: matched text may itself contain "\r", form feeds and the like.
    for raw in output.split("\n"):
        line = raw.removesuffix("\r")
        if mode == "content" and line == "--":
            pending_separator = True
            continue
        path, nul, rest = line.partition("\0")
        if not nul:
            continue
        if strip_dot:
            path = path.removeprefix("./")
        hits = files.setdefault(path, _FileHits(path))
        if pending_separator and hits is current:
            hits.lines.append("--")
        pending_separator = False
        current = hits
        hits.lines.append(rest)
    return list(files.values())


async def _newest_first(ctx: ToolContext, root: Path, hits: list[_FileHits]) -> list[_FileHits]:
    mtimes: dict[str, int] = {}
    for h in hits:
        st = await ctx.workspace.stat(resolve_path(h.path, root))
        mtimes[h.path] = st.mtime_ns if st is not None else 0
    return sorted(hits, key=lambda h: (-mtimes[h.path], h.path))


def _format(
    hits: list[_FileHits], mode: OutputMode, head_limit: int, *, context: bool, numbered: bool
) -> str:
    limit = head_limit or None
    if mode == "files_with_matches":
        shown = hits[:limit]
        lines = [f"Found {_plural(len(hits), 'file')}", *(h.path for h in shown)]
        if len(shown) < len(hits):
            lines.append(
                f"(Showing {len(shown)} of {len(hits)} files; narrow the search or raise head_limit.)"
            )
        return "\n".join(lines)
    if mode == "count":
        entries = [f"{h.path}:{n}" for h in hits for n in h.lines]
        total = sum(int(n) for h in hits for n in h.lines if n.isdigit())
        lines = entries[:limit]
        if len(lines) < len(entries):
            lines.append(f"(Showing {len(lines)} of {len(entries)} files; raise head_limit to see more.)")
        lines.append(f"\nFound {_plural(total, 'total occurrence')} across {_plural(len(hits), 'file')}.")
        return "\n".join(lines)
    out: list[str] = []
    for h in hits:
        if context and out:
            out.append("--")
        for rest in h.lines:
            if rest == "--":
                out.append(rest)
            else:
                # rg marks context lines `N-text` and matches `N:text`; keep that distinction.
                is_context = numbered and _CONTEXT_LINE.match(rest)
                out.append(f"{h.path}{'-' if is_context else ':'}{rest}")
    if limit is not None and len(out) > limit:
        return "\n".join(
            [*out[:limit], f"(Showing {limit} of {len(out)} lines; narrow the search or raise head_limit.)"]
        )
    return "\n".join(out)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    kept = text[: cut if cut > 0 else limit]
    return (
        f"{kept}\n(Output cut at {len(kept)} of {len(text)} characters; narrow the search or use head_limit.)"
    )

"""The Edit tool: replace an exact string in a file the model has read.

The match is done on the decoded text (BOM excluded) and sent to the workspace as `Replacement`s,
so every byte outside the replaced ranges, including a BOM, CRLF endings elsewhere and bytes that
are not valid UTF-8, stays exactly as it was. When there is no unique match the error says why
in terms the model can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from agentls.tools.base import (
    FileChange,
    FileInput,
    FileTool,
    ToolContext,
    ToolEnv,
    ToolError,
    ToolOutput,
    display_path,
    resolve_path,
)
from agentls.tools.diffs import unified_diff
from agentls.tools.read import number_line, read_for_change, split_lines
from agentls.workspace.port import EditFile, Replacement, WorkspaceError
from agentls.workspace.text import decode, newline_style

_SNIPPET_CONTEXT = 4
_SNIPPET_MAX_LINES = 60
_LINE_NUMBER_PREFIX = re.compile(r"^ *\d+\t", re.MULTILINE)


class EditInput(FileInput):
    file_path: str = Field(
        min_length=1,
        max_length=4096,
        description="Absolute path of the file to change "
        "(a relative path is taken from the working directory).",
    )
    old_string: str = Field(
        max_length=1_000_000,
        description="The exact text to replace, copied from the file without Read's line-number prefixes.",
    )
    new_string: str = Field(max_length=1_000_000, description="The text to put in its place.")
    replace_all: bool = Field(
        default=False, description="Replace every occurrence of old_string instead of exactly one."
    )

    @model_validator(mode="after")
    def _differ(self) -> Self:
        if self.old_string == self.new_string:
            raise ValueError("old_string and new_string are the same; there is nothing to change")
        return self


@dataclass(frozen=True)
class _Plan:
    path: Path
    label: str
    before: str
    after: str
    edit: EditFile
    new_start: int
    """Offset of the first replacement in `after`, for the snippet."""
    new_end: int


class EditTool(FileTool[EditInput]):
    name = "Edit"
    input_model = EditInput
    edits_files = True

    def description(self, env: ToolEnv) -> str:
        return (
            "Replace text in a file. `old_string` must match the file exactly (indentation "
            "included, without Read's line-number prefixes) and occur exactly once, unless "
            "`replace_all` is true; add surrounding lines to make it unique. You must Read the file "
            f"first. Pass an absolute path (relative paths are taken from {env.root}). Write `\\n` "
            "line endings even in CRLF files; they are converted. To create a file, use Write."
        )

    async def preview(self, args: EditInput, ctx: ToolContext) -> str | None:
        try:
            plan = await self._plan(args, ctx)
        except ToolError:
            return None  # `call` reports the problem; there is nothing to show.
        return unified_diff(plan.label, plan.before, plan.after)

    async def call(self, args: EditInput, ctx: ToolContext) -> ToolOutput:
        plan = await self._plan(args, ctx)
        try:
            applied = await ctx.workspace.apply([plan.edit])
        except WorkspaceError as e:
            raise ToolError(str(e)) from e
        ctx.read_state.record(plan.path, applied[0].version)
        count = len(plan.edit.replacements)
        first = plan.after.count("\n", 0, plan.new_start) + 1
        last = plan.after.count("\n", 0, max(plan.new_start, plan.new_end - 1)) + 1
        where = f"line {first}" if first == last else f"lines {first}-{last}"
        what = f"{count} occurrences replaced; the first is at {where}" if count > 1 else f"changed {where}"
        snippet = _snippet(plan.after, first, last, ctx.limits.read_max_line_chars)
        return ToolOutput(
            f"The file {plan.label} has been updated ({what}). Here is the edited region with "
            f"line numbers, as Read shows it:\n{snippet}",
            diff=unified_diff(plan.label, plan.before, plan.after),
            change=FileChange(plan.path, plan.before, plan.after),
        )

    async def _plan(self, args: EditInput, ctx: ToolContext) -> _Plan:
        root = ctx.workspace.root
        path = resolve_path(args.file_path, root)
        label = display_path(path, root)
        st = await ctx.workspace.stat(path)
        if st is None:
            raise ToolError(f"File does not exist: {label}. To create a new file, use the Write tool.")
        if not args.old_string:
            raise ToolError(
                "old_string is empty. Give the exact text to replace; to replace the whole file, use Write."
            )
        content = await read_for_change(ctx, path, label)
        decoded = decode(content.data)
        text = decoded.text
        old, new = args.old_string, args.new_string
        if newline_style(text) == "\r\n" and "\n" in old and "\r\n" not in old:
            # The model writes "\n"; in a CRLF file the same text is spelled with "\r\n".
            crlf_old = old.replace("\n", "\r\n")
            if crlf_old in text:
                old, new = crlf_old, new.replace("\r\n", "\n").replace("\n", "\r\n")
        starts = _find_all(text, old)
        if not starts:
            raise ToolError(_no_match_message(label, text, old, decoded.valid_utf8))
        if len(starts) > 1 and not args.replace_all:
            raise ToolError(
                f"Found {len(starts)} matches of old_string in {label}, but replace_all is false. "
                "Add more surrounding lines to old_string to make it unique, or set replace_all to "
                "true to replace every occurrence."
            )
        replacements = tuple(Replacement(s, s + len(old), new) for s in starts)
        ends = [s + len(old) for s in starts]
        after = new.join(text[a:b] for a, b in zip([0, *ends], [*starts, len(text)], strict=True))
        return _Plan(
            path,
            label,
            text,
            after,
            EditFile(path, content.version, replacements, ctx.checked_target(path)),
            new_start=starts[0],
            new_end=starts[0] + len(new),
        )


def _find_all(text: str, needle: str) -> list[int]:
    """Start offsets of non-overlapping occurrences, left to right (as str.replace would use)."""
    starts: list[int] = []
    i = text.find(needle)
    while i != -1:
        starts.append(i)
        i = text.find(needle, i + len(needle))
    return starts


def _no_match_message(label: str, text: str, old: str, valid_utf8: bool) -> str:
    message = f"old_string was not found in {label}. It must match the file exactly, whitespace included."
    hints: list[str] = []
    if _LINE_NUMBER_PREFIX.search(old):
        hints.append("old_string seems to include Read's line-number prefixes; leave them out.")
    if "\r\n" in old and old.replace("\r\n", "\n") in text:
        hints.append("It would match with \\n line endings instead of \\r\\n.")
    elif "\r\n" in text and "\n" in old and old.replace("\r\n", "\n").replace("\n", "\r\n") in text:
        hints.append("It would match with the file's \\r\\n line endings.")
    elif " ".join(old.split()) and " ".join(old.split()) in " ".join(text.split()):
        hints.append(
            "A match exists if whitespace is ignored: check indentation (tabs or spaces) and line "
            "breaks, and copy the text exactly as Read shows it."
        )
    if "\ufffd" in old and not valid_utf8:
        hints.append(
            "The file has bytes that are not valid UTF-8, shown by Read as \ufffd; old_string cannot "
            "match them, so choose text around them."
        )
    return " ".join([message, *hints])


def _snippet(after: str, first: int, last: int, max_line_chars: int) -> str:
    lines = split_lines(after) or [""]
    start = max(1, first - _SNIPPET_CONTEXT)
    end = min(len(lines), last + _SNIPPET_CONTEXT)
    shown = range(start, min(end, start + _SNIPPET_MAX_LINES - 1) + 1)
    out = [number_line(n, lines[n - 1], max_line_chars) for n in shown]
    if shown[-1] < end:
        out.append(f"… ({end - shown[-1]} more lines of the edited region not shown)")
    return "\n".join(out)

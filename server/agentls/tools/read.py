"""The Read tool, and the read-before-change rule that Write and Edit enforce.

Read shows a text file the way `cat -n` would, bounded in lines, line length and total size, and
records the version it showed in `FileReadState`. Write and Edit call `read_for_change` so they
only change files whose current content the model has actually seen.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from agentls.tools.base import (
    FileInput,
    FileTool,
    ToolContext,
    ToolEnv,
    ToolError,
    ToolLimits,
    ToolOutput,
    display_path,
    resolve_path,
)
from agentls.workspace.port import FileContent, WorkspaceError
from agentls.workspace.text import decode, for_display, looks_binary

_UNSUPPORTED_MEDIA = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".ico", ".tif", ".tiff", ".heic", ".avif", ".pdf"}
)
# Formats that are binary even when their first 8 KiB happen to contain no NUL byte.
_BINARY_SUFFIXES = frozenset(
    {
        *(".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".tar", ".jar", ".war", ".whl"),
        *(".class", ".so", ".dylib", ".dll", ".exe", ".o", ".a", ".obj", ".lib", ".pyc", ".pyo", ".wasm"),
        *(".mp3", ".mp4", ".wav", ".ogg", ".flac", ".avi", ".mov", ".mkv", ".webm"),
        *(".woff", ".woff2", ".ttf", ".otf", ".eot", ".sqlite", ".sqlite3", ".db", ".psd", ".iso", ".dmg"),
        *(".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".npy", ".npz", ".pkl", ".parquet"),
    }
)

NOT_READ_YET = "File has not been read yet. Read it first before writing to it."


class ReadInput(FileInput):
    file_path: str = Field(
        min_length=1,
        max_length=4096,
        description="Absolute path of the file to read "
        "(a relative path is taken from the working directory).",
    )
    offset: int | None = Field(
        default=None,
        ge=1,
        description="Line number to start reading at (1 is the first line). Only needed for files "
        "too long to read in one call.",
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        description="How many lines to read from `offset`. Only needed for files too long to "
        "read in one call.",
    )


class ReadTool(FileTool[ReadInput]):
    name = "Read"
    input_model = ReadInput
    read_only = True

    def description(self, env: ToolEnv) -> str:
        return (
            "Read a text file. The result shows each line prefixed by its line number and a tab, "
            "like `cat -n`; that prefix is not part of the file. Pass an absolute path (relative "
            f"paths are taken from {env.root}). Long files are returned in part with a note on how "
            "to continue: use `offset` (the line to start at) and `limit` (how many lines). Very "
            "long lines are cut. You see the editor's view of the file, including unsaved changes. "
            "Images, PDFs and other binary files cannot be read. Read a file before changing it "
            "with Edit or Write."
        )

    async def call(self, args: ReadInput, ctx: ToolContext) -> ToolOutput:
        root = ctx.workspace.root
        path = resolve_path(args.file_path, root)
        label = display_path(path, root)
        st = await ctx.workspace.stat(path)
        if st is not None and st.kind == "file":
            _refuse_unsupported(path, label, st.size, ctx.limits.read_max_file_bytes)
        content = await read_file(ctx, path)
        if looks_binary(content.data):
            raise ToolError(
                f"{label} appears to be a binary file (it contains NUL bytes); Read only supports text."
            )
        decoded = decode(content.data)
        ctx.read_state.record(path, content.version)
        if not decoded.text:
            return ToolOutput(f"{label} exists but is empty (0 lines).")
        lines = split_lines(decoded.text)
        start = args.offset or 1
        if start > len(lines):
            raise ToolError(
                f"{label} has only {len(lines)} lines, so offset {start} is past the end. "
                f"Use an offset from 1 to {len(lines)}."
            )
        body = _render(lines, start, args.limit or ctx.limits.read_max_lines, ctx.limits)
        if not decoded.valid_utf8:
            body = (
                "[Note: this file is not valid UTF-8; undecodable bytes are shown as \ufffd. Edit "
                "keeps them intact but old_string cannot match them.]\n" + body
            )
        return ToolOutput(body)


def split_lines(text: str) -> list[str]:
    """The file's lines without line endings; CRLF is shown as a plain line break."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # A final newline ends the last line; it does not start another.
    return [line.removesuffix("\r") for line in lines]


def number_line(lineno: int, line: str, max_chars: int) -> str:
    """One line in `cat -n` form, shown for display and cut at `max_chars` with a marker."""
    line = for_display(line)
    if len(line) > max_chars:
        line = f"{line[:max_chars]}… [line truncated: {len(line)} characters]"
    return f"{lineno:>6}\t{line}"


def _render(lines: list[str], start: int, limit: int, limits: ToolLimits) -> str:
    out: list[str] = []
    size = 0
    stop = min(len(lines), start - 1 + limit)
    reason = "line limit"
    for index in range(start - 1, stop):
        numbered = number_line(index + 1, lines[index], limits.read_max_line_chars)
        # Always show at least one line so a call with the suggested offset makes progress.
        if out and size + len(numbered) + 1 > limits.read_max_output_chars:
            reason = "output size limit"
            break
        out.append(numbered)
        size += len(numbered) + 1
    end = start - 1 + len(out)
    text = "\n".join(out)
    if end < len(lines):
        text += (
            f"\n\n[Showing lines {start}-{end} of {len(lines)} ({reason} reached). To read more, "
            f"call Read again with offset={end + 1} and, if needed, a limit.]"
        )
    return text


def _refuse_unsupported(path: Path, label: str, size: int, max_bytes: int) -> None:
    suffix = path.suffix.lower()
    if suffix in _UNSUPPORTED_MEDIA:
        raise ToolError(f"{label} is an image or PDF ({suffix}); Read only supports text files.")
    if suffix in _BINARY_SUFFIXES:
        raise ToolError(f"{label} is a binary file ({suffix}); Read only supports text files.")
    if size > max_bytes:
        raise ToolError(
            f"{label} is too large to read ({size} bytes). Use Grep to search it, "
            "or Bash (head, tail, sed -n) to look at parts of it."
        )


async def read_file(ctx: ToolContext, path: Path) -> FileContent:
    """`ctx.workspace.read`, with its failures turned into messages for the model."""
    try:
        return await ctx.workspace.read(path, checked_target=ctx.checked_target(path))
    except WorkspaceError as e:
        raise ToolError(str(e)) from e


async def read_for_change(ctx: ToolContext, path: Path, label: str) -> FileContent:
    """The current content of a file the model is about to change, if it has seen this version."""
    seen = ctx.read_state.seen_version(path)
    if seen is None:
        raise ToolError(NOT_READ_YET)
    content = await read_file(ctx, path)
    if content.version != seen:
        raise ToolError(
            f"File has been modified since it was read (by the user, a formatter or another tool): "
            f"{label}. Read it again before changing it."
        )
    return content

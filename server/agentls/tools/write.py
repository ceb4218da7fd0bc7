"""The Write tool: create a file, or replace the whole content of one the model has read.

Overwriting requires a prior Read of the current version (`read_for_change`), and the write is
applied with that version as `expected_version`, so a change made by the user in between is
never silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

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
from agentls.tools.read import read_for_change
from agentls.workspace.port import WorkspaceError, WriteFile
from agentls.workspace.text import decode


class WriteInput(FileInput):
    file_path: str = Field(
        min_length=1,
        max_length=4096,
        description="Absolute path of the file to write "
        "(a relative path is taken from the working directory).",
    )
    content: str = Field(max_length=5_000_000, description="The complete new content of the file.")


@dataclass(frozen=True)
class _Plan:
    path: Path
    label: str
    before: str
    change: WriteFile


class WriteTool(FileTool[WriteInput]):
    name = "Write"
    input_model = WriteInput
    edits_files = True
    destructive = True

    def description(self, env: ToolEnv) -> str:
        return (
            "Write a file, replacing all of its content; missing parent directories are created. "
            f"Pass an absolute path (relative paths are taken from {env.root}). To overwrite an "
            "existing file you must Read it first, and the write fails if it changed since. Prefer "
            "Edit for changing part of a file: it sends only the changed text. Content is written "
            "exactly as given, line endings included."
        )

    async def preview(self, args: WriteInput, ctx: ToolContext) -> str | None:
        try:
            plan = await self._plan(args, ctx)
        except ToolError:
            return None  # `call` reports the problem; there is nothing to show.
        return unified_diff(plan.label, plan.before, plan.change.text)

    async def call(self, args: WriteInput, ctx: ToolContext) -> ToolOutput:
        plan = await self._plan(args, ctx)
        try:
            applied = await ctx.workspace.apply([plan.change])
        except WorkspaceError as e:
            raise ToolError(str(e)) from e
        ctx.read_state.record(plan.path, applied[0].version)
        text = plan.change.text
        lines = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
        verb = "Created" if plan.change.expected_version is None else "Updated"
        return ToolOutput(
            f"{verb} {plan.label} ({lines} lines)",
            diff=unified_diff(plan.label, plan.before, text),
            change=FileChange(plan.path, None if plan.change.expected_version is None else plan.before, text),
        )

    async def _plan(self, args: WriteInput, ctx: ToolContext) -> _Plan:
        root = ctx.workspace.root
        path = resolve_path(args.file_path, root)
        label = display_path(path, root)
        st = await ctx.workspace.stat(path)
        if st is None:
            return _Plan(path, label, "", WriteFile(path, args.content, None, ctx.checked_target(path)))
        if st.kind == "directory":
            raise ToolError(f"{label} is a directory; Write needs a file path.")
        current = await read_for_change(ctx, path, label)
        decoded = decode(current.data)
        text = args.content
        if decoded.bom and text.startswith("\ufeff"):
            # The workspace keeps an existing file's BOM (and encoding): editors hide the BOM, so
            # the model cannot know it is there and dropping it would change every byte offset
            # tools and compilers see. A BOM the model wrote itself would otherwise be doubled.
            text = text[1:]
        return _Plan(
            path, label, decoded.text, WriteFile(path, text, current.version, ctx.checked_target(path))
        )

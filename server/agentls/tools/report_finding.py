"""ReportFinding: how a review session hands one issue back to the editor.

The tool itself only checks that the finding points at real lines of a real file and confirms it
to the model. It does not store or publish anything: tools never import the core or LSP. The
language server sees the call's input in the turn's `ToolCallStarted` event and its success in
`ToolCallFinished`, and turns the pair into a diagnostic. Validating here means a finding that
reaches the editor always names lines that existed when the model reported it, and a model that
got a line number wrong is told so and can retry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from agentls.tools.base import (
    FileInput,
    FileTool,
    ToolContext,
    ToolEnv,
    ToolError,
    ToolOutput,
    display_path,
    resolve_path,
)
from agentls.tools.read import read_file, split_lines
from agentls.workspace.text import decode, looks_binary

REPORT_FINDING = "ReportFinding"

Severity = Literal["error", "warning", "info", "hint"]


class ReportFindingInput(FileInput):
    file_path: str = Field(
        min_length=1,
        max_length=4096,
        description="Absolute path of the file the issue is in (a relative path is taken from the "
        "working directory).",
    )
    line: int = Field(ge=1, description="First line of the issue (1 is the first line of the file).")
    end_line: int | None = Field(
        default=None,
        ge=1,
        description="Last line of the issue, if it spans several lines (inclusive).",
    )
    severity: Severity = Field(
        description="error: a bug or a crash; warning: likely wrong or fragile; info: worth knowing; "
        "hint: style or a small improvement."
    )
    code: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        description="A short kebab-case id for the kind of issue, e.g. null-deref, off-by-one, "
        "unclosed-file, sql-injection.",
    )
    message: str = Field(
        min_length=1,
        max_length=2000,
        description="What is wrong and why, in one or two sentences a developer can act on.",
    )

    @model_validator(mode="after")
    def _end_after_start(self) -> ReportFindingInput:
        if self.end_line is not None and self.end_line < self.line:
            raise ValueError(f"end_line ({self.end_line}) is before line ({self.line})")
        return self


class ReportFindingTool(FileTool[ReportFindingInput]):
    name = REPORT_FINDING
    input_model = ReportFindingInput
    read_only = True

    def description(self, env: ToolEnv) -> str:
        return (
            "Report one issue found while reviewing code. The issue is shown in the user's editor "
            "as a diagnostic on the given lines, so point at the lines that need to change. Call it "
            "once per issue; do not repeat an issue you already reported. Line numbers are the ones "
            "Read shows (1 is the first line). Use a short kebab-case `code` for the kind of issue "
            "and a `message` that says what is wrong and why. Reporting an issue changes no file."
        )

    def summary(self, args: ReportFindingInput, root: Path) -> str:
        where = f"{display_path(resolve_path(args.file_path, root), root)}:{_lines(args)}"
        return f"{self.name} {where} {args.code}"

    async def call(self, args: ReportFindingInput, ctx: ToolContext) -> ToolOutput:
        root = ctx.workspace.root
        path = resolve_path(args.file_path, root)
        label = display_path(path, root)
        content = await read_file(ctx, path)
        if looks_binary(content.data):
            raise ToolError(f"{label} is a binary file; findings can only point at text files.")
        count = len(split_lines(decode(content.data).text))
        last = args.end_line or args.line
        if last > count:
            which = "end_line" if args.end_line is not None else "line"
            raise ToolError(
                f"{which} {last} is past the end of {label}, which has {count} line(s). "
                "Read the file to check the line numbers, then report the finding again."
            )
        return ToolOutput(
            f"Reported {args.severity} {args.code} at {label}:{_lines(args)}. "
            "It is shown to the user in the editor."
        )


def _lines(args: ReportFindingInput) -> str:
    if args.end_line is None or args.end_line == args.line:
        return str(args.line)
    return f"{args.line}-{args.end_line}"

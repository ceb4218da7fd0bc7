"""WriteTool: create, read-before-overwrite, staleness, BOM handling, diff and preview."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from agentls.tools.base import ToolContext, ToolEnv, ToolError, ToolOutput
from agentls.tools.read import ReadTool
from agentls.tools.write import WriteInput, WriteTool
from agentls.workspace.text import content_version

TOOL = WriteTool()


async def write(ctx: ToolContext, **raw: Any) -> ToolOutput:
    return await TOOL.call(TOOL.parse(raw), ctx)


async def read_first(ctx: ToolContext, path: Path) -> None:
    reader = ReadTool()
    await reader.call(reader.parse({"file_path": str(path)}), ctx)


def test_metadata_and_schema(project: Path) -> None:
    assert (TOOL.name, TOOL.edits_files, TOOL.destructive, TOOL.read_only) == ("Write", True, True, False)
    schema = TOOL.input_schema()
    assert set(schema["properties"]) == {"file_path", "content"}
    assert schema["required"] == ["file_path", "content"]
    assert schema["additionalProperties"] is False
    assert str(project) in TOOL.description(ToolEnv(root=project))
    args = WriteInput(file_path="pkg/m.py", content="")
    assert TOOL.paths(args, project) == (project / "pkg" / "m.py",)
    assert WriteTool().summary(args, project) == "Write pkg/m.py"


@pytest.mark.parametrize(
    "raw",
    [
        {"file_path": "a.txt"},
        {"content": "x"},
        {"file_path": "a.txt", "content": 5},
        {"file_path": "a.txt", "content": "x", "mode": "append"},
        {"file_path": "a.txt", "content": "x" * 5_000_001},
    ],
)
def test_invalid_input_fails_validation(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TOOL.parse(raw)


async def test_create_new_file(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "pkg" / "new.py"
    out = await write(tool_ctx, file_path=str(path), content="a = 1\nb = 2\n")
    assert out.content == "Created pkg/new.py (2 lines)"
    assert out.diff == "--- a/pkg/new.py\n+++ b/pkg/new.py\n@@ -0,0 +1,2 @@\n+a = 1\n+b = 2\n"
    assert path.read_bytes() == b"a = 1\nb = 2\n"
    assert tool_ctx.read_state.seen_version(path) == content_version(b"a = 1\nb = 2\n")


async def test_line_count_without_final_newline(tool_ctx: ToolContext, project: Path) -> None:
    out = await write(tool_ctx, file_path="x.txt", content="one\ntwo")
    assert out.content == "Created x.txt (2 lines)"
    out = await write(tool_ctx, file_path="empty.txt", content="")
    assert out.content == "Created empty.txt (0 lines)"
    assert (project / "empty.txt").read_bytes() == b""


async def test_overwrite_requires_read(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_text("old\n")
    with pytest.raises(ToolError) as exc:
        await write(tool_ctx, file_path=str(path), content="new\n")
    assert str(exc.value) == "File has not been read yet. Read it first before writing to it."
    assert path.read_text() == "old\n"


async def test_overwrite_after_read(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_text("keep\nold\n")
    await read_first(tool_ctx, path)
    out = await write(tool_ctx, file_path=str(path), content="keep\nnew\nmore\n")
    assert out.content == "Updated a.txt (3 lines)"
    assert out.diff == "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,3 @@\n keep\n-old\n+new\n+more\n"
    assert path.read_text() == "keep\nnew\nmore\n"
    # The new version is recorded, so a second write needs no new Read.
    await write(tool_ctx, file_path=str(path), content="again\n")
    assert path.read_text() == "again\n"


async def test_overwrite_of_file_changed_since_read(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_text("old\n")
    await read_first(tool_ctx, path)
    path.write_text("the user's change\n")
    with pytest.raises(ToolError, match=r"^File has been modified since it was read .*Read it again"):
        await write(tool_ctx, file_path=str(path), content="new\n")
    assert path.read_text() == "the user's change\n"


async def test_file_created_after_check_is_not_overwritten(
    tool_ctx: ToolContext, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Race: the file appears between the tool's stat and the workspace's apply.
    path = project / "race.txt"

    async def stat_then_someone_creates_it(p: Path) -> None:
        path.write_text("theirs")

    monkeypatch.setattr(tool_ctx.workspace, "stat", stat_then_someone_creates_it)
    with pytest.raises(ToolError, match=r"race\.txt already exists\. Read it first"):
        await write(tool_ctx, file_path=str(path), content="mine")
    assert path.read_text() == "theirs"


async def test_existing_bom_is_kept_and_not_doubled(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_bytes(codecs.BOM_UTF8 + b"old\r\n")
    await read_first(tool_ctx, path)
    await write(tool_ctx, file_path=str(path), content="new\n")
    assert path.read_bytes() == codecs.BOM_UTF8 + b"new\n"  # BOM kept, content as given.
    await write(tool_ctx, file_path=str(path), content="\ufeffagain\n")
    assert path.read_bytes() == codecs.BOM_UTF8 + b"again\n"


async def test_directory_target(tool_ctx: ToolContext, project: Path) -> None:
    (project / "d").mkdir()
    with pytest.raises(ToolError, match="is a directory"):
        await write(tool_ctx, file_path=str(project / "d"), content="x")


async def test_preview_shows_diff_without_writing(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_text("old\n")
    args = TOOL.parse({"file_path": str(path), "content": "new\n"})
    assert await TOOL.preview(args, tool_ctx) is None  # Not read yet: the call would fail.
    await read_first(tool_ctx, path)
    assert await TOOL.preview(args, tool_ctx) == "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-old\n+new\n"
    assert path.read_text() == "old\n"
    new_args = TOOL.parse({"file_path": str(project / "b.txt"), "content": "b"})
    assert await TOOL.preview(new_args, tool_ctx) == (
        "--- a/b.txt\n+++ b/b.txt\n@@ -0,0 +1 @@\n+b\n\\ No newline at end of file\n"
    )
    assert not (project / "b.txt").exists()

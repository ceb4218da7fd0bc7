"""EditTool: exact-match replacement, read-before-edit, CRLF handling, byte preservation, errors."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from agentls.tools.base import ToolContext, ToolEnv, ToolError, ToolOutput
from agentls.tools.edit import EditInput, EditTool
from agentls.tools.read import ReadTool
from agentls.workspace.text import content_version

TOOL = EditTool()


async def edit(ctx: ToolContext, **raw: Any) -> ToolOutput:
    return await TOOL.call(TOOL.parse(raw), ctx)


async def read_first(ctx: ToolContext, path: Path) -> None:
    reader = ReadTool()
    await reader.call(reader.parse({"file_path": str(path)}), ctx)


async def make(ctx: ToolContext, path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    await read_first(ctx, path)
    return path


def test_metadata_and_schema(project: Path) -> None:
    assert (TOOL.name, TOOL.edits_files, TOOL.destructive, TOOL.read_only) == ("Edit", True, False, False)
    schema = TOOL.input_schema()
    assert set(schema["properties"]) == {"file_path", "old_string", "new_string", "replace_all"}
    assert schema["required"] == ["file_path", "old_string", "new_string"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["replace_all"]["type"] == "boolean"
    assert str(project) in TOOL.description(ToolEnv(root=project))
    args = EditInput(file_path=str(project / "m.py"), old_string="a", new_string="b")
    assert TOOL.paths(args, project) == (project / "m.py",)
    assert EditTool().summary(args, project) == "Edit m.py"


@pytest.mark.parametrize(
    "raw",
    [
        {"file_path": "a", "old_string": "x"},
        {"file_path": "a", "old_string": "x", "new_string": "x"},
        {"file_path": "a", "old_string": "x", "new_string": "y", "replace_all": "sometimes"},
        {"file_path": "a", "old_string": 1, "new_string": "y"},
        {"file_path": "a", "old_string": "x", "new_string": "y", "line": 3},
    ],
)
def test_invalid_input_fails_validation(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TOOL.parse(raw)


def test_same_strings_message() -> None:
    with pytest.raises(ValidationError, match="old_string and new_string are the same"):
        TOOL.parse({"file_path": "a", "old_string": "x", "new_string": "x"})


async def test_single_edit_output_and_file(tool_ctx: ToolContext, project: Path) -> None:
    path = await make(tool_ctx, project / "a.py", b"".join(b"line %d\n" % i for i in range(1, 13)))
    out = await edit(tool_ctx, file_path=str(path), old_string="line 6\n", new_string="six\nSIX\n")
    assert path.read_bytes() == b"".join(b"line %d\n" % i for i in range(1, 6)) + b"six\nSIX\n" + b"".join(
        b"line %d\n" % i for i in range(7, 13)
    )
    assert out.content == (
        "The file a.py has been updated (changed lines 6-7). Here is the edited region with line "
        "numbers, as Read shows it:\n"
        "     2\tline 2\n     3\tline 3\n     4\tline 4\n     5\tline 5\n     6\tsix\n     7\tSIX\n"
        "     8\tline 7\n     9\tline 8\n    10\tline 9\n    11\tline 10"
    )
    assert out.diff == (
        "--- a/a.py\n+++ b/a.py\n@@ -3,7 +3,8 @@\n line 3\n line 4\n line 5\n-line 6\n+six\n+SIX\n"
        " line 7\n line 8\n line 9\n"
    )
    assert tool_ctx.read_state.seen_version(path) == content_version(path.read_bytes())


async def test_follow_up_edit_needs_no_new_read(tool_ctx: ToolContext, project: Path) -> None:
    path = await make(tool_ctx, project / "a.txt", b"one two\n")
    await edit(tool_ctx, file_path=str(path), old_string="one", new_string="1")
    out = await edit(tool_ctx, file_path=str(path), old_string="two", new_string="2")
    assert path.read_bytes() == b"1 2\n"
    assert out.content.startswith("The file a.txt has been updated (changed line 1).")


async def test_edit_without_read(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_text("x\n")
    with pytest.raises(ToolError) as exc:
        await edit(tool_ctx, file_path=str(path), old_string="x", new_string="y")
    assert str(exc.value) == "File has not been read yet. Read it first before writing to it."
    assert path.read_text() == "x\n"


async def test_stale_edit_refused(tool_ctx: ToolContext, project: Path) -> None:
    path = await make(tool_ctx, project / "a.txt", b"x\n")
    path.write_text("x changed by the user\n")
    with pytest.raises(ToolError) as exc:
        await edit(tool_ctx, file_path=str(path), old_string="x", new_string="y")
    assert str(exc.value) == (
        "File has been modified since it was read (by the user, a formatter or another tool): "
        "a.txt. Read it again before changing it."
    )
    assert path.read_text() == "x changed by the user\n"


async def test_missing_file_and_empty_old_string(tool_ctx: ToolContext, project: Path) -> None:
    with pytest.raises(ToolError) as exc:
        await edit(tool_ctx, file_path=str(project / "new.py"), old_string="", new_string="code")
    assert str(exc.value) == "File does not exist: new.py. To create a new file, use the Write tool."
    path = await make(tool_ctx, project / "a.txt", b"x\n")
    with pytest.raises(ToolError, match=r"^old_string is empty"):
        await edit(tool_ctx, file_path=str(path), old_string="", new_string="y")


async def test_no_match(tool_ctx: ToolContext, project: Path) -> None:
    path = await make(tool_ctx, project / "a.txt", b"alpha\n")
    with pytest.raises(ToolError) as exc:
        await edit(tool_ctx, file_path=str(path), old_string="beta", new_string="b")
    assert str(exc.value) == (
        "old_string was not found in a.txt. It must match the file exactly, whitespace included."
    )


async def test_no_match_whitespace_hint(tool_ctx: ToolContext, project: Path) -> None:
    path = await make(tool_ctx, project / "a.py", b"def f():\n\treturn 1\n")
    with pytest.raises(ToolError, match="A match exists if whitespace is ignored"):
        await edit(tool_ctx, file_path=str(path), old_string="def f():\n    return 1", new_string="x")


async def test_no_match_line_number_prefix_hint(tool_ctx: ToolContext, project: Path) -> None:
    path = await make(tool_ctx, project / "a.py", b"x = 1\n")
    with pytest.raises(ToolError, match="include Read's line-number prefixes"):
        await edit(tool_ctx, file_path=str(path), old_string="     1\tx = 1", new_string="x = 2")


async def test_no_match_line_ending_hint(tool_ctx: ToolContext, project: Path) -> None:
    path = await make(tool_ctx, project / "a.txt", b"a\nb\n")
    with pytest.raises(ToolError, match=r"would match with \\n line endings instead of \\r\\n"):
        await edit(tool_ctx, file_path=str(path), old_string="a\r\nb", new_string="x")


async def test_multiple_matches(tool_ctx: ToolContext, project: Path) -> None:
    path = await make(tool_ctx, project / "a.txt", b"x = 1\nx = 1\nx = 1\n")
    with pytest.raises(ToolError) as exc:
        await edit(tool_ctx, file_path=str(path), old_string="x = 1", new_string="x = 2")
    assert str(exc.value) == (
        "Found 3 matches of old_string in a.txt, but replace_all is false. Add more surrounding "
        "lines to old_string to make it unique, or set replace_all to true to replace every occurrence."
    )
    assert path.read_bytes() == b"x = 1\nx = 1\nx = 1\n"


async def test_replace_all(tool_ctx: ToolContext, project: Path) -> None:
    path = await make(tool_ctx, project / "a.txt", b"aa aaa b\nb aa\n")
    out = await edit(tool_ctx, file_path=str(path), old_string="aa", new_string="X", replace_all=True)
    assert path.read_bytes() == b"X Xa b\nb X\n"
    assert out.content.startswith(
        "The file a.txt has been updated (3 occurrences replaced; the first is at line 1)."
    )


async def test_crlf_file_with_lf_strings(tool_ctx: ToolContext, project: Path) -> None:
    path = await make(tool_ctx, project / "a.txt", b"a\r\nb\r\nc\r\n")
    out = await edit(tool_ctx, file_path=str(path), old_string="a\nb\n", new_string="x\ny\nz\n")
    assert path.read_bytes() == b"x\r\ny\r\nz\r\nc\r\n"
    assert "     1\tx\n     2\ty\n     3\tz\n     4\tc" in out.content


async def test_bom_crlf_and_invalid_bytes_outside_edit_are_preserved(
    tool_ctx: ToolContext, project: Path
) -> None:
    before = codecs.BOM_UTF8 + b"caf\xe9\r\nold line\r\n\xff\xfe tail\r\nno final newline"
    path = await make(tool_ctx, project / "a.txt", before)
    await edit(tool_ctx, file_path=str(path), old_string="old line\n", new_string="new\nlines\n")
    assert path.read_bytes() == (
        codecs.BOM_UTF8 + b"caf\xe9\r\nnew\r\nlines\r\n\xff\xfe tail\r\nno final newline"
    )


async def test_replacement_char_hint_for_invalid_utf8(tool_ctx: ToolContext, project: Path) -> None:
    path = await make(tool_ctx, project / "a.txt", b"caf\xe9\n")
    with pytest.raises(ToolError, match="shown by Read as \ufffd; old_string cannot match them"):
        await edit(tool_ctx, file_path=str(path), old_string="caf\ufffd", new_string="cafe")


async def test_preview_returns_diff_without_writing(tool_ctx: ToolContext, project: Path) -> None:
    path = await make(tool_ctx, project / "a.txt", b"one\ntwo\n")
    args = TOOL.parse({"file_path": str(path), "old_string": "two", "new_string": "2"})
    assert await TOOL.preview(args, tool_ctx) == "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+2\n"
    assert path.read_bytes() == b"one\ntwo\n"
    no_match = TOOL.parse({"file_path": str(path), "old_string": "zzz", "new_string": "2"})
    assert await TOOL.preview(no_match, tool_ctx) is None


async def test_long_edit_snippet_is_capped(tool_ctx: ToolContext, project: Path) -> None:
    path = await make(tool_ctx, project / "a.txt", b"start\nend\n")
    new = "".join(f"n{i}\n" for i in range(100))
    out = await edit(tool_ctx, file_path=str(path), old_string="start\n", new_string=new)
    lines = out.content.split("\n")
    assert lines[0].startswith("The file a.txt has been updated (changed lines 1-100).")
    assert lines[1] == "     1\tn0"
    assert lines[60] == "    60\tn59"
    assert lines[61] == "… (41 more lines of the edited region not shown)"
    assert len(lines) == 62

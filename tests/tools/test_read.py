"""ReadTool: schema, cat -n output, bounds with their markers, refusals, and read-state recording."""

from __future__ import annotations

import codecs
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from agentls.tools.base import ToolContext, ToolEnv, ToolError, ToolLimits, ToolOutput
from agentls.tools.read import ReadInput, ReadTool
from agentls.workspace.text import content_version

TOOL = ReadTool()


async def read(ctx: ToolContext, **raw: Any) -> ToolOutput:
    return await TOOL.call(TOOL.parse(raw), ctx)


def limited(ctx: ToolContext, **limits: int) -> ToolContext:
    return dataclasses.replace(ctx, limits=ToolLimits(**limits))


def test_metadata_and_schema() -> None:
    assert (TOOL.name, TOOL.read_only, TOOL.edits_files, TOOL.destructive) == ("Read", True, False, False)
    schema = TOOL.input_schema()
    assert set(schema["properties"]) == {"file_path", "offset", "limit"}
    assert schema["required"] == ["file_path"]
    assert schema["additionalProperties"] is False
    assert all(prop.get("description") for prop in schema["properties"].values())


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"file_path": "a.txt", "extra": 1},
        {"file_path": 123},
        {"file_path": "a.txt", "offset": "abc"},
        {"file_path": "a.txt", "offset": 0},
        {"file_path": "a.txt", "limit": 0},
        {"file_path": "a.txt", "limit": 1.5},
        {"file_path": ""},
        {"file_path": "x" * 4097},
    ],
)
def test_invalid_input_fails_validation(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TOOL.parse(raw)


def test_parse_accepts_claude_code_input() -> None:
    assert TOOL.parse({"file_path": "/a", "offset": 3, "limit": 2}) == ReadInput(
        file_path="/a", offset=3, limit=2
    )


def test_description_paths_and_summary(project: Path) -> None:
    text = TOOL.description(ToolEnv(root=project))
    assert str(project) in text
    assert "cat -n" in text and "offset" in text and "limit" in text and "unsaved" in text
    args = ReadInput(file_path="src/app.py")
    assert TOOL.paths(args, project) == (project / "src" / "app.py",)
    assert ReadTool().summary(args, project) == "Read src/app.py"
    assert ReadTool().summary(ReadInput(file_path=str(project / "a.py")), project) == "Read a.py"
    assert ReadTool().summary(ReadInput(file_path="/elsewhere/b.py"), project) == "Read /elsewhere/b.py"
    assert TOOL.summary(ReadInput(file_path="/abs/c.py"), project) == "Read /abs/c.py"


async def test_numbered_lines_and_read_state(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_bytes(b"alpha\n\tbeta\n\ngamma")
    out = await read(tool_ctx, file_path=str(path))
    assert out.content == "     1\talpha\n     2\t\tbeta\n     3\t\n     4\tgamma"
    assert not out.is_error
    assert tool_ctx.read_state.seen_version(path) == content_version(path.read_bytes())


async def test_relative_path(tool_ctx: ToolContext, project: Path) -> None:
    (project / "src").mkdir()
    (project / "src" / "a.py").write_text("x = 1\n")
    out = await read(tool_ctx, file_path="src/a.py")
    assert out.content == "     1\tx = 1"
    assert tool_ctx.read_state.seen_version(project / "src" / "a.py") is not None


async def test_offset_and_limit(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_text("".join(f"l{i}\n" for i in range(1, 11)))
    out = await read(tool_ctx, file_path=str(path), offset=3, limit=2)
    assert out.content == (
        "     3\tl3\n     4\tl4\n\n"
        "[Showing lines 3-4 of 10 (line limit reached). To read more, call Read again with "
        "offset=5 and, if needed, a limit.]"
    )
    out = await read(tool_ctx, file_path=str(path), offset=9)
    assert out.content == "     9\tl9\n    10\tl10"


async def test_default_line_limit_marker(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_text("a\nb\nc\nd\ne\n")
    out = await read(limited(tool_ctx, read_max_lines=3), file_path=str(path))
    assert out.content == (
        "     1\ta\n     2\tb\n     3\tc\n\n"
        "[Showing lines 1-3 of 5 (line limit reached). To read more, call Read again with "
        "offset=4 and, if needed, a limit.]"
    )


async def test_long_line_is_cut(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_text("0123456789\nshort\n")
    out = await read(limited(tool_ctx, read_max_line_chars=4), file_path=str(path))
    assert (
        out.content
        == "     1\t0123… [line truncated: 10 characters]\n     2\tshor… [line truncated: 5 characters]"
    )


async def test_output_size_cap(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_text("aaaa\nbbbb\ncccc\ndddd\n")
    # Each numbered line is 11 characters plus a newline: two fit in 25, three do not.
    out = await read(limited(tool_ctx, read_max_output_chars=25), file_path=str(path))
    assert out.content == (
        "     1\taaaa\n     2\tbbbb\n\n"
        "[Showing lines 1-2 of 4 (output size limit reached). To read more, call Read again with "
        "offset=3 and, if needed, a limit.]"
    )


async def test_at_least_one_line_is_shown(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_text("aaaa\nbbbb\n")
    out = await read(limited(tool_ctx, read_max_output_chars=5), file_path=str(path))
    assert out.content.startswith("     1\taaaa\n\n[Showing lines 1-1 of 2 (output size limit reached).")


async def test_crlf_and_bom_are_not_shown(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_bytes(codecs.BOM_UTF8 + b"one\r\ntwo\r\n")
    out = await read(tool_ctx, file_path=str(path))
    assert out.content == "     1\tone\n     2\ttwo"


async def test_utf16_file_is_decoded(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "héllo\n".encode("utf-16-le"))
    out = await read(tool_ctx, file_path=str(path))
    assert out.content == "     1\théllo"


async def test_invalid_utf8_is_shown_with_replacement_and_note(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_bytes(b"caf\xe9\nok\n")
    out = await read(tool_ctx, file_path=str(path))
    assert out.content == (
        "[Note: this file is not valid UTF-8; undecodable bytes are shown as \ufffd. Edit keeps them "
        "intact but old_string cannot match them.]\n     1\tcaf\ufffd\n     2\tok"
    )


async def test_empty_file(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "empty.txt"
    path.write_bytes(b"")
    out = await read(tool_ctx, file_path=str(path))
    assert out.content == "empty.txt exists but is empty (0 lines)."
    assert not out.is_error
    assert tool_ctx.read_state.seen_version(path) == content_version(b"")


async def test_offset_past_end(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "a.txt"
    path.write_text("1\n2\n3\n")
    with pytest.raises(ToolError) as exc:
        await read(tool_ctx, file_path=str(path), offset=4)
    assert str(exc.value) == "a.txt has only 3 lines, so offset 4 is past the end. Use an offset from 1 to 3."


async def test_missing_file(tool_ctx: ToolContext, project: Path) -> None:
    with pytest.raises(ToolError, match=r"^File does not exist: .*/nope\.txt$"):
        await read(tool_ctx, file_path=str(project / "nope.txt"))
    assert tool_ctx.read_state.seen_version(project / "nope.txt") is None


async def test_directory(tool_ctx: ToolContext, project: Path) -> None:
    (project / "d").mkdir()
    with pytest.raises(ToolError, match="is a directory, not a file; use Glob or Bash ls"):
        await read(tool_ctx, file_path=str(project / "d"))


async def test_binary_content_refused(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "blob.txt"
    path.write_bytes(b"abc\x00def")
    with pytest.raises(ToolError) as exc:
        await read(tool_ctx, file_path=str(path))
    assert str(exc.value) == (
        "blob.txt appears to be a binary file (it contains NUL bytes); Read only supports text."
    )
    assert tool_ctx.read_state.seen_version(path) is None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("pic.PNG", "pic.PNG is an image or PDF (.png); Read only supports text files."),
        ("doc.pdf", "doc.pdf is an image or PDF (.pdf); Read only supports text files."),
        ("lib.so", "lib.so is a binary file (.so); Read only supports text files."),
    ],
)
async def test_binary_extensions_refused(
    tool_ctx: ToolContext, project: Path, name: str, message: str
) -> None:
    (project / name).write_bytes(b"no NUL byte here")
    with pytest.raises(ToolError) as exc:
        await read(tool_ctx, file_path=str(project / name))
    assert str(exc.value) == message


async def test_file_over_size_limit(tool_ctx: ToolContext, project: Path) -> None:
    path = project / "big.log"
    path.write_bytes(b"x" * 100)
    with pytest.raises(ToolError, match=r"^big.log is too large to read \(100 bytes\)\. Use Grep"):
        await read(limited(tool_ctx, read_max_file_bytes=99), file_path=str(path))

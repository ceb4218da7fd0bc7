"""GrepTool: schema, modes, flags, ignore rules, limits, errors and unsaved buffers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from agentls.tools.base import FileReadState, ToolContext, ToolError, ToolLimits
from agentls.tools.grep import GrepTool
from agentls.workspace.disk import DiskWorkspace
from agentls.workspace.port import Overlay

TOOL = GrepTool()


def make(root: Path, rel: str, text: str, mtime: int = 1_600_000_000) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))
    return path


async def grep(ctx: ToolContext, **raw: Any) -> str:
    out = await TOOL.call(TOOL.parse(raw), ctx)
    assert not out.is_error
    return out.content


@pytest.fixture
def tree(project: Path) -> Path:
    make(project, "old.py", "import os\ndef alpha():\n    return 1\n", 1_600_000_100)
    make(project, "new.py", "def beta():\n    pass\n\ndef Alpha():\n    pass\n", 1_600_000_300)
    make(project, "src/mid.js", "function alpha() {}\n", 1_600_000_200)
    make(project, "notes.txt", "alpha beta gamma\n", 1_600_000_400)
    make(project, "build/gen.py", "def alpha(): pass\n")
    make(project, "ignored.py", "def alpha(): pass\n")
    make(project, ".git/HEAD", "alpha\n")
    make(project, ".config/settings.py", "alpha = 1\n", 1_600_000_050)
    (project / ".gitignore").write_text("build/\nignored.py\n")
    return project


def test_schema_matches_claude_code() -> None:
    schema = TOOL.input_schema()
    assert set(schema["properties"]) == {
        "pattern",
        "path",
        "glob",
        "type",
        "output_mode",
        "-i",
        "-n",
        "-A",
        "-B",
        "-C",
        "multiline",
        "head_limit",
    }
    assert schema["required"] == ["pattern"]
    assert TOOL.name == "Grep" and TOOL.read_only
    args = TOOL.parse({"pattern": "x", "-i": True, "-C": 2})
    assert args.case_insensitive and args.context == 2


async def test_files_with_matches_newest_first_and_gitignore(tool_ctx: ToolContext, tree: Path) -> None:
    out = await grep(tool_ctx, pattern="alpha")
    assert out.splitlines() == ["Found 4 files", "notes.txt", "src/mid.js", "old.py", ".config/settings.py"]


async def test_case_insensitive(tool_ctx: ToolContext, tree: Path) -> None:
    out = await grep(tool_ctx, pattern="def alpha", **{"-i": True})
    assert out.splitlines() == ["Found 2 files", "new.py", "old.py"]


async def test_content_mode_with_line_numbers_and_context(tool_ctx: ToolContext, tree: Path) -> None:
    assert (
        await grep(tool_ctx, pattern="alpha", path="old.py", output_mode="content") == "old.py:2:def alpha():"
    )
    out = await grep(tool_ctx, pattern="^def", path="new.py", output_mode="content", **{"-A": 1})
    assert out.splitlines() == [
        "new.py:1:def beta():",
        "new.py-2-    pass",
        "--",
        "new.py:4:def Alpha():",
        "new.py-5-    pass",
    ]
    out = await grep(tool_ctx, pattern="return", output_mode="content", **{"-B": 1, "-n": False})
    assert out.splitlines() == ["old.py:def alpha():", "old.py:    return 1"]


async def test_content_mode_across_files_is_grouped_newest_first(tool_ctx: ToolContext, tree: Path) -> None:
    out = await grep(tool_ctx, pattern="alpha", output_mode="content", **{"-C": 1})
    assert out.splitlines()[:2] == ["notes.txt:1:alpha beta gamma", "--"]
    assert "src/mid.js:1:function alpha() {}" in out
    assert out.index("src/mid.js") < out.index("old.py") < out.index(".config/settings.py")


async def test_count_mode(tool_ctx: ToolContext, tree: Path) -> None:
    out = await grep(tool_ctx, pattern="pass", output_mode="count")
    assert out.splitlines() == ["new.py:2", "", "Found 2 total occurrences across 1 file."]


async def test_type_and_glob_filters(tool_ctx: ToolContext, tree: Path) -> None:
    assert (await grep(tool_ctx, pattern="alpha", type="js")).splitlines() == ["Found 1 file", "src/mid.js"]
    out = await grep(tool_ctx, pattern="alpha", glob="*.{py,txt}")
    assert out.splitlines() == ["Found 3 files", "notes.txt", "old.py", ".config/settings.py"]
    assert (await grep(tool_ctx, pattern="alpha", glob="src/*.js")).splitlines()[1:] == ["src/mid.js"]


async def test_gitignored_files_stay_excluded_with_glob(tool_ctx: ToolContext, tree: Path) -> None:
    # A plain `rg --glob '*.py'` would whitelist the gitignored ignored.py.
    for glob in ("*.py", "**/*.py", "*.{py,js}"):
        out = await grep(tool_ctx, pattern="alpha", glob=glob)
        assert "ignored.py" not in out and "build/gen.py" not in out and "old.py" in out


async def test_glob_and_type_intersect_and_negated_globs(tool_ctx: ToolContext, tree: Path) -> None:
    assert await grep(tool_ctx, pattern="alpha", glob="*.txt", type="py") == "No matches found"
    out = await grep(tool_ctx, pattern="alpha", glob="src/**", type="js")
    assert out.splitlines() == ["Found 1 file", "src/mid.js"]
    assert await grep(tool_ctx, pattern="alpha", glob="src/**", type="py") == "No matches found"
    out = await grep(tool_ctx, pattern="alpha", glob="!*.py !*.txt")
    assert out.splitlines() == ["Found 1 file", "src/mid.js"]
    out = await grep(tool_ctx, pattern="alpha", glob="!src/*", type="py")
    assert out.splitlines() == ["Found 2 files", "old.py", ".config/settings.py"]


async def test_multiline(tool_ctx: ToolContext, tree: Path) -> None:
    assert await grep(tool_ctx, pattern=r"beta\(\):.*pass") == "No matches found"
    out = await grep(tool_ctx, pattern=r"beta\(\):.*?pass", multiline=True)
    assert out.splitlines() == ["Found 1 file", "new.py"]


async def test_crlf_and_form_feed_lines(tool_ctx: ToolContext, project: Path) -> None:
    (project / "dos.txt").write_bytes(b"one\r\nfind \x0c me\r\nthree\r\n")
    out = await grep(tool_ctx, pattern="find", output_mode="content")
    assert out == "dos.txt:2:find \x0c me"


async def test_no_matches(tool_ctx: ToolContext, tree: Path) -> None:
    assert await grep(tool_ctx, pattern="zzz_not_there") == "No matches found"


async def test_pattern_starting_with_dash(tool_ctx: ToolContext, project: Path) -> None:
    make(project, "a.txt", "x --verbose y\n")
    assert (await grep(tool_ctx, pattern="--verbose")).splitlines() == ["Found 1 file", "a.txt"]


async def test_bad_regex_and_bad_type_are_errors(tool_ctx: ToolContext, tree: Path) -> None:
    with pytest.raises(ToolError, match="regex parse error"):
        await grep(tool_ctx, pattern="foo(")
    with pytest.raises(ToolError, match="nosuchtype"):
        await grep(tool_ctx, pattern="alpha", type="nosuchtype")
    with pytest.raises(ToolError, match="does not exist"):
        await grep(tool_ctx, pattern="alpha", path="missing")


async def test_head_limit(tool_ctx: ToolContext, project: Path) -> None:
    for i in range(5):
        make(project, f"f{i}.txt", "hit\n" * 3, 1_600_000_000 + i)
    out = (await grep(tool_ctx, pattern="hit", head_limit=2)).splitlines()
    assert out == [
        "Found 5 files",
        "f4.txt",
        "f3.txt",
        "(Showing 2 of 5 files; narrow the search or raise head_limit.)",
    ]
    out = (
        await grep(tool_ctx, pattern="hit", path="f0.txt", output_mode="content", head_limit=2)
    ).splitlines()
    assert out[:2] == ["f0.txt:1:hit", "f0.txt:2:hit"] and "Showing 2 of 3 lines" in out[2]
    assert len((await grep(tool_ctx, pattern="hit", head_limit=0)).splitlines()) == 6


async def test_default_head_limit_and_output_cap(disk_ws: DiskWorkspace, project: Path) -> None:
    make(project, "big.txt", "".join(f"hit number {i}\n" for i in range(1000)))
    ctx = ToolContext(
        workspace=disk_ws,
        read_state=FileReadState(),
        limits=ToolLimits(grep_default_head_limit=100, grep_output_chars=500),
    )
    out = await grep(ctx, pattern="hit", output_mode="content")
    assert out.startswith("big.txt:1:hit number 0\n")
    assert len(out) < 700 and "Output cut at" in out


async def test_absolute_path_outside_root(tool_ctx: ToolContext, tmp_path: Path) -> None:
    other = tmp_path / "other"
    make(other, "x.txt", "alpha\n")
    assert (await grep(tool_ctx, pattern="alpha", path=str(other))).splitlines() == [
        "Found 1 file",
        str(other / "x.txt"),
    ]


class OverlayWorkspace(DiskWorkspace):
    """A disk workspace with one unsaved editor buffer, as the editor-backed workspace reports it."""

    def __init__(self, root: Path, texts: dict[Path, str]) -> None:
        super().__init__(root)
        self._texts = texts

    def overlay(self) -> Overlay:
        return Overlay(texts=dict(self._texts))


async def test_unsaved_buffer_replaces_disk_copy(tree: Path) -> None:
    ws = OverlayWorkspace(tree, {tree / "old.py": "import sys\n\ndef renamed():\n    return 'unsaved'\n"})
    ctx = ToolContext(workspace=ws, read_state=FileReadState())
    # The disk copy still says alpha, but the buffer no longer does.
    assert "old.py" not in await grep(ctx, pattern="alpha")
    out = await grep(ctx, pattern="unsaved", output_mode="content")
    assert out == "old.py:4:    return 'unsaved'"
    assert (await grep(ctx, pattern="renamed")).splitlines() == ["Found 1 file", "old.py"]
    assert await grep(ctx, pattern="renamed", output_mode="count", path="old.py") == (
        "old.py:1\n\nFound 1 total occurrence across 1 file."
    )
    # Filters apply to buffers as they would to the file on disk.
    assert await grep(ctx, pattern="renamed", type="js") == "No matches found"
    assert await grep(ctx, pattern="renamed", glob="*.js") == "No matches found"
    assert "old.py" in await grep(ctx, pattern="renamed", type="py")


async def test_unsaved_new_file_is_searched(tree: Path) -> None:
    ws = OverlayWorkspace(tree, {tree / "src/fresh.py": "alpha in a new buffer\n"})
    ctx = ToolContext(workspace=ws, read_state=FileReadState())
    out = (await grep(ctx, pattern="alpha")).splitlines()
    assert out[:2] == ["Found 5 files", "src/fresh.py"]
    assert await grep(ctx, pattern="new buffer", path="src/fresh.py", output_mode="content") == (
        "src/fresh.py:1:alpha in a new buffer"
    )


async def test_a_fifo_or_socket_is_refused_at_once_and_skipped_in_a_walk(
    tool_ctx: ToolContext, project: Path
) -> None:
    import asyncio
    import socket

    from agentls.tools.base import ToolError

    make(project, "real.txt", "needle\n")
    os.mkfifo(project / "pipe")
    os.symlink(project / "pipe", project / "link-to-pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(project / "sock"))
    try:
        for special in ("pipe", "link-to-pipe", "sock"):
            with pytest.raises(ToolError, match="Not a regular file"):
                await asyncio.wait_for(
                    TOOL.call(TOOL.parse({"pattern": "needle", "path": special}), tool_ctx), 5
                )
        found = await asyncio.wait_for(grep(tool_ctx, pattern="needle"), 5)
        assert found.strip().endswith("real.txt")
    finally:
        sock.close()

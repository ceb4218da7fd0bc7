"""GlobTool: anchoring, gitignore awareness, mtime order, limits and unsaved buffers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentls.tools.base import FileReadState, ToolContext, ToolError, ToolLimits
from agentls.tools.glob import GlobInput, GlobTool, expand_braces
from agentls.workspace.disk import DiskWorkspace
from agentls.workspace.port import Overlay

TOOL = GlobTool()


def make(root: Path, rel: str, mtime: int = 1_600_000_000, text: str = "x\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))
    return path


async def glob(ctx: ToolContext, pattern: str, path: str | None = None) -> str:
    return (await TOOL.call(GlobInput(pattern=pattern, path=path), ctx)).content


@pytest.fixture
def tree(project: Path) -> Path:
    make(project, "a.py", 1_600_000_100)
    make(project, "b.py", 1_600_000_300)
    make(project, "src/c.py", 1_600_000_200)
    make(project, "src/deep/d.py", 1_600_000_400)
    make(project, "src/e.txt")
    make(project, ".hidden/h.py", 1_600_000_050)
    make(project, ".git/config.py")
    make(project, "build/out.py")
    make(project, "src/generated.py")
    make(project, "secret.py")
    (project / ".gitignore").write_text("build/\nsrc/generated.py\n")
    (project / ".ignore").write_text("secret.py\n")
    return project


def test_schema_matches_claude_code() -> None:
    schema = TOOL.input_schema()
    assert set(schema["properties"]) == {"pattern", "path"}
    assert schema["required"] == ["pattern"]
    assert TOOL.name == "Glob" and TOOL.read_only


async def test_top_level_only_without_double_star(tool_ctx: ToolContext, tree: Path) -> None:
    assert await glob(tool_ctx, "*.py") == f"{tree / 'b.py'}\n{tree / 'a.py'}"


async def test_double_star_any_depth_newest_first_gitignore_aware(tool_ctx: ToolContext, tree: Path) -> None:
    out = (await glob(tool_ctx, "**/*.py")).splitlines()
    assert out == [str(tree / p) for p in ("src/deep/d.py", "b.py", "src/c.py", "a.py", ".hidden/h.py")]


async def test_relative_path_argument_and_subdir_pattern(tool_ctx: ToolContext, tree: Path) -> None:
    assert await glob(tool_ctx, "*.py", "src") == str(tree / "src/c.py")
    assert await glob(tool_ctx, "deep/*.py", str(tree / "src")) == str(tree / "src/deep/d.py")
    assert await glob(tool_ctx, "src/**/*.py") == f"{tree / 'src/deep/d.py'}\n{tree / 'src/c.py'}"


async def test_braces(tool_ctx: ToolContext, tree: Path) -> None:
    out = await glob(tool_ctx, "src/*.{py,txt}")
    assert set(out.splitlines()) == {str(tree / "src/c.py"), str(tree / "src/e.txt")}
    assert expand_braces("a/{b,c}/*.{x,y{1,2}}") == [
        "a/b/*.x",
        "a/b/*.y1",
        "a/b/*.y2",
        "a/c/*.x",
        "a/c/*.y1",
        "a/c/*.y2",
    ]
    assert expand_braces("{single}") == ["{single}"]


async def test_absolute_pattern(tool_ctx: ToolContext, tree: Path) -> None:
    assert await glob(tool_ctx, f"{tree}/src/**/*.py") == f"{tree / 'src/deep/d.py'}\n{tree / 'src/c.py'}"


async def test_no_match(tool_ctx: ToolContext, tree: Path) -> None:
    assert await glob(tool_ctx, "**/*.rs") == "No files found"


async def test_limit_and_more_line(disk_ws: DiskWorkspace, project: Path) -> None:
    for i in range(7):
        make(project, f"f{i}.txt", 1_600_000_000 + i)
    ctx = ToolContext(workspace=disk_ws, read_state=FileReadState(), limits=ToolLimits(glob_max_results=3))
    lines = (await glob(ctx, "*.txt")).splitlines()
    assert lines[:3] == [str(project / f"f{i}.txt") for i in (6, 5, 4)]
    assert "4 more files" in lines[3] and "more specific" in lines[3]
    assert len(lines) == 4


async def test_path_errors(tool_ctx: ToolContext, tree: Path) -> None:
    with pytest.raises(ToolError, match="Not a directory"):
        await glob(tool_ctx, "*", "a.py")
    with pytest.raises(ToolError, match="does not exist"):
        await glob(tool_ctx, "*", "missing")


class OverlayWorkspace(DiskWorkspace):
    def __init__(self, root: Path, texts: dict[Path, str]) -> None:
        super().__init__(root)
        self._texts = texts

    def overlay(self) -> Overlay:
        return Overlay(texts=dict(self._texts))


async def test_unsaved_buffers_are_listed_first(tree: Path) -> None:
    ws = OverlayWorkspace(
        tree, {tree / "src/new.py": "print()\n", tree / "a.py": "changed\n", Path("/elsewhere/x.py"): ""}
    )
    ctx = ToolContext(workspace=ws, read_state=FileReadState())
    out = (await glob(ctx, "**/*.py")).splitlines()
    assert out[:2] == [str(tree / "a.py"), str(tree / "src/new.py")]
    assert out.count(str(tree / "a.py")) == 1
    assert len(out) == 6

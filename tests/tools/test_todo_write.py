"""TodoWriteTool: schema, validation and the plan it hands back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from agentls.tools.base import ToolContext, ToolError
from agentls.tools.todo_write import TodoWriteTool

TOOL = TodoWriteTool()


def item(content: str, status: str = "pending") -> dict[str, Any]:
    return {"content": content, "status": status, "activeForm": f"Doing {content}"}


def test_schema_and_flags() -> None:
    schema = TOOL.input_schema()
    assert set(schema["properties"]) == {"todos"}
    assert schema["required"] == ["todos"]
    todo_schema = schema["properties"]["todos"]["items"]
    assert set(todo_schema["properties"]) == {"content", "status", "activeForm"}
    assert TOOL.name == "TodoWrite" and TOOL.read_only and not TOOL.destructive


async def test_returns_the_new_list(tool_ctx: ToolContext) -> None:
    args = TOOL.parse(
        {"todos": [item("Write tests", "completed"), item("Fix bug", "in_progress"), item("Docs")]}
    )
    out = await TOOL.call(args, tool_ctx)
    assert not out.is_error
    assert "updated" in out.content.lower() and "keep using" in out.content.lower()
    assert out.todos is not None
    assert [(t.content, t.status) for t in out.todos] == [
        ("Write tests", "completed"),
        ("Fix bug", "in_progress"),
        ("Docs", "pending"),
    ]
    assert TOOL.summary(args, Path("/p")) == "TodoWrite: 3 items, 1 completed"


async def test_empty_list_clears_the_plan(tool_ctx: ToolContext) -> None:
    out = await TOOL.call(TOOL.parse({"todos": []}), tool_ctx)
    assert out.todos == ()


async def test_two_in_progress_is_an_error(tool_ctx: ToolContext) -> None:
    args = TOOL.parse({"todos": [item("A", "in_progress"), item("B", "in_progress")]})
    with pytest.raises(ToolError, match="in_progress"):
        await TOOL.call(args, tool_ctx)


def test_validation() -> None:
    with pytest.raises(ValidationError):
        TOOL.parse({"todos": [item(f"t{i}") for i in range(101)]})
    with pytest.raises(ValidationError):
        TOOL.parse({"todos": [item("A", "done")]})
    with pytest.raises(ValidationError):
        TOOL.parse({"todos": [{"content": "A", "status": "pending"}]})
    with pytest.raises(ValidationError):
        TOOL.parse({"todos": [], "extra": 1})
    assert len(TOOL.parse({"todos": [item(f"t{i}") for i in range(100)]}).todos) == 100

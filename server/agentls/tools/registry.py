"""The set of tools a session offers, by name, in the order the model sees them.

Building or listing a registry only instantiates tool objects: nothing runs, nothing is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from agentls.tools.agent import AgentTool
from agentls.tools.base import Tool
from agentls.tools.bash import BashTool
from agentls.tools.edit import EditTool
from agentls.tools.glob import GlobTool
from agentls.tools.grep import GrepTool
from agentls.tools.read import ReadTool
from agentls.tools.skill import SkillTool
from agentls.tools.todo_write import TodoWriteTool
from agentls.tools.write import WriteTool

AnyTool = Tool[Any]


class ToolRegistry:
    def __init__(self, tools: Iterable[AnyTool] = ()) -> None:
        self._tools: dict[str, AnyTool] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise ValueError(f"Duplicate tool name: {tool.name}")
            self._tools[tool.name] = tool

    def get(self, name: str) -> AnyTool | None:
        return self._tools.get(name)

    def names(self) -> tuple[str, ...]:
        return tuple(self._tools)

    def tools(self) -> tuple[AnyTool, ...]:
        return tuple(self._tools.values())

    def without(self, names: Iterable[str]) -> ToolRegistry:
        """A new registry minus `names` (unknown names are ignored), keeping the order."""
        drop = frozenset(names)
        return ToolRegistry(t for t in self._tools.values() if t.name not in drop)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[AnyTool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)


def builtin_tools() -> ToolRegistry:
    """The nine built-in tools, in Claude Code's order. (A session without skills the model may
    load leaves Skill out: its description would cost every request tokens for nothing.)"""
    return ToolRegistry(
        [
            AgentTool(),
            ReadTool(),
            WriteTool(),
            EditTool(),
            GlobTool(),
            GrepTool(),
            BashTool(),
            TodoWriteTool(),
            SkillTool(),
        ]
    )

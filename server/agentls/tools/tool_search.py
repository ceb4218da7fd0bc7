"""The ToolSearch tool: find deferred tools and load their definitions, with Claude Code's name and
input schema (`query`, `max_results`) so Claude models use it as trained.

When a session's MCP tools would take too much of every request, their definitions are left out
of it (deferred); this tool is listed instead, with the deferred tools' names and one-line
descriptions in its description (`ToolEnv.deferred_listing`, fitted to a budget by the core). A
call finds tools by keyword or picks them by name (`select:`), and the tools it finds are sent in
full with every later request of the session. The deferral itself lives in the core
(`core/deferred_tools/`), reached through the `ToolSearchHost` port in the tool context. The call
changes nothing in the workspace (`read_only`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import Field

from agentls.tools.base import Tool, ToolContext, ToolEnv, ToolError, ToolInput, ToolOutput

TOOL_SEARCH = "ToolSearch"
MAX_RESULTS = 50
"""More than this at once is cut to this: a result should not flood the context either."""


class ToolSearchInput(ToolInput):
    query: str = Field(
        min_length=1,
        max_length=2000,
        description=(
            'Keywords to search the deferred tools for (e.g. "github issue"), "+word" for a word '
            'the tool\'s name must contain, or "select:name1,name2" for exact names'
        ),
    )
    max_results: int = Field(default=5, ge=1, description="The most tools to load from a keyword search")


class ToolSearchHost(Protocol):
    """What the core offers the ToolSearch tool."""

    def search(self, query: str, max_results: int) -> str:
        """Find the tools `query` asks for, load them for the rest of the session, and say which;
        raises `ToolError` when there is nothing to search."""
        ...


class ToolSearchTool(Tool[ToolSearchInput]):
    name = TOOL_SEARCH
    input_model = ToolSearchInput
    read_only = True  # It only changes which definitions the next requests carry.

    def description(self, env: ToolEnv) -> str:
        listing = env.deferred_listing or "- (none right now)"
        return (
            "Load deferred tools. The tools listed below exist, but their definitions (and so "
            "their input schemas) are not in your tool list yet, so you cannot call them. Search "
            "for the ones the task needs; every tool a search returns is loaded: its full "
            "definition is in your tool list from your next response on, for the rest of the "
            "conversation, and you call it as any other tool. Do not search again for a tool that "
            "is already loaded.\n\n"
            "Query forms:\n"
            '- "select:mcp__github__create_issue,mcp__github__get_issue": load these exact tools\n'
            '- "github issue": keyword search over names, servers and descriptions, best '
            "`max_results` matches (default 5)\n"
            '- "+github create": only tools whose name contains "github", ranked by the other words\n\n'
            f"Deferred tools (name: what it does):\n{listing}"
        )

    def summary(self, args: ToolSearchInput, root: Path) -> str:
        return f"ToolSearch {args.query}"

    async def call(self, args: ToolSearchInput, ctx: ToolContext) -> ToolOutput:
        if ctx.tool_search is None:
            raise ToolError("There are no deferred tools in this session: every tool is in your tool list.")
        return ToolOutput(ctx.tool_search.search(args.query, min(args.max_results, MAX_RESULTS)))

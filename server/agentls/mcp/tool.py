"""An MCP server's tool as an agentls `Tool`: `mcp__<server>__<tool>`, as Claude Code names it, so
permission rules written for Claude Code (`mcp__github`, `mcp__github__create_issue`) apply.

The input schema is the server's, passed through: checking arguments is the server's job, so
agentls only requires a JSON object. The description is the server's. `read_only` is set only
when the server's annotations say `readOnlyHint: true`; it lets the call run beside other reads
(and in plan mode), never without asking (`policy/engine.py`). Calls go through the server's
connection (`ToolCaller`); a failure there is a `ToolError`, so the model gets an error result.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar, Protocol, cast

from pydantic import ConfigDict

from agentls.mcp.results import cap
from agentls.tools.base import Tool, ToolContext, ToolEnv, ToolInput, ToolOutput, TrustTier

MAX_NAME = 64
"""The longest tool name every Messages API model accepts."""
MAX_DESCRIPTION = 2048
"""As Claude Code: a server cannot fill the context with one tool's description."""
ALWAYS_LOAD = "anthropic/alwaysLoad"
"""A tool's `_meta` key (Claude Code's): `true` keeps its definition in every request, never deferred."""

_INVALID = re.compile(r"[^A-Za-z0-9_-]")


class McpInput(ToolInput):
    """The model's input, whole: the server checks it against its own schema."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    arguments: dict[str, Any]


class ToolCaller(Protocol):
    """The connection a tool's calls go through (`connection.ServerConnection`)."""

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> ToolOutput:
        """Raises `ToolError` when the server cannot answer."""
        ...


def tool_name(server: str, remote: str) -> str:
    """`mcp__<server>__<tool>`, with characters the API refuses replaced by `_`, at most `MAX_NAME`."""
    return f"mcp__{server}__{_INVALID.sub('_', remote)}"[:MAX_NAME]


class McpTool(Tool[McpInput]):
    """Subclassed once per tool (`make_tool`): a tool's name and `read_only` are class facts."""

    name: ClassVar[str] = "mcp__"
    input_model = McpInput
    tier: ClassVar[TrustTier] = "plugin"
    always_load: ClassVar[bool] = False
    """Its server asked for it never to be deferred (`ALWAYS_LOAD`)."""

    def __init__(
        self, server: str, remote: str, description: str, schema: dict[str, Any], caller: ToolCaller
    ) -> None:
        self.server = server
        self.remote = remote
        """The tool's own name on its server."""
        self._description = description
        self._schema = schema
        self._caller = caller

    def description(self, env: ToolEnv) -> str:
        text = self._description.strip() or f"The {self.remote} tool of the MCP server {self.server}."
        if len(text) > MAX_DESCRIPTION:
            text = text[: MAX_DESCRIPTION - 1] + "…"
        return text

    def input_schema(self) -> dict[str, Any]:
        return self._schema

    def parse(self, raw: dict[str, Any]) -> McpInput:
        return McpInput.model_validate({"arguments": raw})

    def summary(self, args: McpInput, root: Any) -> str:
        shown = json.dumps(args.arguments, ensure_ascii=False)
        return f"{self.name} {shown if len(shown) <= 120 else shown[:119] + '…'}"

    async def call(self, args: McpInput, ctx: ToolContext) -> ToolOutput:
        output = await self._caller.call_tool(self.remote, dict(args.arguments))
        return ToolOutput(cap(output.content, ctx.limits.mcp_output_chars), is_error=output.is_error)


def make_tool(
    server: str,
    remote: str,
    description: str,
    schema: object,
    read_only: bool,
    caller: ToolCaller,
    always_load: bool = False,
) -> McpTool:
    """The agentls tool for `remote` on `server`."""
    name = tool_name(server, remote)
    facts = {"name": name, "read_only": read_only, "always_load": always_load}
    cls = cast(type[McpTool], type(f"McpTool[{name}]", (McpTool,), facts))
    return cls(server, remote, description, object_schema(schema), caller)


def object_schema(schema: object) -> dict[str, Any]:
    """The server's schema, made acceptable to the API: an object schema (the API refuses others;
    a server that sends none gets one that takes anything)."""
    if not isinstance(schema, dict):
        return {"type": "object"}
    if schema.get("type") != "object":
        return {**schema, "type": "object"}
    return schema

"""Deferred tools: when a session's MCP tools would take too much of every request, their
definitions stay out of it until the model loads them with the ToolSearch tool
(`tools/tool_search.py`). See `docs/extending.md`, "Tool search"."""

"""agentls' MCP client: the servers a session uses, on the official `mcp` SDK.

`config.py` reads Claude Code's server entries, `sources.py` finds them (settings files, `.mcp.json`,
`~/.claude.json`, `--mcp-config`) and applies precedence, `approval.py` decides whether a project's
own server may start, `connection.py` keeps one server's connection (`transport.py` opens it with the
SDK), `tool.py` turns each of its tools into an agentls `Tool` (`results.py` renders what it
answers), and `manager.py` runs a session's servers in the background. The core sees all of it
through `core/mcp_port.py`.

The SDK costs half a second to import: it is imported on a worker thread when a server is first
started, never at module level, so the language server's `initialize` never waits for it.
"""

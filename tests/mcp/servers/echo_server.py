"""A small MCP server for the tests, on the SDK's `MCPServer` (mcp 2's name for FastMCP).

Run it by path or as `python -m tests.mcp.servers.echo_server`: on stdio by default, on
streamable HTTP with `--http PORT`, or on SSE with `--sse PORT` (127.0.0.1 only). Its tools cover
what the client must survive: ordinary answers, a read-only tool, a failing tool, a crash of the
whole process mid-call, a call that never answers, output that is not JSON-RPC, and a tool list
that changes. It also has a prompt (`review`, as the command `/mcp__echo__review`) and a
resource (`echo://guide`). `ECHO_SLOW_START` (seconds) delays its start. `ECHO_MANY_TOOLS=N` adds
`translate`, N `filler_<i>` tools with long descriptions (enough definitions for a session to
defer them: tool search) and `pinned`, which asks never to be deferred (`anthropic/alwaysLoad`).

`ECHO_PID_FILE` (an environment variable) names a file the server writes its pid to at start, so
a test can check that the process is gone afterwards.
"""

from __future__ import annotations

import os
import sys
import time

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("echo")


@server.tool(description="Repeat the text back.")
def echo(text: str) -> str:
    return f"echo: {text}"


@server.tool(description="Add two numbers.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(
    description="Look at something without changing it.", annotations=ToolAnnotations(readOnlyHint=True)
)
def peek(what: str = "anything") -> str:
    return f"peeked at {what}"


@server.tool(description="Always fails.")
def fail(reason: str = "no reason") -> str:
    raise ValueError(f"it failed: {reason}")


@server.tool(description="Kill the server process in the middle of the call.")
def crash() -> str:
    os._exit(3)


@server.tool(description="Never answer.")
async def hang() -> str:
    await anyio.sleep(3600)
    return "woke up"


@server.tool(description="Write a line that is not JSON-RPC to stdout, then answer.")
def garbage() -> str:
    os.write(1, b"this is not json\n")
    return "answered after garbage"


@server.tool(description="Register a new tool `late` and tell the client the tool list changed.")
async def grow(ctx: Context) -> str:
    server.add_tool(_late, name="late", description="A tool that appeared later.")
    await ctx.session.send_tool_list_changed()
    return "grew a tool"


def _late() -> str:
    return "late tool here"


@server.prompt(description="Ask for a review of one file, with a focus.")
def review(path: str, focus: str = "bugs") -> str:
    return f"Review {path}, looking for {focus}. ECHO-PROMPT"


@server.resource("echo://guide", name="guide", description="The team's short guide.")
def guide() -> str:
    return "GUIDE-TEXT: write tests first."


def _add_many_tools(count: int) -> None:
    @server.tool(description="Translate text into another language (a two-letter code such as fr).")
    def translate(text: str, to: str) -> str:
        return f"translated to {to}: {text}"

    @server.tool(description="Always in the tool list.", meta={"anthropic/alwaysLoad": True})
    def pinned() -> str:
        return "pinned"

    for i in range(count):
        _add_filler(i)


def _add_filler(i: int) -> None:
    def filler(text: str, times: int = 1) -> str:
        return f"filler {i}: {text * times}"

    about = (
        f"Filler tool number {i}. It exists so that the server has many tool definitions: it "
        "repeats the text it is given a number of times, which nobody needs, and this long "
        "description only makes its definition bigger."
    )
    server.add_tool(filler, name=f"filler_{i:02d}", description=about)


def main() -> None:
    pid_file = os.environ.get("ECHO_PID_FILE")
    if pid_file:
        with open(pid_file, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
    if os.environ.get("ECHO_MANY_TOOLS"):
        _add_many_tools(int(os.environ["ECHO_MANY_TOOLS"]))
    if os.environ.get("ECHO_SLOW_START"):
        time.sleep(float(os.environ["ECHO_SLOW_START"]))
    if len(sys.argv) >= 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "--sse":
        server.run("sse", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()

"""Opening one server's MCP session with the SDK's client transports: stdio, streamable HTTP, SSE.

Everything opened goes on the caller's exit stack, so leaving it closes the session and the
transport: for stdio, the SDK then closes the server's stdin, waits, and kills its process group
(shielded from cancellation, every wait bounded), so no server outlives its connection.

We speak the `initialize` handshake (the SDK's "legacy" mode): it is what the servers written for
Claude Code speak, and a tool-list change then arrives as a plain notification.

The SDK is imported here only inside functions, and first on a worker thread (`load_sdk`), so
importing agentls never pays for it and the event loop never stalls on it.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from agentls import __version__
from agentls.mcp.config import ServerConfig

if TYPE_CHECKING:
    from mcp.client.session import ClientSession, MessageHandlerFnT

PROJECT_DIR_VARIABLE = "CLAUDE_PROJECT_DIR"
"""Set for stdio servers, as Claude Code does: the project's folder."""
HTTP_CONNECT_S = 30.0
HTTP_READ_S = 300.0
"""A server may hold a response stream open between events (the SDK's own defaults)."""

_SDK_MODULES = (
    "mcp.client.session",
    "mcp.client.stdio",
    "mcp.client.streamable_http",
    "mcp.client.sse",
    "httpx2",
)


async def load_sdk() -> None:
    """Import the SDK (half a second) on a worker thread; cheap once done."""
    await asyncio.to_thread(lambda: [importlib.import_module(m) for m in _SDK_MODULES])


def process_env(config: ServerConfig, base: Mapping[str, str], root: Path) -> dict[str, str]:
    """A stdio server's environment: agentls' own without its secrets (`base`), the project's
    folder, then the entry's `env` (which is how a server gets a token)."""
    return {**base, PROJECT_DIR_VARIABLE: str(root), **config.env}


async def open_session(
    config: ServerConfig,
    stack: AsyncExitStack,
    *,
    root: Path,
    base_env: Mapping[str, str],
    errlog: TextIO | None,
    on_message: MessageHandlerFnT,
    on_end: Callable[[], None],
) -> ClientSession:
    """Connect and enter the session on `stack` (not yet initialized). `on_end` is called when the
    server closes the connection (its process exited, its stream ended)."""
    from mcp.client.session import ClientSession
    from mcp.types import Implementation

    read, write = await stack.enter_async_context(_transport(config, stack, root, base_env, errlog))
    session = ClientSession(
        _EndWatch(read, on_end),
        write,
        read_timeout_seconds=config.startup_timeout_s,
        message_handler=on_message,
        client_info=Implementation(name="agentls", version=__version__),
    )
    return await stack.enter_async_context(session)


def _transport(
    config: ServerConfig,
    stack: AsyncExitStack,
    root: Path,
    base_env: Mapping[str, str],
    errlog: TextIO | None,
) -> Any:
    if config.transport == "stdio":
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=config.command,
            args=list(config.args),
            env=process_env(config, base_env, root),
            cwd=root,
            encoding_error_handler="replace",
        )
        return stdio_client(params, errlog=errlog) if errlog is not None else stdio_client(params)
    if config.transport == "sse":
        from mcp.client.sse import sse_client

        return sse_client(
            config.url, headers=config.headers or None, timeout=HTTP_CONNECT_S, sse_read_timeout=HTTP_READ_S
        )
    return _streamable_http(config, stack)


def _streamable_http(config: ServerConfig, stack: AsyncExitStack) -> Any:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    # Our own client, to send the entry's headers; the stack closes it after the transport.
    client = httpx2.AsyncClient(
        headers=config.headers, timeout=httpx2.Timeout(HTTP_CONNECT_S, read=HTTP_READ_S)
    )
    stack.push_async_callback(client.aclose)
    return streamable_http_client(config.url, http_client=client)


class _EndWatch:
    """The transport's read stream, telling `on_end` when it ends: how a server that exits
    between calls is noticed (the SDK keeps that to itself)."""

    def __init__(self, inner: Any, on_end: Callable[[], None]) -> None:
        self._inner = inner
        self._on_end = on_end

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except Exception:
            self._on_end()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _EndWatch:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self._inner.__anext__()
        except StopAsyncIteration:
            self._on_end()
            raise
        except Exception:
            self._on_end()
            raise

    async def __aenter__(self) -> _EndWatch:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        result: bool | None = await self._inner.__aexit__(exc_type, exc, tb)
        return result

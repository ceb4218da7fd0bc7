"""The server's read loop, on stdio or TCP: our framing and message checks instead of pygls'.

pygls' own loop (`pygls/io_.py` `run_async`) trusts the client's framing (see `framing.py` for what
that costs) and hands every body to `json.loads` with the protocol's `structure_message` as object
hook, which drops a request it cannot structure without an answer. Here each read is fed to a
`FrameDecoder`; every body goes to `AgentProtocol.receive_body`, which parses, checks and answers
(`protocol.py`); a refused body is answered by `AgentProtocol.refuse_oversized`.

Reads happen on demand, one at a time, like pygls': on stdio a `read1` on pygls' thread pool (so
nothing is read ahead of the loop, and no read is pending when `exit` ends the process), on TCP the
connection's stream reader.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import BinaryIO

from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer

from agentls.lsp.framing import Frame, FrameDecoder
from agentls.lsp.protocol import AgentProtocol

log = logging.getLogger(__name__)

READ_SIZE = 64 * 1024

Read = Callable[[], Awaitable[bytes]]


async def run(read: Read, protocol: AgentProtocol, stop: threading.Event) -> None:
    """Read, decode and dispatch until EOF or `stop`. `exit` ends it with `SystemExit`, as in pygls."""
    decoder = FrameDecoder()
    while not stop.is_set():
        data = await read()
        if not data:
            break
        decoder.feed(data)
        while (event := decoder.next_event()) is not None:
            try:
                if isinstance(event, Frame):
                    protocol.receive_body(event.body, decoder)
                else:
                    protocol.refuse_oversized(event)
            except BrokenPipeError:
                raise
            except Exception:  # A bug in handling one message must not end the session.
                log.exception("failed to handle a message")
            # Many messages arrive in one read: let each one's handler start (and a quick one
            # finish) before the next message is handled, as when each is read on its own.
            await asyncio.sleep(0)
    log.info("read loop ended: %s", "stopped" if stop.is_set() else "the client closed the connection")


def stdin_reader(stdin: BinaryIO, server: LanguageServer) -> Read:
    """`read1` on pygls' thread pool: at most one system call, returning what is there (a plain
    `read(n)` would wait for all n bytes, and a line-wise read for a line break after the body)."""
    read1 = getattr(stdin, "read1", None)

    def read() -> bytes:
        try:
            data: bytes = read1(READ_SIZE) if read1 is not None else os.read(stdin.fileno(), READ_SIZE)
        except (OSError, ValueError) as err:  # A closed or broken stdin ends the session.
            log.info("stdin failed: %s", err)
            return b""
        return data

    async def next_chunk() -> bytes:
        return await asyncio.get_running_loop().run_in_executor(server.thread_pool, read)

    return next_chunk


def agent_protocol(server: LanguageServer) -> AgentProtocol:
    """The server's protocol, which is ours (`server.py` builds it with `AgentProtocol`)."""
    protocol = server.protocol
    assert isinstance(protocol, AgentProtocol)
    return protocol


def start_io(server: LanguageServer, stdin: BinaryIO | None, stdout: BinaryIO | None) -> None:
    """pygls' `JsonRPCServer._start_io_async`, with our read loop."""
    server._stop_event = stop = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    read = stdin_reader(stdin or sys.stdin.buffer, server)
    try:
        asyncio.run(run(read, agent_protocol(server), stop))
    except BrokenPipeError:
        log.error("connection to the client lost; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]


def start_tcp(server: LanguageServer, host: str, port: int) -> None:
    """pygls' `JsonRPCServer.start_tcp`, with our read loop (one client at a time, as there)."""
    server._stop_event = stop = threading.Event()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.protocol.set_writer(writer)  # pygls does the same: a StreamWriter writes and closes.

        async def read() -> bytes:
            try:
                return await reader.read(READ_SIZE)
            except ConnectionError:
                return b""

        await run(read, agent_protocol(server), stop)
        server.shutdown()  # type: ignore[no-untyped-call]

    async def serve() -> None:
        tcp = await asyncio.start_server(connection, host, port)
        server._server = tcp
        log.info("serving on %s", ", ".join(str(s.getsockname()) for s in tcp.sockets))
        async with tcp:
            await tcp.serve_forever()

    try:
        asyncio.run(serve())
    except asyncio.CancelledError:
        log.debug("server cancelled")

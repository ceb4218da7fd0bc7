"""`AgentServer`: the pygls server, its state, and the registration of every handler module.

Handlers are thin: they validate params, call into `agentls.core` through a `SessionManager`,
and convert the results. All of them are `async`, so a turn that streams or waits for a
permission answer never blocks other requests (hover, code actions, didChange).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer

from agentls import __version__
from agentls.lsp import transport
from agentls.lsp.client_features import ClientFeatures
from agentls.lsp.documents import DocumentTracker
from agentls.lsp.protocol import AgentProtocol

if TYPE_CHECKING:
    from agentls.lsp.findings import Findings

log = logging.getLogger(__name__)

ChangeListener = Callable[[str, Sequence[T.TextDocumentContentChangeEvent]], None]


@dataclass
class ServerState:
    """Everything one server keeps, in one place."""

    features: ClientFeatures = field(default_factory=ClientFeatures)
    documents: DocumentTracker = field(default_factory=DocumentTracker)
    """The one copy of every open document (`documents.py`)."""
    findings: Findings | None = None
    """Review findings and their diagnostics (`findings.py`), created on first use."""
    root: Path | None = None
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    """Turns started by commands and code actions; kept so they are not garbage-collected."""
    change_listeners: list[ChangeListener] = field(default_factory=list)
    """Called by the didChange handler with the uri and the change events, after the document store
    (`documents.py`) applied them (e.g. findings move or disappear when the code they point at changes)."""


class AgentServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("agentls", __version__, protocol_cls=AgentProtocol)
        self.state = ServerState()
        from agentls.lsp.sessions import SessionManager

        self.sessions = SessionManager(self)

    @property
    def agent_protocol(self) -> AgentProtocol:
        """`protocol`, typed as what it is."""
        protocol = self.protocol
        assert isinstance(protocol, AgentProtocol)
        return protocol

    def report_server_error(self, error: Exception, source: Any) -> None:
        # pygls would pop up "Error in server" for every handler exception; the log is enough,
        # and each handler already answers with a proper JSON-RPC error.
        log.error("handler error (%s): %s", getattr(source, "__name__", source), error)

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """On stdio, with our read loop (`transport.py`): resynchronising framing, size limits, and an
        answer for every request."""
        transport.start_io(self, stdin, stdout)

    def start_tcp(self, host: str, port: int) -> None:
        transport.start_tcp(self, host, port)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self.state.background.add(task)
        task.add_done_callback(self.state.background.discard)
        return task

    def log_to_client(self, message: str, kind: T.MessageType = T.MessageType.Log) -> None:
        self.window_log_message(T.LogMessageParams(type=kind, message=message))


def warm_sdk_in_background() -> None:
    """Import the SDK on a thread after `initialize`, so the first turn does not pay for it."""

    def warm() -> None:
        try:
            from agentls.core.anthropic_model import preload_sdk

            preload_sdk()
        except Exception:  # A broken SDK install shows up on the first turn, with a clear error.
            log.exception("could not preload the anthropic SDK")

    threading.Thread(target=warm, name="agentls-sdk-warmup", daemon=True).start()


def build_server() -> AgentServer:
    from agentls.lsp.handlers import register

    server = AgentServer()
    register(server)
    return server

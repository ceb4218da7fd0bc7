"""`ServerState`: everything one language server keeps, in one place, and what its handlers get.

Handlers (`handlers.py` lists them) are module-level functions that take the `ServerState` and the
request's params; they never see the pygls server. The state talks to the client only through its
`ClientChannel` (`client_channel.py`), so a handler can be tested with a fake channel and no
JSON-RPC (`tests/lsp/test_handlers.py`). `server.py` builds the one real state, over pygls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types as T
from pygls.exceptions import JsonRpcInvalidParams

from agentls.core.session import Session
from agentls.lsp.client_channel import ClientChannel
from agentls.lsp.client_features import ClientFeatures
from agentls.lsp.documents import DocumentTracker
from agentls.lsp.findings import DocumentView, Findings, read_document
from agentls.lsp.params import SessionNotFoundError
from agentls.lsp.sessions import SessionError, SessionManager
from agentls.tools.registry import ToolRegistry

ChangeListener = Callable[[str, Sequence[T.TextDocumentContentChangeEvent]], None]


@dataclass(eq=False)
class ServerState:
    connect: InitVar[Callable[[ServerState], ClientChannel]]
    """Makes the channel to the client; it reads `features` from this state on every use."""
    features: ClientFeatures = field(default_factory=ClientFeatures)
    """What the client said it supports, set once by `initialize`."""
    root: Path | None = None
    """The workspace folder the client opened (`initialize`), if any."""
    documents: DocumentTracker = field(default_factory=DocumentTracker)
    """The one copy of every open document (`documents.py`)."""
    change_listeners: list[ChangeListener] = field(default_factory=list)
    """Called by the didChange handler with the uri and the change events, after the document store
    applied them (e.g. findings move or disappear when the code they point at changes)."""
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    """Turns started by commands and code actions; kept so they are not garbage-collected."""
    channel: ClientChannel = field(init=False)
    findings: Findings = field(init=False)
    """Review findings and their diagnostics (`findings.py`)."""
    sessions: SessionManager = field(init=False)
    """The open sessions, and the watching of their settings files (`sessions.py`)."""

    def __post_init__(self, connect: Callable[[ServerState], ClientChannel]) -> None:
        self.channel = connect(self)
        self.findings = Findings(self.channel, self.documents)
        self.change_listeners.append(self.findings.on_change)
        self.sessions = SessionManager(self.channel, self.documents, lambda: self.root)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` in the background, kept alive until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    def read_document(self, uri: str) -> DocumentView:
        """The editor's copy of a document, else the file on disk, in the client's position
        encoding; raises OSError/ValueError."""
        return read_document(self.documents, uri, self.features.position_encoding)

    async def open_session(self, session_id: str) -> Session:
        """The session a request names, reopened if it was closed; SessionNotFound if there is none."""
        try:
            return await self.sessions.open(session_id)
        except SessionError as err:
            raise SessionNotFoundError(str(err)) from None

    async def new_session(self, cwd: str | None = None, registry: ToolRegistry | None = None) -> Session:
        """A new session (`registry`: instead of the built-in tools); InvalidParams if it cannot start."""
        try:
            return await self.sessions.new(cwd, registry=registry)
        except SessionError as err:
            raise JsonRpcInvalidParams(str(err)) from None

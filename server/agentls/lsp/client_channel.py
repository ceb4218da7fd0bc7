"""The client as the code that talks to it needs it: what it supports, notifications, requests the
server makes (withdrawn when the waiting task is cancelled), messages, documents to show, and
progress. Handlers, sessions, the reporter, the approver, the editor workspace and the transcript
code get this small port instead of the server (`ServerChannel` adapts the pygls server; tests hand
them a fake).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer

from agentls.lsp.client_features import ClientFeatures
from agentls.lsp.requests import request_cancellable

log = logging.getLogger(__name__)


class ClientChannel(Protocol):
    @property
    def features(self) -> ClientFeatures:
        """What the client said it supports (at `initialize`)."""
        ...

    def notify(self, method: str, params: Any) -> None: ...

    async def request(self, method: str, params: Any) -> Any:
        """A request to the client; cancelling the waiting task withdraws it (`$/cancelRequest`)."""
        ...

    def show_message(self, kind: T.MessageType, text: str) -> None: ...

    def log(self, text: str, kind: T.MessageType = T.MessageType.Log) -> None:
        """A line in the client's log (`window/logMessage`), not shown to the user unasked."""
        ...

    async def show_document(self, params: T.ShowDocumentParams) -> T.ShowDocumentResult: ...

    async def progress_begin(self, title: str, on_cancel: Callable[[], None]) -> str | None:
        """A cancellable `$/progress` (its token), or None when the client has none or refused."""
        ...

    def progress_report(self, token: str, message: str) -> None: ...

    def progress_end(self, token: str, message: str) -> None: ...


class ServerChannel:
    """`ClientChannel` over the pygls server. `features` is read on every use: the client announces
    them in `initialize`, after the channel was made."""

    def __init__(self, server: LanguageServer, features: Callable[[], ClientFeatures]) -> None:
        self._server = server
        self._features = features

    @property
    def features(self) -> ClientFeatures:
        return self._features()

    def notify(self, method: str, params: Any) -> None:
        self._server.protocol.notify(method, params)

    async def request(self, method: str, params: Any) -> Any:
        return await request_cancellable(self._server, method, params)

    def show_message(self, kind: T.MessageType, text: str) -> None:
        self._server.window_show_message(T.ShowMessageParams(type=kind, message=text))

    def log(self, text: str, kind: T.MessageType = T.MessageType.Log) -> None:
        self._server.window_log_message(T.LogMessageParams(type=kind, message=text))

    async def show_document(self, params: T.ShowDocumentParams) -> T.ShowDocumentResult:
        return await self._server.window_show_document_async(params)

    async def progress_begin(self, title: str, on_cancel: Callable[[], None]) -> str | None:
        if not self.features.work_done_progress:
            return None
        progress = self._server.work_done_progress
        token = f"agentls-{uuid.uuid4()}"
        try:
            await progress.create_async(token)
        except Exception as err:  # The client refused: the work goes on without a progress bar.
            log.info("work done progress refused: %s", err)
            return None
        progress.begin(token, T.WorkDoneProgressBegin(title=title, cancellable=True, message="starting"))
        future = progress.tokens.get(token)
        if future is not None:
            future.add_done_callback(lambda f: on_cancel() if f.cancelled() else None)
        return token

    def progress_report(self, token: str, message: str) -> None:
        self._server.work_done_progress.report(token, T.WorkDoneProgressReport(message=message))

    def progress_end(self, token: str, message: str) -> None:
        progress = self._server.work_done_progress
        progress.end(token, T.WorkDoneProgressEnd(message=message))
        # pygls keeps every token forever; a long editor session would accumulate them.
        progress.tokens.pop(token, None)

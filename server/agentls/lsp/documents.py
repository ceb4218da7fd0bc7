"""The editor's open documents, as the editor sees them, and a way to wait for them to change.

`DocumentTracker` mirrors every document the client opened (`didOpen`/`didChange`/`didClose`)
and counts `didSave`s. It keeps its own copy of the text instead of reading pygls' document
store because pygls splits lines with `str.splitlines`, which also breaks at form feeds and
U+2028, so an incremental change after such a character lands on the wrong line; here changes
are applied with the LSP's own line breaks (`agentls.lsp.positions`).

The editor workspace needs to *wait* for the editor: after `workspace/applyEdit` the text only
counts as changed once the client's `didChange` says so (Neovim answers `applied: true` for an
edit it dropped), and after `agentls/saveDocuments` once the disk agrees. `wait_until` re-checks
a predicate after every document event (and optionally on a poll interval, for the disk).

Documents are keyed by file path for `file:` URIs, so two spellings of one URI (percent-encoding
differs between clients) find the same document; other schemes are keyed by the URI itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from lsprotocol import types as T
from pygls.uris import from_fs_path, to_fs_path

from agentls.lsp.positions import LineIndex

if TYPE_CHECKING:
    from agentls.lsp.server import AgentServer

log = logging.getLogger(__name__)


def uri_to_path(uri: str) -> Path | None:
    """The absolute file path of a `file:` URI; None for any other scheme."""
    if not uri.startswith("file:"):
        return None
    path = to_fs_path(uri)
    return Path(os.path.normpath(path)) if path else None


def path_to_uri(path: Path) -> str:
    return from_fs_path(str(path)) or Path(path).as_uri()


def _key(uri: str) -> str:
    path = uri_to_path(uri)
    return str(path) if path is not None else unquote(uri)


@dataclass(frozen=True)
class OpenDocument:
    uri: str
    """As the client spelled it: edits for this document must name it the same way."""
    text: str
    version: int | None
    language_id: str = ""

    @property
    def path(self) -> Path | None:
        return uri_to_path(self.uri)


class DocumentTracker:
    def __init__(self) -> None:
        self._docs: dict[str, OpenDocument] = {}
        self._saves: dict[str, int] = {}
        self._waiters: set[asyncio.Future[None]] = set()

    # Queries.

    def get(self, uri: str) -> OpenDocument | None:
        return self._docs.get(_key(uri))

    def by_path(self, path: Path) -> OpenDocument | None:
        return self._docs.get(str(Path(os.path.normpath(path))))

    def documents(self) -> list[OpenDocument]:
        return list(self._docs.values())

    def save_count(self, uri: str) -> int:
        """How many `didSave`s arrived for `uri` (open or not) since the server started."""
        return self._saves.get(_key(uri), 0)

    # Events from the client.

    def did_open(self, uri: str, text: str, version: int | None, language_id: str = "") -> None:
        self._docs[_key(uri)] = OpenDocument(uri, text, version, language_id)
        self._wake()

    def did_change(
        self,
        uri: str,
        version: int | None,
        changes: Sequence[T.TextDocumentContentChangeEvent],
        encoding: str,
    ) -> None:
        doc = self._docs.get(_key(uri))
        if doc is None:
            log.warning("didChange for %s, which was never opened; ignored", uri)
            return
        text = doc.text
        for change in changes:
            if isinstance(change, T.TextDocumentContentChangePartial):
                index = LineIndex(text)
                start = index.offset_at(change.range.start, encoding)
                end = max(start, index.offset_at(change.range.end, encoding))
                text = text[:start] + change.text + text[end:]
            else:
                text = change.text
        self._docs[_key(uri)] = OpenDocument(doc.uri, text, version, doc.language_id)
        self._wake()

    def did_close(self, uri: str) -> None:
        self._docs.pop(_key(uri), None)
        self._wake()

    def did_save(self, uri: str) -> None:
        key = _key(uri)
        self._saves[key] = self._saves.get(key, 0) + 1
        self._wake()

    # Waiting.

    async def wait_until(
        self, predicate: Callable[[], bool], timeout_s: float, *, poll: float | None = None
    ) -> bool:
        """True as soon as `predicate()` holds, False if it still does not after `timeout_s` s.

        The predicate is checked now, after every document event and, with `poll`, every
        `poll` seconds (for conditions on the disk, which sends no events).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            if predicate():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait({waiter}, timeout=min(remaining, poll) if poll else remaining)
            finally:
                self._waiters.discard(waiter)
                waiter.cancel()

    async def wait_for_text(self, uri: str, text: str, timeout_s: float) -> bool:
        """True once the document at `uri` is open with exactly `text`."""

        def reached() -> bool:
            doc = self.get(uri)
            return doc is not None and doc.text == text

        return await self.wait_until(reached, timeout_s)

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


_ATTR = "_agentls_documents"


def tracker(server: object) -> DocumentTracker:
    """The server's tracker, created on first use (kept on the server object itself)."""
    found = getattr(server, _ATTR, None)
    if isinstance(found, DocumentTracker):
        return found
    created = DocumentTracker()
    setattr(server, _ATTR, created)
    return created


def register(server: AgentServer) -> None:
    # Plain (not async) handlers: pygls runs them inline, right after its own handler, so the
    # tracker sees the changes in the order the client sent them.

    @server.feature(T.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: AgentServer, params: T.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        tracker(ls).did_open(doc.uri, doc.text, doc.version, doc.language_id)

    @server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: AgentServer, params: T.DidChangeTextDocumentParams) -> None:
        doc = params.text_document
        encoding = ls.state.features.position_encoding
        tracker(ls).did_change(doc.uri, doc.version, params.content_changes, encoding)
        for listener in list(ls.state.change_listeners):
            try:
                listener(doc.uri, params.content_changes)
            except Exception:  # One broken listener must not starve the others.
                log.exception("change listener %r failed", listener)

    @server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: AgentServer, params: T.DidCloseTextDocumentParams) -> None:
        tracker(ls).did_close(params.text_document.uri)

    @server.feature(T.TEXT_DOCUMENT_DID_SAVE, T.SaveOptions(include_text=False))
    def did_save(ls: AgentServer, params: T.DidSaveTextDocumentParams) -> None:
        tracker(ls).did_save(params.text_document.uri)

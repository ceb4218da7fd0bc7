"""The editor's open documents, as the editor sees them, and a way to wait for them to change.

`DocumentTracker` mirrors every document the client opened (`didOpen`/`didChange`/`didClose`)
and counts `didSave`s. It is the server's one document store: `AgentProtocol` keeps pygls from
storing a copy of its own (pygls splits lines with `str.splitlines`, which also breaks at form
feeds and U+2028, so an incremental change after such a character lands on the wrong line, and it
rebuilds the whole text on every change). Here changes are applied with the LSP's own line breaks
(`agentls.lsp.positions`), and a document is held as its list of lines: an incremental change
replaces only the lines it touches, so a keystroke in a 20 MB file costs about as much as in a
small one; the whole text is joined only when someone asks for it (`python -m bench.documents`).

The editor workspace needs to *wait* for the editor: after `workspace/applyEdit` the text only
counts as changed once the client's `didChange` says so (Neovim answers `applied: true` for an
edit it dropped), and after `agentls/saveDocuments` once the disk agrees. `wait_until` re-checks
a predicate after every document event (and optionally on a poll interval, for the disk).

Documents are keyed by file path for `file:` URIs, so two spellings of one URI (percent-encoding
differs between clients) find the same document; other schemes are keyed by the URI itself.

What a client can make the store hold is bounded: at most `MAX_DOCUMENTS` documents and
`MAX_TOTAL_CHARS` characters of text (a `didOpen` past either is not tracked, a document that grows
past the second is dropped, both logged as errors), and save counts for the last `MAX_DOCUMENTS` uris.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types as T
from pygls.uris import from_fs_path, to_fs_path

from agentls.lsp.positions import column_offset, line_content, split_lines

log = logging.getLogger(__name__)

MAX_DOCUMENTS = 10_000
MAX_TOTAL_CHARS = 256 * 1024 * 1024


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


class TextBuffer:
    """A document's text as lines, each with its line break but the last (`positions.split_lines`)."""

    __slots__ = ("_lines", "_text", "length")

    def __init__(self, text: str) -> None:
        self._lines = split_lines(text)
        self._text: str | None = text
        self.length = len(text)
        """In code points."""

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self._lines)
        return self._text

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def replace(self, start: T.Position, end: T.Position, new_text: str, encoding: str) -> None:
        """Replace the range `start`-`end` (positions in `encoding`) by `new_text`.

        Out-of-range positions are clamped as the specification says (a column past the end of its
        line means the end of the line, a line past the last one the end of the text); a range that
        ends before it starts is empty at its start. Only the lines the range spans are rebuilt.
        """
        lines = self._lines
        first, first_col = self._locate(start, encoding)
        last, last_col = self._locate(end, encoding)
        if (last, last_col) < (first, first_col):
            last, last_col = first, first_col
        piece = lines[first][:first_col] + new_text + lines[last][last_col:]
        if first > 0 and piece.startswith("\n") and lines[first - 1].endswith("\r"):
            # The CR ending the previous line and this LF now form one CRLF line break.
            first -= 1
            piece = lines[first] + piece
        replacement = split_lines(piece)
        if last < len(lines) - 1:
            # The piece ends with the line break of line `last`; the line after it is not part of it.
            replacement.pop()
        removed = sum(map(len, lines[first : last + 1]))
        lines[first : last + 1] = replacement
        self.length += sum(map(len, replacement)) - removed
        self._text = None

    def _locate(self, position: T.Position, encoding: str) -> tuple[int, int]:
        """(line, code-point offset in that line) of a position, clamped to the text."""
        if position.line >= len(self._lines):
            return len(self._lines) - 1, len(self._lines[-1])
        line = max(position.line, 0)
        return line, column_offset(line_content(self._lines[line]), position.character, encoding)


class _Entry:
    __slots__ = ("_snapshot", "buffer", "language_id", "uri", "version")

    def __init__(self, uri: str, text: str, version: int | None, language_id: str) -> None:
        self.uri = uri
        self.buffer = TextBuffer(text)
        self.version = version
        self.language_id = language_id
        self._snapshot: OpenDocument | None = None

    def snapshot(self) -> OpenDocument:
        """The document as it is now: the same object until the next change (callers compare)."""
        if self._snapshot is None:
            self._snapshot = OpenDocument(self.uri, self.buffer.text, self.version, self.language_id)
        return self._snapshot

    def changed(self, version: int | None) -> None:
        self.version = version
        self._snapshot = None


class DocumentTracker:
    def __init__(self) -> None:
        self._docs: dict[str, _Entry] = {}
        self._chars = 0
        """Total length of every tracked text."""
        self._saves: dict[str, int] = {}
        self._waiters: set[asyncio.Future[None]] = set()

    # Queries.

    def get(self, uri: str) -> OpenDocument | None:
        entry = self._docs.get(_key(uri))
        return entry.snapshot() if entry is not None else None

    def by_path(self, path: Path) -> OpenDocument | None:
        entry = self._docs.get(str(Path(os.path.normpath(path))))
        return entry.snapshot() if entry is not None else None

    def documents(self) -> list[OpenDocument]:
        return [entry.snapshot() for entry in self._docs.values()]

    def __len__(self) -> int:
        return len(self._docs)

    def save_count(self, uri: str) -> int:
        """How many `didSave`s arrived for `uri` (open or not) since the server started (for the
        `MAX_DOCUMENTS` uris saved last)."""
        return self._saves.get(_key(uri), 0)

    # Events from the client.

    def did_open(self, uri: str, text: str, version: int | None, language_id: str = "") -> None:
        key = _key(uri)
        previous = self._docs.pop(key, None)
        if previous is not None:
            self._chars -= previous.buffer.length
        if len(self._docs) >= MAX_DOCUMENTS or self._chars + len(text) > MAX_TOTAL_CHARS:
            log.error(
                "didOpen for %s not tracked: %d documents (%d characters) are open already, the limits"
                " are %d and %d; agentls treats it as not open",
                uri,
                len(self._docs),
                self._chars,
                MAX_DOCUMENTS,
                MAX_TOTAL_CHARS,
            )
        else:
            self._docs[key] = _Entry(uri, text, version, language_id)
            self._chars += len(text)
        self._wake()

    def did_change(
        self,
        uri: str,
        version: int | None,
        changes: Sequence[T.TextDocumentContentChangeEvent],
        encoding: str,
    ) -> None:
        entry = self._docs.get(_key(uri))
        if entry is None:
            log.warning("didChange for %s, which was never opened; ignored", uri)
            return
        before = entry.buffer.length
        try:
            for change in changes:
                if isinstance(change, T.TextDocumentContentChangePartial):
                    entry.buffer.replace(change.range.start, change.range.end, change.text, encoding)
                else:
                    entry.buffer = TextBuffer(change.text)
        finally:
            entry.changed(version)
            self._chars += entry.buffer.length - before
        if self._chars > MAX_TOTAL_CHARS:
            log.error(
                "open documents grew past %d characters with %s; it is no longer tracked",
                MAX_TOTAL_CHARS,
                uri,
            )
            self.did_close(uri)
        self._wake()

    def did_close(self, uri: str) -> None:
        entry = self._docs.pop(_key(uri), None)
        if entry is not None:
            self._chars -= entry.buffer.length
        self._wake()

    def did_save(self, uri: str) -> None:
        key = _key(uri)
        count = self._saves.pop(key, 0) + 1
        if len(self._saves) >= MAX_DOCUMENTS:  # Forget the uri saved least recently.
            del self._saves[next(iter(self._saves))]
        self._saves[key] = count
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

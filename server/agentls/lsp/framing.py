"""The LSP base protocol's framing, for bytes nobody vouches for: `Content-Length` headers, bodies.

pygls' reader (`pygls/io_.py`) trusts its input: it reads a line at a time, accepts only an exact
`Content-Length: <digits>\\r\\n` line, and then reads the announced length in one call. So a few
stray bytes without a line break glue onto the next header line and every following message is
misread (the server goes deaf for good), and `Content-Length: 1000000000000` asks for a terabyte
(`MemoryError`). `FrameDecoder` replaces it: a sans-IO decoder (bytes in, events out) that

- finds a `Content-Length` header wherever it starts, even right after garbage on the same line
  (case-insensitive, spaces allowed around the colon, `\\r\\n` or `\\n`), and skips what came before;
  other header lines are ignored, as is anything before the first `Content-Length`;
- when one header block holds several `Content-Length`s, takes the last (a truncated header block
  followed by a whole one);
- refuses a body over `max_body` (64 MB by default): it keeps the first `HEAD_BYTES` (so the caller
  can still name the request in its error) and discards the rest as it arrives, never holding it;
  when the announced length was a lie, it resynchronises on the next header it sees in the
  discarded bytes: no valid JSON text contains `Content-Length: <digits>` followed by a raw line
  break (JSON strings cannot hold raw line breaks), so such a header ends the body for sure;
- ends a body early at a header that shows up while it is still arriving, and offers `resync` for
  a whole body that did not parse and holds one: such a body was cut short by a sender that
  announced more than it sent, and the next message starts at that header. (A body without raw
  line breaks, which is what every client's JSON encoder writes, is searched with one `find`.)

The buffer never holds more than one body (up to `max_body`) plus one read. This module imports the
standard library only (not even `dataclasses`, which costs `inspect`): `fast_start` imports it
before pygls.
"""

from __future__ import annotations

import json
import logging
import re
from typing import NamedTuple

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024 * 1024
"""The largest body accepted: far above any real message (a 20 MB file opened is about 21 MB of
JSON), far below what would hurt the process."""
HEAD_BYTES = 64 * 1024
"""How much of a refused body is kept, to find the request's id in it."""
MAX_HEADER_LINE = 8 * 1024
"""A header line longer than this is garbage (pygls itself writes two short lines)."""
MAX_LENGTH_DIGITS = 18
"""More digits than this (10**18 bytes) is refused without converting them to an int."""

# A Content-Length header, possibly preceded by garbage on its line: group 1 = the digits.
_HEADER = re.compile(rb"content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?\n", re.IGNORECASE)
_HEADER_AT_END = re.compile(rb"content-length[ \t]*:[ \t]*\d+[ \t]*\r?\n\Z", re.IGNORECASE)
_WINDOW = 128
"""How far before a line break `find_header` looks for the header that break ends."""


class Frame(NamedTuple):
    """One body: as long as its header said, or shorter if a header showed up in it (then it is
    not JSON, and is answered as such)."""

    body: bytes


class Oversized(NamedTuple):
    """A body over the limit, discarded. `head` is its first bytes; `complete` is False when the
    announced length was a lie and decoding resumed at a header found inside it."""

    length: int
    head: bytes
    complete: bool
    limit: int


Event = Frame | Oversized


class FrameDecoder:
    """Feed it bytes with `feed`; take frames with `next_event` until it returns None."""

    def __init__(self, max_body: int = MAX_BODY_BYTES) -> None:
        self.max_body = max_body
        self._buf = bytearray()
        self._length: int | None = None
        """The Content-Length of the header block being read (None: no header seen yet)."""
        self._body: int | None = None
        """Set once the header block ended: the body's length, read next."""
        self._scanned = 0
        """How much of the body being read was searched for a header already."""
        self._discard: int | None = None
        """Bytes of a refused body still to be discarded."""
        self._head = bytearray()
        self._refused = 0
        self.skipped = 0
        """Garbage bytes skipped so far (logged once per run of garbage)."""
        self._garbage_run = 0

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        self._buf += data

    def resync(self, body: bytes) -> int | None:
        """`body` did not parse: if a header starts inside it, decode again from there (before
        anything still buffered). Returns where the header starts, i.e. where the cut-short message
        ends; None if there is no header in `body`."""
        start = find_header(body)
        if start is None:
            return None
        log.warning("a message was cut short by the next one (%d bytes announced); resynchronised", len(body))
        self._buf[0:0] = body[start:]
        return start

    def next_event(self) -> Event | None:
        while True:
            if self._discard is not None:
                event = self._discarding()
                if event is not None or self._discard is not None:
                    return event
                continue
            if self._body is not None:
                return self._read_body(self._body)
            if not self._read_header_line():
                return None

    def _read_body(self, length: int) -> Frame | None:
        if len(self._buf) >= length:
            end = length
        else:
            # Still arriving. A header in it means it was cut short (no JSON text holds one): then
            # what came before the header is the body, and decoding goes on at the header, instead
            # of waiting for bytes that may never come.
            header = find_header(self._buf, self._scanned)
            self._scanned = len(self._buf)
            if header is None:
                return None
            end = header
        body = bytes(self._buf[:end])
        del self._buf[:end]
        self._body = None
        return Frame(body)

    # --- headers -----------------------------------------------------------------------------------

    def _read_header_line(self) -> bool:
        """Consume one header line; False when more bytes are needed."""
        newline = self._buf.find(b"\n", 0, MAX_HEADER_LINE)
        if newline < 0:
            if len(self._buf) >= MAX_HEADER_LINE:
                self._drop_unterminated()
                return True
            return False
        line = bytes(self._buf[: newline + 1])
        del self._buf[: newline + 1]
        match = _HEADER.search(line)
        if match is not None:
            self._skip(match.start())
            self._length = _length(match.group(1))
            return True
        if line.strip():
            if self._length is None and not _looks_like_header(line):
                self._skip(len(line))
            return True
        # The blank line that ends a header block (ignored before any Content-Length, like pygls).
        if self._length is not None:
            self._end_of_headers(self._length)
        return True

    def _drop_unterminated(self) -> None:
        """No line break for `MAX_HEADER_LINE` bytes: garbage, but for its last few bytes, where a
        header whose line break has not arrived yet may start."""
        drop = MAX_HEADER_LINE - _WINDOW
        self._skip(drop)
        del self._buf[:drop]
        self._length = None  # A header block interrupted by garbage is lost with it.

    def _end_of_headers(self, length: int) -> None:
        self._length = None
        if self._garbage_run:
            log.warning("skipped %d bytes of garbage before a message header", self._garbage_run)
            self._garbage_run = 0
        if length > self.max_body:
            self._discard = length
            self._refused = length
            self._head.clear()
            return
        self._body = length
        self._scanned = 0

    def _skip(self, count: int) -> None:
        self.skipped += count
        self._garbage_run += count

    # --- refused bodies ------------------------------------------------------------------------------

    def _discarding(self) -> Event | None:
        """Discard what arrived of a refused body; the event once it ends (or a header shows up)."""
        remaining = self._discard
        assert remaining is not None
        take = min(remaining, len(self._buf))
        start = find_header(self._buf, 0, take)
        if start is not None:
            self._keep_head(start)
            del self._buf[:start]
            return self._refuse(complete=False)
        if take == remaining:
            self._keep_head(take)
            del self._buf[:take]
            return self._refuse(complete=True)
        # Keep a short tail: a header may start there and end in the next read.
        drop = max(0, take - _WINDOW)
        self._keep_head(drop)
        del self._buf[:drop]
        self._discard = remaining - drop
        return None

    def _keep_head(self, end: int) -> None:
        """Keep the buffer's first `end` bytes as far as the head has room for them."""
        room = HEAD_BYTES - len(self._head)
        if room > 0:
            self._head += self._buf[: min(end, room)]

    def _refuse(self, *, complete: bool) -> Oversized:
        self._discard = None
        head = bytes(self._head)
        self._head.clear()
        return Oversized(self._refused, head, complete, self.max_body)


def find_header(data: bytes | bytearray, start: int = 0, end: int | None = None) -> int | None:
    """Where the first `Content-Length` header ending (with its line break) in `data[start:end]`
    begins, or None. Only the bytes just before each line break are searched, so a body without
    raw line breaks (what every client's JSON encoder writes) costs one `find`."""
    end = len(data) if end is None else end
    newline = data.find(b"\n", start, end)
    while newline >= 0:
        match = _HEADER_AT_END.search(data, max(0, newline - _WINDOW), newline + 1)
        if match is not None:
            return match.start()
        newline = data.find(b"\n", newline + 1, end)
    return None


def _length(digits: bytes) -> int:
    # int() of thousands of digits is slow (and refused past 4,300): anything this long is too big.
    return int(digits) if len(digits) <= MAX_LENGTH_DIGITS else 10**MAX_LENGTH_DIGITS


def _looks_like_header(line: bytes) -> bool:
    name, colon, _ = line.partition(b":")
    return bool(colon) and name.replace(b"-", b"").isalnum()


# --- naming a request from a fragment ----------------------------------------------------------------

RequestId = int | str


def peek_request(head: bytes) -> tuple[RequestId | None, bool]:
    """The top-level `id` of a JSON object from its first bytes (a truncated or refused body), and
    whether a top-level `method` string was seen too. Nested `id`s (inside `params`) are not the
    request's and are skipped; scanning stops at the first thing that is not JSON."""
    text = head.decode("utf-8", errors="replace")
    decoder = json.JSONDecoder()
    i = _skip_ws(text, 0)
    if not text.startswith("{", i):
        return None, False
    depth = 0
    expect_key = False
    found_id: RequestId | None = None
    found_method = False
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "{[":
            depth += 1
            expect_key = ch == "{" and depth == 1
            i += 1
        elif ch in "}]":
            depth -= 1
            i += 1
            if depth <= 0:
                break
        elif ch == ",":
            expect_key = depth == 1
            i += 1
        elif ch == '"':
            try:
                string, end = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
            except ValueError:
                break
            i = end
            if depth == 1 and expect_key:
                expect_key = False
                j = _skip_ws(text, i)
                if not text.startswith(":", j):
                    break
                j = _skip_ws(text, j + 1)
                if string in ("id", "method"):
                    try:
                        value, end = decoder.raw_decode(text, j)
                    except (ValueError, RecursionError):
                        break
                    if string == "id" and isinstance(value, int | str) and not isinstance(value, bool):
                        found_id = value
                    elif string == "method" and isinstance(value, str):
                        found_method = True
                    i = end
                else:
                    i = j
        else:
            i += 1
    return found_id, found_method


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i

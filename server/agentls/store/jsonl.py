"""An append-only, crash-safe JSON Lines log of plain JSON-able dicts.

The writer never rewrites or truncates a file: every record is one complete line handed to the
kernel in a single `os.write`, so a killed process leaves at most one torn last line. The reader
streams the file line by line, skips malformed lines (reporting their numbers) and drops a torn
tail, so a crash can cost the record being written but never the records before or after it.

This module knows nothing about messages or sessions; callers decide what a record means.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

_DIR_MODE = 0o700
_FILE_MODE = 0o600
_SCAN_CHUNK = 64 * 1024


@dataclass
class JsonlRead:
    """What `read_jsonl` found."""

    records: list[dict[str, Any]] = field(default_factory=list)
    torn_tail: bool = False
    """The last line had no newline and was not a complete JSON object (a write cut short)."""
    corrupt_lines: list[int] = field(default_factory=list)
    """1-based numbers of malformed lines before the last one; they were skipped."""


def _parse_object(line: bytes) -> dict[str, Any] | None:
    """The JSON object on `line`, or None if the line is anything else (including garbage)."""
    try:
        value = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def read_jsonl(path: Path | str) -> JsonlRead:
    """Read every good record of a log, in file order. Raises `OSError` if it cannot be opened."""
    result = JsonlRead()
    with open(path, "rb") as f:
        # Iterating a binary file yields one line at a time, so memory stays bounded by the
        # longest line rather than the file size.
        for number, line in enumerate(f, start=1):
            record = _parse_object(line)
            if not line.endswith(b"\n"):
                # Only the last line can lack a newline. A whole object that lost just its
                # newline is still a whole record (and the writer counts it the same way).
                if record is None:
                    result.torn_tail = True
                else:
                    result.records.append(record)
            elif record is None:
                result.corrupt_lines.append(number)
            else:
                result.records.append(record)
    return result


def _seq_of(line: bytes) -> int | None:
    record = _parse_object(line)
    if record is None:
        return None
    seq = record.get("seq")
    # bool is an int subclass; a `true` seq is not a sequence number.
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def _last_seq(fd: int, size: int) -> int | None:
    """The `seq` of the last good record, scanning backwards so huge logs open quickly."""
    pos = size
    carry = b""  # The start of a line whose beginning lies in an earlier chunk.
    while pos > 0:
        step = min(_SCAN_CHUNK, pos)
        pos -= step
        lines = (os.pread(fd, step, pos) + carry).split(b"\n")
        if pos > 0:
            carry = lines.pop(0)
        for line in reversed(lines):
            seq = _seq_of(line)
            if seq is not None:
                return seq
    return None


def _fsync_dir(path: Path) -> None:
    """Make a directory entry durable; the file's own fsync does not cover its name."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(path: Path) -> None:
    """Create `path` and missing parents as 0o700 (`Path.mkdir` gives parents the default mode)."""
    missing: list[Path] = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=_DIR_MODE)
        except FileExistsError:
            continue  # Another process made it meanwhile; that is fine.
        _fsync_dir(d.parent)


def json_text(value: Any, *, lossless: bool = True, **options: Any) -> str:
    """`json.dumps(value)` as text that is always valid UTF-8, whatever strings `value` holds.

    Strings may carry lone surrogates: bytes a file held that are not UTF-8 (decoded with
    surrogateescape, so an edit keeps them), or a `\\udcXX` escape in the model's JSON. UTF-8
    cannot encode those. `lossless` writes them as JSON escapes, which Python's `json` (our own
    transcripts, hooks) reads back to the same str; otherwise they become U+FFFD, for consumers
    whose parsers refuse lone surrogates (stream-json readers).
    """
    text = json.dumps(value, ensure_ascii=False, **options)
    if not _LONE_SURROGATE.search(text):
        return text
    if lossless:
        # Only inside JSON strings can a lone surrogate be, where `\\udcXX` is its escape.
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _LONE_SURROGATE.sub("\ufffd", text)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _encode(record: dict[str, Any]) -> bytes:
    return json_text(record, separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"


class JsonlWriter:
    """Appends records to one log. Use `JsonlWriter.open(path)`; one writer per file.

    The file is opened for each append and each sync and closed right after, never held between
    writes: a language server keeps thousands of sessions over its life, and a descriptor per
    session ran it out of descriptors (issue 10).
    """

    def __init__(self, path: Path, next_seq: int, needs_newline: bool) -> None:
        self._path = path
        self._closed = False
        self._next_seq = next_seq
        self._needs_newline = needs_newline
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path | str) -> Self:
        """Open `path` for appending, creating it (and its directories) if needed."""
        path = Path(path)
        _make_dirs(path.parent)
        flags = os.O_RDWR | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, _FILE_MODE)
            created = True
        except FileExistsError:
            fd = os.open(path, flags)
            created = False
        try:
            if created:
                _fsync_dir(path.parent)
                return cls(path, 1, needs_newline=False)
            size = os.fstat(fd).st_size
            last = _last_seq(fd, size)
            torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
            return cls(path, 1 if last is None else last + 1, needs_newline=torn)
        finally:
            os.close(fd)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def last_seq(self) -> int:
        """The `seq` given to the most recent record (0 if none yet)."""
        return self._next_seq - 1

    def append(self, record: dict[str, Any]) -> None:
        """Write `record` plus a `seq` field as one line. Not durable until `sync()`.

        `seq` strictly increases; a failed append may leave a gap. A `seq` already in `record`
        is replaced.
        """
        with self._lock:
            self._require_open()
            seq = self._next_seq
            line = {"seq": seq, **record}
            line["seq"] = seq
            data = _encode(line)  # May raise (NaN, non-JSON values) before anything is spent.
            # Spend the number before writing: if a partial line reaches the file it carries
            # this seq, and the next record must not reuse it.
            self._next_seq += 1
            # Terminate a torn line left by a crash (or a failed write) so it stays a separate,
            # detectably corrupt line instead of swallowing the start of this record.
            prefix = b"\n" if self._needs_newline else b""
            data = prefix + data
            view = memoryview(data)
            written = 0
            try:
                fd = self._open_fd()
                try:
                    while written < len(view):
                        written += os.write(fd, view[written:])
                finally:
                    os.close(fd)
            except BaseException:
                # Part of this record reached the file: the next one must start a fresh line.
                # Only when nothing beyond the prefix was written does the old state still hold.
                self._needs_newline = written > len(prefix) or (bool(prefix) and written == 0)
                raise
            self._needs_newline = False

    def sync(self) -> None:
        """Flush written records to stable storage."""
        with self._lock:
            self._require_open()
            fd = self._open_fd()
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def close(self) -> None:
        """Close the file; further appends raise `ValueError`. Safe to call twice."""
        with self._lock:
            self._closed = True

    def _require_open(self) -> None:
        if self._closed:
            raise ValueError(f"JSONL log {self._path} is closed")

    def _open_fd(self) -> int:
        # O_CREAT: if the file was deleted meanwhile, the records still land somewhere readable.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        return os.open(self._path, flags, _FILE_MODE)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

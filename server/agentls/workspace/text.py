"""Bytes <-> text for files the agent edits, losslessly.

A BOM is split off and kept; the rest decodes as UTF-8 with `surrogateescape` (or UTF-16 when a
UTF-16 BOM says so), so encoding the decoded text reproduces the original bytes exactly.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


# surrogateescape maps each undecodable byte 0x80-0xFF to U+DC80-U+DCFF.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class DecodedText:
    text: str
    bom: bytes
    encoding: str

    @property
    def valid_utf8(self) -> bool:
        """False when undecodable bytes were carried through as surrogates."""
        return _ESCAPED_BYTE.search(self.text) is None

    def encode(self, text: str) -> bytes:
        return self.bom + text.encode(self.encoding, errors="surrogateescape")


def decode(data: bytes) -> DecodedText:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            body = data[len(bom) :]
            errors = "surrogateescape" if encoding == "utf-8" else "replace"
            return DecodedText(body.decode(encoding, errors=errors), bom, encoding)
    return DecodedText(data.decode("utf-8", errors="surrogateescape"), b"", "utf-8")


def for_display(text: str) -> str:
    """Replace carried-through undecodable bytes with U+FFFD for the model to read."""
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def newline_style(text: str) -> str:
    """The file's dominant line ending: '\\r\\n' if most lines end with it, else '\\n'."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"


def content_version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def looks_binary(data: bytes) -> bool:
    """A NUL byte in the first 8 KiB (outside a UTF-16 BOM'd file) means binary, like git and grep."""
    head = data[:8192]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    return b"\x00" in head

"""Offsets in a Python `str` (code points) <-> LSP `Position`s in the negotiated encoding.

The agent works in code-point offsets; the editor counts columns in UTF-16 code units (the LSP
default: VS Code, Neovim <= 0.10), UTF-8 bytes (Neovim >= 0.11) or code points ("utf-32"). An
emoji is one code point, two UTF-16 units and four UTF-8 bytes, so a range built from raw offsets
lands in the wrong place as soon as a line holds anything outside ASCII.

Lines are separated by exactly `\\r\\n`, `\\r` and `\\n`, as the LSP specification says. Python's
`str.splitlines` also splits at form feeds, `\\x1c`-`\\x1e`, `\\x85`, U+2028 and U+2029, which puts
every position after such a character on the wrong line (pygls' own document store makes this
mistake; `agentls.lsp.documents` therefore keeps its own copy of the text).

Carried-through undecodable bytes (lone surrogates from `surrogateescape`) count as one UTF-16
unit and three UTF-8 bytes, which is what an editor that shows them as U+FFFD counts.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from lsprotocol import types as T

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")


def units(s: str, encoding: str) -> int:
    """The length of `s` in the code units of `encoding` ("utf-16", "utf-8" or "utf-32")."""
    if s.isascii() or encoding == "utf-32":
        return len(s)
    if encoding == "utf-8":
        return len(s.encode("utf-8", errors="surrogatepass"))
    return len(s.encode("utf-16-le", errors="surrogatepass")) // 2


def _char_units(code: int, encoding: str) -> int:
    if encoding == "utf-16":
        return 2 if code > 0xFFFF else 1
    return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4


def _check_encoding(encoding: str) -> None:
    if encoding not in ("utf-16", "utf-8", "utf-32"):
        raise ValueError(f"unknown position encoding {encoding!r}")


class LineIndex:
    """Where each line of `text` starts and where its content ends (before the line break).

    Build one per text and reuse it for many conversions (a replace-all edit, a batch of
    incremental changes); the module-level functions build a throw-away one.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        ends: list[int] = []
        for m in _LINE_BREAK.finditer(text):
            ends.append(m.start())
            starts.append(m.end())
        ends.append(len(text))
        self._starts = starts
        self._ends = ends

    @property
    def line_count(self) -> int:
        """Lines, counting the (possibly empty) one after a final line break."""
        return len(self._starts)

    def position_at(self, offset: int, encoding: str = "utf-16") -> T.Position:
        """The position of code-point `offset`, clamped to the text.

        An offset between the `\\r` and `\\n` of one line break has no LSP position of its own;
        it maps to the end of that line's content, like the offset of the `\\r`.
        """
        _check_encoding(encoding)
        offset = max(0, min(offset, len(self.text)))
        line = bisect_right(self._starts, offset) - 1
        start = self._starts[line]
        column = min(offset, self._ends[line]) - start
        return T.Position(line=line, character=units(self.text[start : start + column], encoding))

    def offset_at(self, position: T.Position, encoding: str = "utf-16") -> int:
        """The code-point offset of `position`.

        As the specification says, a character past the end of the line means the end of the
        line (before its break); a line past the last one means the end of the text. A column in
        the middle of a character (half a surrogate pair, inside a UTF-8 sequence) rounds down to
        the start of that character.
        """
        _check_encoding(encoding)
        if position.line >= len(self._starts):
            return len(self.text)
        start = self._starts[max(position.line, 0)]
        end = self._ends[max(position.line, 0)]
        return start + column_offset(self.text[start:end], position.character, encoding)

    def range_for(self, start: int, end: int, encoding: str = "utf-16") -> T.Range:
        return T.Range(start=self.position_at(start, encoding), end=self.position_at(end, encoding))


def column_offset(content: str, character: int, encoding: str = "utf-16") -> int:
    """The code-point offset in one line's `content` (without its line break) of column
    `character` in `encoding`: clamped to the content, rounded down inside a character."""
    _check_encoding(encoding)
    wanted = max(character, 0)
    if encoding == "utf-32" or content.isascii():
        return min(wanted, len(content))
    used = 0
    for i, ch in enumerate(content):
        used += _char_units(ord(ch), encoding)
        if used > wanted:
            return i
    return len(content)


def split_lines(text: str) -> list[str]:
    """The lines of `text`, each with its line break (`\\r\\n`, `\\r` or `\\n`) but the last,
    which has none and may be empty: one more line than there are line breaks."""
    lines: list[str] = _LINE.findall(text)
    lines.append(text[max(text.rfind("\n"), text.rfind("\r")) + 1 :])
    return lines


def line_content(line: str) -> str:
    """A line from `split_lines` without its line break."""
    if line.endswith("\n"):
        return line[:-2] if line.endswith("\r\n") else line[:-1]
    return line[:-1] if line.endswith("\r") else line


def offset_to_position(text: str, offset: int, encoding: str = "utf-16") -> T.Position:
    return LineIndex(text).position_at(offset, encoding)


def position_to_offset(text: str, position: T.Position, encoding: str = "utf-16") -> int:
    return LineIndex(text).offset_at(position, encoding)


def range_for(text: str, start: int, end: int, encoding: str = "utf-16") -> T.Range:
    """The LSP range covering `text[start:end]`."""
    return LineIndex(text).range_for(start, end, encoding)


def splits_line_break(text: str, offset: int) -> bool:
    """True if `offset` falls between the `\\r` and `\\n` of a CRLF, which no position can name."""
    return 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n"

"""Offsets <-> LSP positions in utf-16, utf-8 and utf-32, with the LSP's three line breaks."""

from __future__ import annotations

import pytest
from lsprotocol import types as T

from agentls.lsp.positions import (
    LineIndex,
    offset_to_position,
    position_to_offset,
    range_for,
    splits_line_break,
    units,
)

EMOJI = "\U0001f600"  # 1 code point, 2 UTF-16 units, 4 UTF-8 bytes.
ENCODINGS = ("utf-16", "utf-8", "utf-32")


def pos(line: int, character: int) -> T.Position:
    return T.Position(line=line, character=character)


def test_ascii_round_trip() -> None:
    text = "ab\ncd\n"
    assert offset_to_position(text, 0) == pos(0, 0)
    assert offset_to_position(text, 2) == pos(0, 2)
    assert offset_to_position(text, 3) == pos(1, 0)
    assert offset_to_position(text, 6) == pos(2, 0)
    assert position_to_offset(text, pos(1, 1)) == 4


@pytest.mark.parametrize(("encoding", "width"), [("utf-16", 2), ("utf-8", 4), ("utf-32", 1)])
def test_astral_character_width(encoding: str, width: int) -> None:
    text = f"x{EMOJI}y\n{EMOJI}"
    y = text.index("y")
    assert offset_to_position(text, y, encoding) == pos(0, 1 + width)
    assert position_to_offset(text, pos(0, 1 + width), encoding) == y
    assert offset_to_position(text, len(text), encoding) == pos(1, width)
    assert range_for(text, 1, 2, encoding) == T.Range(start=pos(0, 1), end=pos(0, 1 + width))


def test_bmp_non_ascii_in_utf8_counts_bytes() -> None:
    text = "é€x"  # 2 + 3 UTF-8 bytes, one UTF-16 unit each.
    assert offset_to_position(text, 2, "utf-8") == pos(0, 5)
    assert offset_to_position(text, 2, "utf-16") == pos(0, 2)
    assert position_to_offset(text, pos(0, 5), "utf-8") == 2


def test_column_inside_a_character_rounds_down() -> None:
    text = f"a{EMOJI}b"
    assert position_to_offset(text, pos(0, 2), "utf-16") == 1  # Between the two surrogates.
    assert position_to_offset(text, pos(0, 3), "utf-8") == 1  # Inside the 4-byte sequence.
    assert position_to_offset(text, pos(0, 5), "utf-8") == 2


def test_crlf_and_lone_cr_are_line_breaks() -> None:
    text = "a\r\nb\rc\nd"
    assert [offset_to_position(text, text.index(ch)) for ch in "abcd"] == [
        pos(0, 0),
        pos(1, 0),
        pos(2, 0),
        pos(3, 0),
    ]
    assert position_to_offset(text, pos(2, 0)) == text.index("c")
    assert LineIndex(text).line_count == 4


@pytest.mark.parametrize("sep", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_other_splitlines_characters_are_not_line_breaks(sep: str) -> None:
    text = f"a{sep}b\nc"
    assert offset_to_position(text, text.index("b")) == pos(0, 2)
    assert position_to_offset(text, pos(1, 0)) == text.index("c")


def test_offset_inside_crlf_maps_to_end_of_line() -> None:
    text = "ab\r\ncd"
    assert splits_line_break(text, 3)
    assert not splits_line_break(text, 2) and not splits_line_break(text, 4)
    assert offset_to_position(text, 3) == pos(0, 2)


def test_end_of_text_and_clamping() -> None:
    text = "ab\ncd\r\n"
    assert offset_to_position(text, len(text)) == pos(2, 0)
    assert offset_to_position(text, 999) == pos(2, 0)
    assert offset_to_position(text, -5) == pos(0, 0)
    assert position_to_offset(text, pos(2, 0)) == len(text)
    assert position_to_offset(text, pos(9, 9)) == len(text)
    # A column past the end of the line is the end of its content, before the break.
    assert position_to_offset(text, pos(1, 99)) == text.index("\r")
    assert position_to_offset(text, pos(0, 99)) == 2
    assert offset_to_position("", 0) == pos(0, 0)
    assert position_to_offset("", pos(0, 3)) == 0


def test_units() -> None:
    assert [units(f"a{EMOJI}é", e) for e in ENCODINGS] == [4, 7, 3]
    # A carried-through undecodable byte counts like U+FFFD would in the editor.
    assert [units("\udc80", e) for e in ENCODINGS] == [1, 3, 1]
    with pytest.raises(ValueError, match="encoding"):
        offset_to_position("a", 0, "utf-7")


def _reference(text: str, offset: int, encoding: str) -> T.Position:
    """Independent slow implementation: walk the text character by character."""
    line, start, i = 0, 0, 0
    while i < offset:
        if text[i] == "\r" and i + 1 < len(text) and text[i + 1] == "\n":
            if i + 1 == offset:
                break
            i += 2
        elif text[i] in "\r\n":
            i += 1
        else:
            i += 1
            continue
        line, start = line + 1, i
    prefix = text[start:offset].rstrip("\r")
    width = {"utf-16": lambda s: len(s.encode("utf-16-le")) // 2, "utf-8": lambda s: len(s.encode())}
    return pos(line, width.get(encoding, len)(prefix))


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_offset_against_a_reference(encoding: str) -> None:
    text = f"é{EMOJI}\r\n\r\rx\x0cy\u2028{EMOJI}\n\nz€\r\n"
    index = LineIndex(text)
    for offset in range(len(text) + 1):
        position = index.position_at(offset, encoding)
        assert position == _reference(text, offset, encoding), offset
        if not splits_line_break(text, offset):
            assert index.offset_at(position, encoding) == offset

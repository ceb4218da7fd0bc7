"""The document store applies incremental changes line by line; the text must be exactly what
applying each change to the whole text gives (the reference below, written independently of
`positions.py`), for any mix of line breaks, surrogate pairs, encodings, and out-of-range ranges.

Timing is not asserted here; `python -m bench.documents` measures a keystroke in a 20 MB buffer.
"""

from __future__ import annotations

import random
import re

import pytest
from lsprotocol import types as T

from agentls.lsp import documents
from agentls.lsp.documents import DocumentTracker, TextBuffer

URI = "file:///w/a.py"
ENCODINGS = ("utf-16", "utf-8", "utf-32")


# --- the reference: the whole text, every time -----------------------------------------------------


def ref_lines(text: str) -> list[tuple[int, int]]:
    """(start, end of content) of each line; breaks are \\r\\n, \\r, \\n (LSP), nothing else."""
    spans, start = [], 0
    for m in re.finditer(r"\r\n|\r|\n", text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return spans


def ref_units(ch: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(ch.encode("utf-8", "surrogatepass"))
    if encoding == "utf-16":
        return len(ch.encode("utf-16-le", "surrogatepass")) // 2
    return 1


def ref_offset(text: str, line: int, character: int, encoding: str) -> int:
    spans = ref_lines(text)
    if line >= len(spans):
        return len(text)
    start, end = spans[line]
    used, i = 0, start
    while i < end and used + ref_units(text[i], encoding) <= character:
        used += ref_units(text[i], encoding)
        i += 1
    return i


def ref_apply(text: str, change: T.TextDocumentContentChangeEvent, encoding: str) -> str:
    if not isinstance(change, T.TextDocumentContentChangePartial):
        return change.text
    r = change.range
    start = ref_offset(text, r.start.line, r.start.character, encoding)
    end = max(start, ref_offset(text, r.end.line, r.end.character, encoding))
    return text[:start] + change.text + text[end:]


def partial(
    line: int, character: int, end_line: int, end_character: int, text: str
) -> T.TextDocumentContentChangePartial:
    return T.TextDocumentContentChangePartial(
        range=T.Range(
            start=T.Position(line=line, character=character),
            end=T.Position(line=end_line, character=end_character),
        ),
        text=text,
    )


def tracked(text: str) -> DocumentTracker:
    docs = DocumentTracker()
    docs.did_open(URI, text, 1)
    return docs


def text_of(docs: DocumentTracker) -> str:
    doc = docs.get(URI)
    assert doc is not None
    return doc.text


# --- cases -------------------------------------------------------------------------------------------

CASES = [
    ("a\rb", partial(1, 0, 1, 0, "\n"), "a\r\nb"),  # The CR and the new LF make one CRLF.
    ("a\rx\nb", partial(1, 0, 1, 1, ""), "a\r\nb"),  # So does deleting what stood between them.
    ("a\r\nb", partial(0, 1, 1, 0, ""), "ab"),
    ("ab", partial(0, 1, 0, 1, "\r"), "a\rb"),
    ("a\r", partial(1, 0, 1, 0, "\n"), "a\r\n"),
    ("abc", partial(0, 3, 0, 3, "\n"), "abc\n"),  # At the very end.
    ("abc\n", partial(1, 0, 1, 0, "d"), "abc\nd"),
    ("abc\n", partial(7, 0, 9, 9, "!"), "abc\n!"),  # Lines past the end: the end of the text.
    ("abc\ndef", partial(0, 99, 1, 1, ""), "abcef"),  # A column past the line's end: its end.
    ("abc", partial(0, 2, 0, 1, "X"), "abXc"),  # Backwards: empty, at its start.
    ("x😀y", partial(0, 1, 0, 3, ""), "xy"),  # UTF-16: the emoji is two units.
    ("x😀y", partial(0, 2, 0, 3, "-"), "x-y"),  # Inside the pair: rounds down to its start.
    ("é\x0cé\u2028é\nz", partial(1, 0, 1, 1, "Z"), "é\x0cé\u2028é\nZ"),  # Only LSP breaks count.
    ("one\ntwo\nthree", partial(0, 1, 2, 2, "X\r\nY"), "oX\r\nYree"),
    ("", partial(0, 0, 0, 0, "hello\r\n"), "hello\r\n"),
]


@pytest.mark.parametrize(("before", "change", "after"), CASES)
def test_cases(before: str, change: T.TextDocumentContentChangePartial, after: str) -> None:
    assert ref_apply(before, change, "utf-16") == after, "the reference disagrees with the case"
    docs = tracked(before)
    docs.did_change(URI, 2, [change], "utf-16")
    assert text_of(docs) == after
    # The next edit lands where the new text says: line 1 exists exactly if a line break does.
    docs.did_change(URI, 3, [partial(1, 0, 1, 0, "|")], "utf-16")
    assert text_of(docs) == ref_apply(after, partial(1, 0, 1, 0, "|"), "utf-16")


PIECES = ["a", "bc", "é", "😀", "\u2028", "\x0c", "\n", "\r\n", "\r", "\r\r\n\n", "𝄞x", "\udc80"]


def random_text(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(size))


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("seed", range(4))
def test_many_random_edits_match_the_reference(encoding: str, seed: int) -> None:
    rng = random.Random(seed)
    text = random_text(rng, 60)
    docs = tracked(text)
    for version in range(2, 600):
        lines = len(ref_lines(text))
        changes: list[T.TextDocumentContentChangeEvent] = []
        for _ in range(rng.choice([1, 1, 1, 3])):
            if rng.random() < 0.01:
                change: T.TextDocumentContentChangeEvent = T.TextDocumentContentChangeWholeDocument(
                    text=random_text(rng, 30)
                )
            else:
                line = rng.randrange(lines + 2)  # Sometimes past the end.
                end_line = line + rng.choice([0, 0, 1, 2, -1])
                change = partial(
                    line,
                    rng.randrange(12),
                    max(end_line, 0),
                    rng.randrange(12),
                    random_text(rng, rng.randrange(4)),
                )
            changes.append(change)
            text = ref_apply(text, change, encoding)
        docs.did_change(URI, version, changes, encoding)
        assert text_of(docs) == text, f"seed {seed}, version {version}"
    doc = docs.get(URI)
    assert doc is not None and doc.version == 599


def test_a_long_document_edited_many_times() -> None:
    # The reference here is a plain list of lines: every edit starts at column 0.
    lines = [f"line {i} é😀\r\n" if i % 3 else f"line {i}\n" for i in range(50_000)]
    docs = tracked("".join(lines))
    rng = random.Random(1)
    for version in range(2, 3000):
        line = rng.randrange(len(lines) - 1)
        kind = rng.randrange(3)
        if kind == 0:  # Type at the start of a line.
            new = rng.choice(["x", "😀", "\t"])
            docs.did_change(URI, version, [partial(line, 0, line, 0, new)], "utf-16")
            lines[line] = new + lines[line]
        elif kind == 1:  # Insert an empty line.
            docs.did_change(URI, version, [partial(line, 0, line, 0, "\n")], "utf-16")
            lines.insert(line, "\n")
        else:  # Delete a whole line.
            docs.did_change(URI, version, [partial(line, 0, line + 1, 0, "")], "utf-16")
            del lines[line]
    assert text_of(docs) == "".join(lines)


def test_text_buffer_length_follows_the_edits() -> None:
    buffer = TextBuffer("ab\r\ncd")
    buffer.replace(T.Position(line=0, character=1), T.Position(line=1, character=1), "XYZ\n", "utf-16")
    assert buffer.text == "aXYZ\nd"
    assert buffer.length == len(buffer.text)
    assert buffer.line_count == 2


def test_limits_on_what_a_client_can_make_the_store_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "MAX_DOCUMENTS", 3)
    monkeypatch.setattr(documents, "MAX_TOTAL_CHARS", 100)
    docs = DocumentTracker()
    for i in range(5):
        docs.did_open(f"file:///w/{i}.py", "x" * 10, 1)
    assert len(docs) == 3
    docs.did_open("file:///w/0.py", "y" * 20, 2)  # Reopening replaces: still three.
    assert len(docs) == 3 and text_of_uri(docs, "file:///w/0.py") == "y" * 20
    docs.did_close("file:///w/1.py")
    docs.did_open("file:///w/big.py", "z" * 90, 1)  # 20 + 10 + 90 > 100: not tracked.
    assert docs.get("file:///w/big.py") is None
    docs.did_change("file:///w/0.py", 3, [T.TextDocumentContentChangeWholeDocument(text="w" * 95)], "utf-16")
    assert docs.get("file:///w/0.py") is None  # Grew past the limit: dropped.
    docs.did_open("file:///w/big.py", "z" * 90, 1)  # Room again.
    assert docs.get("file:///w/big.py") is not None
    for i in range(10):
        docs.did_save(f"file:///w/saved{i}.py")
    docs.did_save("file:///w/saved9.py")
    assert docs.save_count("file:///w/saved9.py") == 2
    assert docs.save_count("file:///w/saved0.py") == 0  # Forgotten: only the last 3 uris are counted.


def text_of_uri(docs: DocumentTracker, uri: str) -> str:
    doc = docs.get(uri)
    assert doc is not None
    return doc.text

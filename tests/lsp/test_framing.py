"""`FrameDecoder`: frames out of any split of the stream, resynchronisation after garbage and cut-short
bodies, refusal of oversized bodies without holding them; and `peek_request` on fragments."""

from __future__ import annotations

import json
import random

import pytest

from agentls.lsp.framing import (
    HEAD_BYTES,
    Event,
    Frame,
    FrameDecoder,
    Oversized,
    find_header,
    peek_request,
)


def frame(message: object) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def decode(stream: bytes, *, split: int | None = None, max_body: int | None = None) -> list[Event]:
    decoder = FrameDecoder() if max_body is None else FrameDecoder(max_body)
    chunks = [stream] if split is None else [stream[i : i + split] for i in range(0, len(stream), split)]
    events: list[Event] = []
    for chunk in chunks:
        decoder.feed(chunk)
        while (event := decoder.next_event()) is not None:
            events.append(event)
    return events


def bodies(events: list[Event]) -> list[object]:
    out: list[object] = []
    for event in events:
        if isinstance(event, Frame):
            try:
                out.append(json.loads(event.body))
            except ValueError:
                out.append(("unparsable", event.body))
        else:
            out.append(("oversized", event.length))
    return out


A, B, C = {"id": 1, "text": "a\r\n"}, {"id": "two", "text": "Content-Length: 12\r\n\r\n{}"}, {"id": 3}


@pytest.mark.parametrize("split", [None, 1, 2, 7, 64])
def test_any_split_of_a_stream_gives_the_same_frames(split: int | None) -> None:
    stream = frame(A) + frame(B) + frame(C)
    assert bodies(decode(stream, split=split)) == [A, B, C]


def test_random_splits_of_a_long_stream() -> None:
    rng = random.Random(5)
    messages = [{"id": i, "text": "é😀\n" * rng.randrange(50)} for i in range(200)]
    stream = b"".join(map(frame, messages))
    decoder = FrameDecoder()
    out: list[Event] = []
    position = 0
    while position < len(stream):
        step = rng.randrange(1, 300)
        decoder.feed(stream[position : position + step])
        position += step
        while (event := decoder.next_event()) is not None:
            out.append(event)
    assert bodies(out) == messages


@pytest.mark.parametrize(
    "garbage",
    [
        b"x",
        b"\x00\x01\x02",
        b"}{",
        b"garbage\r\n",
        b"\r\n\r\n",
        b"Content-Type: nothing\r\n\r\n",
        b"z" * 20_000,
    ],
)
@pytest.mark.parametrize("split", [None, 3])
def test_garbage_before_a_header_is_skipped(garbage: bytes, split: int | None) -> None:
    # Without a line break the garbage glues onto the header line: pygls never read it again.
    assert bodies(decode(frame(A) + garbage + frame(B), split=split)) == [A, B]


@pytest.mark.parametrize(
    "header",
    [
        b"content-length: %d\r\n\r\n",
        b"CONTENT-LENGTH:%d\r\n\r\n",
        b"Content-Length: %d\n\n",
        b"Content-Length : %d \r\n\r\n",
        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: %d\r\n\r\n",
        b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc\r\n\r\n",
        b"Content-Length: 3\r\nContent-Length: %d\r\n\r\n",  # The last one wins.
        b"Content-Length: 99\r\nnot a header\r\nContent-Length: %d\r\n\r\n",
    ],
)
def test_header_spellings(header: bytes) -> None:
    body = json.dumps(A).encode()
    assert bodies(decode(header % len(body) + body + frame(C))) == [A, C]


def test_a_huge_content_length_is_refused_and_decoding_goes_on() -> None:
    events = decode(b"Content-Length: 1000000000000\r\n\r\n" + frame(A) + frame(B))
    assert isinstance(events[0], Oversized)
    assert events[0].length == 10**12 and not events[0].complete
    assert bodies(events[1:]) == [A, B]


def test_a_length_with_absurdly_many_digits_is_refused_without_converting_it() -> None:
    events = decode(b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n" + frame(A))
    assert isinstance(events[0], Oversized)
    assert bodies(events[1:]) == [A]


def test_a_refused_body_is_never_held() -> None:
    decoder = FrameDecoder()
    decoder.feed(b'Content-Length: 1000000000000\r\n\r\n{"id": 7, "method": "x", "params": "')
    junk = b"y" * 65536
    largest = 0
    for _ in range(300):  # ~20 MB of a body that is never kept.
        decoder.feed(junk)
        assert decoder.next_event() is None
        largest = max(largest, decoder.buffered)
    assert largest < 2 * len(junk)
    decoder.feed(frame(A))
    refused = decoder.next_event()
    assert isinstance(refused, Oversized) and not refused.complete
    assert len(refused.head) == HEAD_BYTES and peek_request(refused.head) == (7, True)
    assert bodies([e for e in iter(decoder.next_event, None)]) == [A]


def test_an_honest_oversized_body_is_skipped_exactly() -> None:
    big = {"id": "big", "method": "x", "params": {"text": "Content-Length: 5\r\n" * 100}}
    events = decode(frame(big) + frame(A), max_body=1000, split=100)
    assert isinstance(events[0], Oversized) and events[0].complete
    assert peek_request(events[0].head) == ("big", True)
    assert bodies(events[1:]) == [A]


def test_a_body_cut_short_ends_at_the_next_header() -> None:
    cut = b'{"id": 5, "method": "x", "par'
    stream = b"Content-Length: %d\r\n\r\n" % (len(cut) + 1000) + cut + frame(A) + frame(B)
    for split in (None, 1, 10):
        assert bodies(decode(stream, split=split)) == [("unparsable", cut), A, B]


def test_resync_decodes_again_from_a_header_inside_a_body() -> None:
    decoder = FrameDecoder()
    cut = b'{"id": 5, "method": "x"'
    whole = cut + frame(A)
    assert decoder.resync(whole) == len(cut)
    assert decoder.resync(json.dumps(B).encode()) is None  # Valid JSON never holds a header.
    assert bodies(list(iter(decoder.next_event, None))) == [A]


def test_a_header_block_that_never_ends_yields_to_the_next_header() -> None:
    assert bodies(decode(b"Content-Length: 12\r\n" + frame(A))) == [A]


def test_find_header() -> None:
    assert find_header(b'{"a": 1}') is None
    assert find_header(b"xx content-LENGTH : 12 \r\nrest") == 3
    assert find_header(b"Content-Length: 12") is None  # Not ended yet.
    assert find_header(b'"Content-Length: 12"\n') is None


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'{"jsonrpc": "2.0", "id": 4, "method": "m", "params": {"te', (4, True)),
        (b'{"params": {"id": 9, "method": "inner"}, "id": "outer", "method": "m"}', ("outer", True)),
        (b'{"method": "m", "params": {"s": "}{\\"id\\": 3"}, "id": 8', (8, True)),
        (b'{"params": {"id": 9', (None, False)),
        (b'{"id": 1, "result": null}', (1, False)),
        (b'{"id": true, "method": "m"}', (None, True)),
        (b'{"id": 1.5, "method": "m"}', (None, True)),
        (b'[{"id": 1, "method": "m"}]', (None, False)),
        (b"\xff\xfe", (None, False)),
        (b"", (None, False)),
        (b'{"id": ' + b"[" * 5000, (None, False)),
    ],
)
def test_peek_request(head: bytes, expected: tuple[object, bool]) -> None:
    assert peek_request(head) == expected

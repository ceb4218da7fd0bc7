"""The cost of one keystroke (one incremental `didChange`) in a large open document.

What is measured. A document of `--mb` megabytes (Python source-like lines of ~50 characters, a
few with non-ASCII text) is opened, then `--keys` keystrokes are applied one `didChange` at a time
at random lines, in UTF-16 columns, as an editor sends them. Three sides:

- `store`: `agentls.lsp.documents.DocumentTracker`, the server's one document store (lines kept as
  a list; only the touched lines are rebuilt);
- `whole-text`: what the store did before, for comparison: index every line of the whole text,
  then slice and concatenate the whole text (`positions.LineIndex`);
- `pygls`: pygls' own `TextDocument.apply_change`, which the server no longer runs at all (it kept
  a second copy of every document and rebuilt it on every change).

Each side applies the same keystrokes; the texts are checked equal at the end. Median and p90 per
keystroke are reported, never asserted.

`python -m bench.documents [--mb 20] [--keys 200]`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from lsprotocol import types as T
from pygls.workspace import TextDocument

from agentls.lsp.documents import DocumentTracker
from agentls.lsp.positions import LineIndex

URI = "file:///bench/big.py"


def make_text(megabytes: float, rng: random.Random) -> str:
    lines: list[str] = []
    size = 0
    while size < megabytes * 1_000_000:
        line = f"    value_{len(lines)} = compute(value_{len(lines) - 1}, 'x')  # é\n"
        if rng.random() < 0.01:
            line = f"    emoji_{len(lines)} = '😀'\n"
        lines.append(line)
        size += len(line)
    return "".join(lines)


def keystrokes(text: str, count: int, rng: random.Random) -> list[T.TextDocumentContentChangePartial]:
    lines = text.count("\n")
    out = []
    for _ in range(count):
        line = rng.randrange(lines)
        position = T.Position(line=line, character=4)
        out.append(T.TextDocumentContentChangePartial(range=T.Range(start=position, end=position), text="a"))
    return out


def run_store(text: str, keys: list[T.TextDocumentContentChangePartial]) -> tuple[list[float], str]:
    docs = DocumentTracker()
    docs.did_open(URI, text, 1)
    times = []
    for version, key in enumerate(keys, start=2):
        start = time.perf_counter()
        docs.did_change(URI, version, [key], "utf-16")
        times.append(time.perf_counter() - start)
    doc = docs.get(URI)
    assert doc is not None
    return times, doc.text


def run_whole_text(text: str, keys: list[T.TextDocumentContentChangePartial]) -> tuple[list[float], str]:
    times = []
    for key in keys:
        start = time.perf_counter()
        index = LineIndex(text)
        begin = index.offset_at(key.range.start, "utf-16")
        end = max(begin, index.offset_at(key.range.end, "utf-16"))
        text = text[:begin] + key.text + text[end:]
        times.append(time.perf_counter() - start)
    return times, text


def run_pygls(text: str, keys: list[T.TextDocumentContentChangePartial]) -> tuple[list[float], str]:
    document = TextDocument(URI, text, version=1)
    times = []
    for key in keys:
        start = time.perf_counter()
        document.apply_change(key)
        times.append(time.perf_counter() - start)
    return times, document.source


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.documents", description=__doc__)
    parser.add_argument("--mb", type=float, default=20.0, help="document size in MB (default 20)")
    parser.add_argument("--keys", type=int, default=200, help="keystrokes per side (default 200)")
    args = parser.parse_args()
    rng = random.Random(0)
    text = make_text(args.mb, rng)
    keys = keystrokes(text, args.keys, rng)
    lines = text.count("\n")
    print(f"document: {len(text) / 1e6:.1f} M characters, {lines} lines; {len(keys)} keystrokes")
    sides: dict[str, Callable[[str, list[T.TextDocumentContentChangePartial]], tuple[list[float], str]]] = {
        "store": run_store,
        "whole-text": run_whole_text,
        "pygls": run_pygls,
    }
    results: dict[str, str] = {}
    print(f"{'side':<12}{'median ms':>12}{'p90 ms':>12}")
    for name, run in sides.items():
        times, final = run(text, keys)
        results[name] = final
        p90 = statistics.quantiles(times, n=10)[-1]
        print(f"{name:<12}{statistics.median(times) * 1000:>12.3f}{p90 * 1000:>12.3f}")
    if len(set(results.values())) != 1:
        print("WARNING: the sides disagree on the final text")


if __name__ == "__main__":
    main()

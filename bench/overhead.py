"""Harness overhead per tool call: agentls against a bare SDK loop measured in the same run.

What is measured. A scenario is N sequential tool calls, one per response (Read, Edit or Grep on a
small file), then a final text reply, played over loopback by the fake Messages API of
`tests/fakeapi`. The fake runs in a child process (so its threads never take the client's GIL) and
stamps, with `time.perf_counter()` (CLOCK_MONOTONIC on Linux, comparable across processes), when
it writes response N's `message_stop` and when request N+1 arrives. The client stamps each tool
body's start and end. A round's overhead is

    arrival(N+1) - message_stop(N) - (the part of the tool's run after message_stop(N))

everything between "the model is done" and "the next request is here" that is not the tool's own
work: the stream's tail, validation, policy, the transcript and its fsyncs (a real session store in
a temp dir), events, history, building and sending the request. agentls starts a tool when its
block closes, before `message_stop`, so only the overlapping part of the tool's run is subtracted.

Why the peer is a fair floor. The peer is a hand-written loop on the same `anthropic` SDK
(`AsyncAnthropic`, `messages.create(stream=True)`) sending the same system prompt and tool schemas
(copied from an agentls request) to the same fake, for the same scenario: it accumulates blocks,
does the tool's work with plain `open()` (or `rg`), appends a `tool_result` and loops, with no
persistence, policy, validation or events. Every harness pays at least that (SDK, JSON encoding of
the growing conversation, an HTTP request), so agentls/peer is what agentls adds, and a ratio
survives a noisy shared machine better than absolute numbers. Runs alternate (agentls, peer, peer,
agentls, ...) so drift hits both sides alike. Timing is reported, never asserted.

`python -m bench.overhead [--calls N] [--reps R] [--profile]` (or `make bench`); the results also
go to `bench/results/overhead-<timestamp>.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import multiprocessing as mp
import platform
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tests.fakeapi.server import FakeMessagesAPI, _Handler

from agentls.core.anthropic_model import AnthropicModel
from agentls.core.config import AgentConfig
from agentls.core.events import EndTurn, ToolCallFinished, TurnEnded
from agentls.core.scripted import Reply, Text, ToolCall
from agentls.core.session import Session, SessionDeps
from agentls.policy.decision import ApprovalRequest, ApprovalResponse
from agentls.store.sessions import SessionStore
from agentls.tools.base import Tool, ToolContext, ToolOutput
from agentls.tools.registry import ToolRegistry, builtin_tools
from agentls.workspace.disk import DiskWorkspace

MODEL = "claude-sonnet-5-5"
PROMPT = "Work through the file, one tool call at a time."
TARGET_MS = 10.0
SCENARIOS = ("read", "edit", "grep")
SIDES = ("agentls", "peer")
RESULTS = Path(__file__).parent / "results"
Round = tuple[str, dict[str, Any]]
Span = tuple[float, float]


class _TimedHandler(_Handler):
    """The fake's handler, stamping each request's arrival and each `message_stop` written."""

    def do_POST(self) -> None:
        self.server.fake.arrivals.append(time.perf_counter())  # type: ignore[attr-defined]
        super().do_POST()

    def _write_chunk(self, data: bytes) -> None:
        super()._write_chunk(data)
        if data.startswith(b"event: message_stop"):
            self.server.fake.stops.append(time.perf_counter())  # type: ignore[attr-defined]


class _TimedFake(FakeMessagesAPI):
    def __init__(self, script: list[Reply]) -> None:
        super().__init__(script)
        self.arrivals: list[float] = []
        self.stops: list[float] = []
        self._server.RequestHandlerClass = _TimedHandler


def _serve(conn: Connection) -> None:
    """Child process: serve each script received, then send back what was stamped, until EOF."""
    with contextlib.suppress(EOFError):
        while True:
            with _TimedFake(conn.recv()) as fake:
                conn.send(fake.base_url)
                conn.recv()
                first = fake.requests[0] if fake.requests else {}
                trace = {"arrivals": fake.arrivals, "stops": fake.stops, "rejections": fake.rejections}
                trace |= {"remaining": fake.remaining, "request": first}
                conn.send(trace | {"request_bytes": [len(json.dumps(r)) for r in fake.requests]})


def _workspace(root: Path, n: int) -> Path:
    root.mkdir(parents=True)
    values = "".join(f"value_{i:03d} = {i}\n" for i in range(n + 10))
    (root / "sample.py").write_text(f'"""Sample module for the benchmark."""\n\n{values}')
    (root / "README.md").write_text("# Sample\n\nSee sample.py for value_001 and friends.\n")
    return root


def _rounds(kind: str, ws: Path, n: int) -> tuple[list[Round], int]:
    """The tool call of each response, and how many leading rounds are set-up (not measured)."""
    path = str(ws / "sample.py")
    read: Round = ("Read", {"file_path": path})
    if kind == "read":
        return [read] * n, 0
    if kind == "edit":  # Edit needs a Read first; each edit changes a different line.
        edits = [
            (
                "Edit",
                {"file_path": path, "old_string": f"_{i:03d} = {i}\n", "new_string": f"_{i:03d} = -{i}\n"},
            )
            for i in range(n)
        ]
        return [read, *edits], 1
    grep = [
        ("Grep", {"pattern": f"value_{i:03d}\\b", "path": str(ws), "output_mode": "content"})
        for i in range(n)
    ]
    return grep, 0


def _script(rounds: list[Round]) -> list[Reply]:
    return [*(Reply([ToolCall(name, args)]) for name, args in rounds), Reply([Text("Done.")])]


@dataclass
class Run:
    spans: list[Span]
    """(start, end) of each tool body, in call order."""
    wall_s: float
    tool_errors: int
    ended_ok: bool


def _timed(cls: type[Tool[Any]], spans: list[Span]) -> Tool[Any]:
    """An instance of a subclass of `cls` whose `call` records when the tool body ran."""

    async def call(self: Tool[Any], args: Any, ctx: ToolContext) -> ToolOutput:
        start = time.perf_counter()
        try:
            return await cls.call(self, args, ctx)
        finally:
            spans.append((start, time.perf_counter()))

    return type(cls.__name__, (cls,), {"call": call})()  # type: ignore[no-any-return]


class _NoApprover:
    async def approve(self, request: ApprovalRequest) -> ApprovalResponse:
        raise AssertionError("bypassPermissions never asks")


async def run_agentls(url: str, ws: Path, home: Path, requests: int) -> Run:
    spans: list[Span] = []
    model = AnthropicModel(MODEL, api_key="bench-key", base_url=url)
    deps = SessionDeps(
        config=AgentConfig(model=MODEL, permission_mode="bypassPermissions", max_turns=requests),
        model=model,
        workspace=DiskWorkspace(ws),
        approver=_NoApprover(),
        registry=ToolRegistry(_timed(type(t), spans) for t in builtin_tools()),
        store=SessionStore(home),
    )
    errors, ok = 0, False
    start = time.perf_counter()
    session = await Session.start(deps)
    async for event in session.run(PROMPT).events():
        if isinstance(event, ToolCallFinished):
            errors += event.is_error
        elif isinstance(event, TurnEnded):
            ok = isinstance(event.stop, EndTurn)
    wall = time.perf_counter() - start
    session.close()
    await model.aclose()
    return Run(spans, wall, errors, ok)


RG = str(Path(sys.executable).parent / "rg") if (Path(sys.executable).parent / "rg").exists() else "rg"


async def _peer_read(args: dict[str, Any]) -> str:
    with open(args["file_path"], encoding="utf-8") as f:
        lines = f.read().splitlines()
    return "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(lines, 1))


async def _peer_edit(args: dict[str, Any]) -> str:
    with open(args["file_path"], encoding="utf-8") as f:
        text = f.read()
    if text.count(args["old_string"]) != 1:
        raise ValueError("old_string must occur exactly once")
    with open(args["file_path"], "w", encoding="utf-8") as f:
        f.write(text.replace(args["old_string"], args["new_string"]))
    return f"The file {args['file_path']} has been updated."


async def _peer_grep(args: dict[str, Any]) -> str:
    argv = [RG, "--no-config", "-n", "--no-heading", "--with-filename", "--", args["pattern"], args["path"]]
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return out.decode() or "No matches found"


PEER_TOOLS: dict[str, Callable[[dict[str, Any]], Awaitable[str]]] = {
    "Read": _peer_read,
    "Edit": _peer_edit,
    "Grep": _peer_grep,
}


async def run_peer(url: str, system: Any, tools: Any) -> Run:
    from anthropic import AsyncAnthropic

    spans: list[Span] = []
    errors = 0
    start = time.perf_counter()
    client = AsyncAnthropic(api_key="bench-key", base_url=url, max_retries=0)
    messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
    while True:
        params: dict[str, Any] = {"system": system, "tools": tools, "messages": messages}
        stream: Any = await client.messages.create(model=MODEL, max_tokens=16_000, stream=True, **params)
        blocks: dict[int, dict[str, Any]] = {}
        partial: dict[int, str] = {}
        stop_reason: str | None = None
        async for event in stream:
            if event.type == "content_block_start":
                b = event.content_block
                if b.type == "tool_use":
                    blocks[event.index] = {"type": "tool_use", "id": b.id, "name": b.name, "input": {}}
                else:
                    blocks[event.index] = {"type": "text", "text": ""}
                partial[event.index] = ""
            elif event.type == "content_block_delta":
                d = event.delta
                if d.type == "text_delta":
                    blocks[event.index]["text"] += d.text
                elif d.type == "input_json_delta":
                    partial[event.index] += d.partial_json
            elif event.type == "content_block_stop" and blocks[event.index]["type"] == "tool_use":
                blocks[event.index]["input"] = json.loads(partial[event.index] or "{}")
            elif event.type == "message_delta":
                stop_reason = event.delta.stop_reason
        content = [blocks[i] for i in sorted(blocks)]
        messages.append({"role": "assistant", "content": content})
        if stop_reason != "tool_use":
            break
        results: list[dict[str, Any]] = []
        for block in (b for b in content if b["type"] == "tool_use"):
            began = time.perf_counter()
            try:
                output, is_error = await PEER_TOOLS[block["name"]](block["input"]), False
            except (OSError, ValueError) as exc:
                output, is_error = str(exc), True
            spans.append((began, time.perf_counter()))
            errors += is_error
            results.append(
                {"type": "tool_result", "tool_use_id": block["id"], "content": output, "is_error": is_error}
            )
        messages.append({"role": "user", "content": results})
    wall = time.perf_counter() - start
    await client.close()
    return Run(spans, wall, errors, stop_reason == "end_turn")


def overheads_ms(trace: dict[str, Any], spans: list[Span], lead: int) -> list[float]:
    """Each measured round's gap, minus the part of its tool's run that fell inside the gap."""
    arrivals, stops = trace["arrivals"], trace["stops"]
    if not len(spans) + 1 == len(stops) == len(arrivals):
        raise RuntimeError(f"misaligned: {len(spans)} tools, {len(stops)} stops, {len(arrivals)} requests")
    return [
        (arrivals[i + 1] - stops[i] - max(0.0, end - max(start, stops[i]))) * 1000
        for i, (start, end) in enumerate(spans)
        if i >= lead
    ]


class FakeProcess:
    """The stamping fake in a child process (its threads never take the measured process's GIL):
    `play` a script and get its url, then `collect` what it stamped. Shared by the benches."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()

    def play(self, script: list[Any]) -> str:
        self._conn.send(script)
        url: str = self._conn.recv()
        return url

    def collect(self) -> dict[str, Any]:
        """What the fake stamped since `play`: arrivals, stops, rejections, remaining, the first
        request, and each request's size."""
        self._conn.send("collect")
        trace: dict[str, Any] = self._conn.recv()
        return trace

    def close(self) -> None:
        self._conn.close()
        self._process.join(timeout=10)


class Bench:
    """The fake in a child process, a scratch directory, and one run of one side at a time."""

    def __init__(self) -> None:
        self.fake = FakeProcess()
        self.tmp = Path(tempfile.mkdtemp(prefix="agentls-bench-"))
        self.runs = 0
        self.peer_request: dict[str, Any] = {}
        """An agentls request: the peer sends the same system prompt and tools."""

    def close(self) -> None:
        self.fake.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, side: str, kind: str, n: int, into: dict[str, list[float]] | None = None) -> None:
        self.runs += 1
        ws = _workspace(self.tmp / f"{self.runs:03d}-{side}-{kind}", n)
        rounds, lead = _rounds(kind, ws, n)
        url = self.fake.play(_script(rounds))
        if side == "agentls":
            res = asyncio.run(run_agentls(url, ws, self.tmp / "sessions", len(rounds) + 1))
        else:
            res = asyncio.run(run_peer(url, self.peer_request["system"], self.peer_request["tools"]))
        trace = self.fake.collect()
        self.peer_request = self.peer_request or trace["request"]
        if trace["rejections"] or trace["remaining"] or res.tool_errors or not res.ended_ok:
            problems = f"{trace['rejections'][:1]}, {trace['remaining']} unplayed, {res.tool_errors} failed"
            print(f"warning: {side}/{kind}: {problems}, ended_ok={res.ended_ok}", file=sys.stderr)
        if into is not None:
            into["overhead_ms"] += overheads_ms(trace, res.spans, lead)
            into["tool_ms"] += [(end - start) * 1000 for start, end in res.spans[lead:]]
            into["e2e_s"].append(res.wall_s)
            into["request_bytes"].append(sum(trace["request_bytes"]))


def _p90(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=10)[-1] if len(xs) > 1 else xs[0]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.overhead", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=50, help="tool calls per scenario (default 50)")
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions per side (default 3)")
    parser.add_argument("--profile", action="store_true", help="then cProfile one agentls read run")
    opts = parser.parse_args()
    keys = ("overhead_ms", "tool_ms", "e2e_s", "request_bytes")
    data: dict[str, dict[str, Any]] = {k: {s: {x: [] for x in keys} for s in SIDES} for k in SCENARIOS}
    bench = Bench()
    try:
        for side in SIDES:  # Warm-up (imports, caches), not recorded; agentls first, for peer_request.
            bench.run(side, "read", 3)
        for rep in range(opts.reps):
            for kind in SCENARIOS:
                for side in SIDES if rep % 2 == 0 else SIDES[::-1]:
                    bench.run(side, kind, opts.calls, data[kind][side])
        if opts.profile:
            with cProfile.Profile() as profiler:
                bench.run("agentls", "read", opts.calls)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    finally:
        bench.close()
    _report(data, opts.calls, opts.reps)


def _report(data: dict[str, dict[str, Any]], calls: int, reps: int) -> None:
    print(f"\nharness overhead per tool call, ms ({reps} interleaved reps x {calls} calls per side)")
    print(
        f"{'scenario':<8} {'agentls med/p90':>15} {'peer med/p90':>13} {'ratio':>6} "
        f"{'tool ms a/p':>14} {'e2e s a/p':>15}  agentls median <= {TARGET_MS:g} ms"
    )
    for kind, sides in data.items():
        a, p = sides["agentls"], sides["peer"]
        for side in (a, p):
            side |= {"median_ms": statistics.median(side["overhead_ms"]), "p90_ms": _p90(side["overhead_ms"])}
            side |= {"tool_median_ms": statistics.median(side["tool_ms"])}
            side |= {"e2e_median_s": statistics.median(side["e2e_s"])}
        sides["ratio_median"] = a["median_ms"] / p["median_ms"]
        sides["meets_target"] = a["median_ms"] <= TARGET_MS
        verdict = "ok" if sides["meets_target"] else "OVER"
        print(
            f"{kind:<8} {a['median_ms']:>6.2f} / {a['p90_ms']:<6.2f} {p['median_ms']:>5.2f} / "
            f"{p['p90_ms']:<5.2f} {sides['ratio_median']:>5.2f}x {a['tool_median_ms']:>6.2f} / "
            f"{p['tool_median_ms']:<5.2f} {a['e2e_median_s']:>6.3f} / {p['e2e_median_s']:<6.3f}  {verdict}"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"overhead-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    meta = {"calls": calls, "reps": reps, "target_ms": TARGET_MS, "python": sys.version.split()[0]}
    meta |= {"platform": platform.platform(), "cpus": mp.cpu_count(), "model": MODEL}
    out.write_text(json.dumps({"meta": meta, "scenarios": data}, indent=1))
    print(f"results: {out}")


if __name__ == "__main__":
    main()

"""A 1,000-tool-call session through `agentls run`, the real SDK and the fake Messages API with
prompt caching and a 200,000-token window: does it finish, what does it cost, and does it slow down?

The session. A project of 40 files of 24 KB. A scripted model reads them one per response, cycling
over the 40, runs a Grep every 10th call and a small Bash command every 25th, for `--calls` tool
calls (default 1,000), then answers. The user's first prompt holds a unique phrase. Compaction
requests (a summary, a merge of summaries) get a summary of about 800 tokens. `agentls run` runs
as a subprocess with `--output-format stream-json`, `bypassPermissions` and a private session store.

Runs (each a fresh process and a fresh fake, so nothing is cached between them):
- `known`: the window is given (`--context-window 200000`), every tier on;
- `learned`: the window is not given (the model table says 1,000,000 for the default model), so
  the first overflow teaches it;
- `tiers-off`: the window is given, micro-compaction, snip and the summary tier are off: only the
  reactive compaction after an overflow remains. The baseline for cost.

What it prints, per run: completed tool calls, overflow 400s, compactions per tier, the share of
input tokens read from the cache, the simulated cost (the fake's usage at the default model's
prices from agentls' model table), peak RSS of the agentls process, the median harness gap per
tool call over calls 1-50 and over the last 50 (the time from the fake writing a response's
`message_stop` to the next request arriving, minus that call's tool time as agentls reported it;
Read and Grep calls only, which take about a millisecond), whether the last request still holds
the first prompt's phrase, and the run's wall time. Then the ratios the issue asks about. It
reports; it does not assert (timing on a shared machine is noise, and `tests/` has the behaviour).

`python -m bench.long_session [--calls N] [--runs known,learned,tiers-off] [--keep]`; results also go
to `bench/results/long_session-<timestamp>.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.fakeapi.server import FakeMessagesAPI, _Handler

from agentls.core.anthropic_model import DEFAULT_MODEL
from agentls.core.context.catalog import family_prices, model_info
from agentls.core.context.summary import MERGE_INSTRUCTIONS, SUMMARY_INSTRUCTIONS
from agentls.core.model import TokenUsage
from agentls.core.scripted import Reply, Text, ToolCall

WINDOW = 200_000
OTHER_PRICES = "sonnet-4"
FILES = 40
FILE_BYTES = 24 * 1024
PHRASE = "ultramarine-pelican-7731"
RESULTS = Path(__file__).parent / "results"
TIERS_OFF = {"context": {"microCompact": False, "snip": False, "autoCompact": False}}
SUMMARY_MARK = SUMMARY_INSTRUCTIONS.splitlines()[0]
MERGE_MARK = MERGE_INSTRUCTIONS[:60]


class _TimedHandler(_Handler):
    """Stamps each request's arrival and, when it is answered with a stream, its `message_stop`
    (the bench's clock); requests are numbered as the fake records them."""

    def do_POST(self) -> None:
        fake: TimedFake = self.server.fake  # type: ignore[attr-defined]
        with fake.stamp_lock:
            self.index = len(fake.arrivals)
            fake.arrivals.append(time.perf_counter())
        super().do_POST()

    def _write_chunk(self, data: bytes) -> None:
        super()._write_chunk(data)
        if data.startswith(b"event: message_stop"):
            self.server.fake.stops[self.index] = time.perf_counter()  # type: ignore[attr-defined]


class TimedFake(FakeMessagesAPI):
    def __init__(self, script: Any, **kwargs: Any) -> None:
        super().__init__(script, **kwargs)
        self.arrivals: list[float] = []
        self.stops: dict[int, float] = {}
        self.stamp_lock = threading.Lock()
        self._server.RequestHandlerClass = _TimedHandler


def _text(body: dict[str, Any], index: int) -> str:
    content = body["messages"][index]["content"]
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content if isinstance(b, dict))


@dataclass
class ScriptedSession:
    """The model's side: one tool call per response, then an answer; summaries on request."""

    project: Path
    calls: int
    issued: int = 0
    summaries: int = 0

    def __call__(self, body: dict[str, Any]) -> Reply:
        if SUMMARY_MARK in _text(body, -1) or _text(body, 0).startswith(MERGE_MARK):
            self.summaries += 1
            lines = [f"Summary {self.summaries}. Goal: read the project's files in turn as asked."]
            lines += [f"- f{n:02d}.py holds value_{n:02d}_* constants; nothing to change." for n in range(40)]
            lines += ["Next: keep reading the files in order, grep now and then, then answer."] * 20
            return Reply([Text("<summary>\n" + "\n".join(lines) + "\n</summary>")])
        if self.issued >= self.calls:
            return Reply([Text(f"Done: {self.calls} tool calls. The phrase was {PHRASE}.")])
        n = self.issued
        self.issued += 1
        if n % 25 == 24:
            call = ToolCall("Bash", {"command": f"wc -l f{n % FILES:02d}.py", "description": "count lines"})
        elif n % 10 == 9:
            call = ToolCall("Grep", {"pattern": f"value_{n % FILES:02d}_1[0-9]\\b", "output_mode": "content"})
        else:
            call = ToolCall("Read", {"file_path": str(self.project / f"f{n % FILES:02d}.py")})
        return Reply([call])


def make_project(root: Path) -> Path:
    root.mkdir(parents=True)
    for n in range(FILES):
        lines, size = [], 0
        i = 0
        while size < FILE_BYTES:
            line = f"value_{n:02d}_{i} = {i * 7919 % 10007}  # constant number {i} of module {n}\n"
            lines.append(line)
            size += len(line)
            i += 1
        (root / f"f{n:02d}.py").write_text("".join(lines))
    return root


@dataclass
class RunResult:
    name: str
    exit_code: int
    wall_s: float
    calls: int
    overflows: int
    compactions: dict[str, int]
    usage: TokenUsage
    cost_usd: float
    peak_rss_mb: float
    early_gap_ms: float | None
    late_gap_ms: float | None
    phrase_in_last_request: bool
    requests: int
    stop: str
    stderr_tail: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def cache_share(self) -> float:
        return self.usage.cache_share


def _peak_rss(pid: int, stop: threading.Event, out: list[int]) -> None:
    """Poll the process's high-water mark (VmHWM) until it exits."""
    path = Path(f"/proc/{pid}/status")
    while not stop.is_set():
        try:
            for line in path.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out.append(int(line.split()[1]))
        except OSError:
            return
        stop.wait(0.2)


def run_once(name: str, calls: int, scratch: Path) -> RunResult:
    project = make_project(scratch / name / "project")
    home = scratch / name / "home"
    script = ScriptedSession(project, calls)
    args = ["run", "--output-format", "stream-json", "--permission-mode", "bypassPermissions"]
    args += ["--max-turns", str(calls * 2 + 100)]
    if name != "learned":
        args += ["--context-window", str(WINDOW)]
    if name == "tiers-off":
        args += ["--settings", json.dumps(TIERS_OFF)]
    args.append(f"Read the files one per turn, over and over, as I will tell you. Remember {PHRASE}.")
    env = dict(os.environ)
    env.pop("ANTHROPIC_AUTH_TOKEN", None)
    with TimedFake([script] * (calls * 3 + 200), context_window=WINDOW) as fake:
        env |= {
            "ANTHROPIC_API_KEY": "bench-key",
            "ANTHROPIC_BASE_URL": fake.base_url,
            "AGENTLS_HOME": str(home),
        }
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        start = time.perf_counter()
        with (
            open(scratch / name / "stdout.jsonl", "w") as out,
            open(scratch / name / "stderr.txt", "w") as err,
        ):
            proc = subprocess.Popen(
                [sys.executable, "-m", "agentls", *args], cwd=project, env=env, stdout=out, stderr=err
            )
            rss: list[int] = []
            done = threading.Event()
            poller = threading.Thread(target=_peak_rss, args=(proc.pid, done, rss), daemon=True)
            poller.start()
            code = proc.wait()
            done.set()
            poller.join()
        wall = time.perf_counter() - start
        bodies = list(fake.requests)
        rejections = list(fake.rejections)
        usages = list(getattr(fake, "usages", []))
        arrivals, stops = list(fake.arrivals), dict(fake.stops)
    events = [json.loads(line) for line in (scratch / name / "stdout.jsonl").read_text().splitlines() if line]
    return _summarise(name, code, wall, events, bodies, rejections, usages, arrivals, stops, rss, scratch)


def _summarise(
    name: str,
    code: int,
    wall: float,
    events: list[dict[str, Any]],
    bodies: list[Any],
    rejections: list[str],
    usages: list[dict[str, Any]],
    arrivals: list[float],
    stops: dict[int, float],
    rss: list[int],
    scratch: Path,
) -> RunResult:
    finished = [e for e in events if e["kind"] == "tool_call_finished"]
    compactions: dict[str, int] = {}
    for e in events:
        if e["kind"] == "compaction":
            compactions[e["tier"]] = compactions.get(e["tier"], 0) + 1
    usage = TokenUsage()
    for u in usages:
        usage = usage + TokenUsage(
            input_tokens=u.get("input_tokens", 0),
            output_tokens=u.get("output_tokens", 0),
            cache_read_input_tokens=u.get("cache_read_input_tokens", 0),
            cache_creation_input_tokens=u.get("cache_creation_input_tokens", 0),
        )
    prices = model_info(DEFAULT_MODEL).prices
    assert prices is not None
    end = next((e for e in reversed(events) if e["kind"] == "turn_ended"), {})
    last_body = json.dumps(bodies[-1]) if bodies else ""
    early, late = _gaps(events, bodies, arrivals, stops)
    stderr = (scratch / name / "stderr.txt").read_text(errors="replace")
    return RunResult(
        name=name,
        exit_code=code,
        wall_s=wall,
        calls=len(finished),
        overflows=sum(1 for r in rejections if "prompt is too long" in r),
        compactions=compactions,
        usage=usage,
        cost_usd=prices.cost(usage),
        peak_rss_mb=max(rss, default=0) / 1024,
        early_gap_ms=early,
        late_gap_ms=late,
        phrase_in_last_request=PHRASE in last_body,
        requests=len(bodies),
        stop=str(end.get("stop", {}).get("kind", "?")),
        stderr_tail="\n".join(stderr.splitlines()[-5:]),
    )


def _gaps(
    events: list[dict[str, Any]], bodies: list[Any], arrivals: list[float], stops: dict[int, float]
) -> tuple[float | None, float | None]:
    """Median gaps over the first and the last 50 fast tool calls.

    A gap runs from response i's `message_stop` to request i+1's arrival, when request i+1 was
    answered too (not an overflow) and carries exactly the result of one Read or Grep call (not a
    compaction request); that call's own run time, as agentls reported it, is subtracted.
    """
    durations = {
        e["call_id"]: (e["name"], e["duration_ms"]) for e in events if e["kind"] == "tool_call_finished"
    }
    gaps: list[float] = []
    for i in sorted(stops):
        if i + 1 not in stops:
            continue
        call = _answered_call(bodies[i + 1])
        if call is None or call not in durations or durations[call][0] not in ("Read", "Grep"):
            continue
        gaps.append((arrivals[i + 1] - stops[i]) * 1000 - durations[call][1])
    if len(gaps) < 10:
        return None, None
    window = min(50, len(gaps) // 2)
    return statistics.median(gaps[:window]), statistics.median(gaps[-window:])


def _answered_call(body: Any) -> str | None:
    """The tool_use id whose result is the whole last user message of `body`, if exactly one."""
    if not isinstance(body, dict) or not body.get("messages"):
        return None
    last = body["messages"][-1]
    content = last.get("content") if isinstance(last, dict) else None
    if not isinstance(content, list):
        return None
    results = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
    return results[0].get("tool_use_id") if len(results) == 1 and len(content) == 1 else None


def report(results: list[RunResult], calls: int) -> dict[str, Any]:
    print(f"\nlong session: {calls} tool calls, {FILES} files of {FILE_BYTES // 1024} KB, window {WINDOW:,}")
    columns = ("run", "exit", "calls", "400s", "compactions", "cache", "cost $", "RSS MB", "gap 1-50")
    widths = (10, 4, 6, 5, 34, 6, 8, 7, 9)
    print(" ".join(f"{c:<{w}}" for c, w in zip(columns, widths, strict=True)), "gap last  phrase  wall s")
    for r in results:
        tiers = ", ".join(f"{k} {v}" for k, v in sorted(r.compactions.items())) or "-"
        early = f"{r.early_gap_ms:.2f}" if r.early_gap_ms is not None else "-"
        late = f"{r.late_gap_ms:.2f}" if r.late_gap_ms is not None else "-"
        cells = (
            r.name,
            r.exit_code,
            r.calls,
            r.overflows,
            tiers,
            f"{r.cache_share:.1%}",
            f"{r.cost_usd:.2f}",
        )
        cells += (f"{r.peak_rss_mb:.1f}", early)
        row = " ".join(f"{c!s:<{w}}" for c, w in zip(cells, widths, strict=True))
        print(row, f"{late:<9} {r.phrase_in_last_request!s:<7} {r.wall_s:.1f}")
    by_name = {r.name: r for r in results}
    verdicts: dict[str, Any] = {}
    if "known" in by_name:
        k = by_name["known"]
        verdicts["all calls (known)"] = k.calls == calls
        verdicts["0 overflows (known)"] = k.overflows == 0
        verdicts["cache share >= 90% (known)"] = k.cache_share >= 0.9
        verdicts["RSS <= 150 MB (known)"] = k.peak_rss_mb <= 150
        if k.early_gap_ms and k.late_gap_ms:
            verdicts["late gap <= 2x early (known)"] = k.late_gap_ms <= 2 * k.early_gap_ms
            print(f"late/early gap ratio (known): {k.late_gap_ms / k.early_gap_ms:.2f}x")
        verdicts["phrase in last request (known)"] = k.phrase_in_last_request
        if "tiers-off" in by_name:
            off = by_name["tiers-off"]
            ratio = k.cost_usd / off.cost_usd if off.cost_usd else float("nan")
            verdicts["cost <= 1/2 of tiers-off"] = ratio <= 0.5
            print(f"cost known / tiers-off: {ratio:.2f} at {DEFAULT_MODEL} prices")
            # The same tokens at the older Sonnet prices, whose cache reads cost 0.1x input (0.05x
            # for the default model): how much the tiers save depends on that ratio.
            older = family_prices(OTHER_PRICES)
            other = older.cost(k.usage) / older.cost(off.usage)
            print(
                f"cost known / tiers-off: {other:.2f} at {OTHER_PRICES} prices "
                f"(${older.cost(k.usage):.2f} / ${older.cost(off.usage):.2f})"
            )
    if "learned" in by_name:
        verdicts["<= 1 overflow (learned)"] = by_name["learned"].overflows <= 1
        verdicts["all calls (learned)"] = by_name["learned"].calls == calls
    for name, ok in verdicts.items():
        print(f"  {'met ' if ok else 'MISS'} {name}")
    for r in results:
        if r.exit_code != 0:
            print(f"{r.name}: exit {r.exit_code}, stop {r.stop}\n{r.stderr_tail}")
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.long_session", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--runs", default="known,learned,tiers-off")
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch directory (transcripts, output)"
    )
    opts = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="agentls-long-"))
    results: list[RunResult] = []
    try:
        for name in opts.runs.split(","):
            print(f"running {name} …", file=sys.stderr, flush=True)
            results.append(run_once(name.strip(), opts.calls, scratch))
    finally:
        if opts.keep:
            print(f"scratch kept: {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    verdicts = report(results, opts.calls)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"long_session-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    meta = {
        "calls": opts.calls,
        "window": WINDOW,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    rows = [{**r.__dict__, "usage": r.usage.model_dump(), "cache_share": r.cache_share} for r in results]
    out.write_text(json.dumps({"meta": meta, "runs": rows, "verdicts": verdicts}, indent=1))
    print(f"results: {out}")


if __name__ == "__main__":
    main()

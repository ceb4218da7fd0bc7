"""Cold start and exit of `agentls run`, against a bare SDK script measured in the same run.

The scenario is a one-turn "hello" session: `agentls run "Say hello."`, each run in a fresh project
(a new session), as after an installation's first run: one AGENTLS_HOME for all runs (the tool
schema cache warm, as the warm-up run leaves it), and compiled bytecode cached (in a private
`PYTHONPYCACHEPREFIX` that the warm-up fills, even if the environment sets
`PYTHONDONTWRITEBYTECODE`), for both sides,
against the fake Messages API of `tests/fakeapi` in a child process. The fake stamps, with
`time.perf_counter()` (CLOCK_MONOTONIC on Linux, comparable across processes), when each request
arrives and when it writes `message_stop`.

The floor is a bare `anthropic` SDK script, the least any harness built on the SDK can spend: it
imports the SDK, makes a client, sends the very request agentls sent (same system prompt, tools and
messages: captured from a warm-up run), prints the streamed text and exits normally.

Per run, for each side: spawn to first request (from just before `Popen` to the fake's arrival
stamp), last event to exit (from `message_stop` to `wait4` returning), CPU of the process (user +
system, from `wait4`'s rusage) and wall time. Sides alternate (agentls, floor, floor, agentls, ...)
so drift hits both alike; medians of `--runs` (10) each. The targets of issue 15: first request
within 1.1x the floor's, exit within 0.05 s of the last event, CPU within 1.2x the floor's.

    .venv/bin/python -m bench.cold_start              # 10 runs a side
    .venv/bin/python -m bench.cold_start --runs 20 --importtime   # and where agentls' imports go

Results also go to `bench/results/cold_start-<timestamp>.json`. Timing is reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.e2e.helpers import cli_env

from agentls.core.scripted import Reply, Text
from bench.overhead import FakeProcess

PROMPT = "Say hello."
REPLY = "Hello! How can I help you today?"
RESULTS = Path(__file__).parent / "results"
TARGETS = {"first_request": 1.1, "exit_after_last_event_s": 0.05, "cpu": 1.2}

FLOOR_SCRIPT = """\
import json, sys
import anthropic

body = json.load(open(sys.argv[1]))
client = anthropic.Anthropic()
for event in client.messages.create(**body):
    if event.type == "content_block_delta" and event.delta.type == "text_delta":
        print(event.delta.text, end="", flush=True)
print()
"""


@dataclass
class Sample:
    first_request_s: float
    exit_after_last_event_s: float
    cpu_s: float
    wall_s: float
    ok: bool


class Bench:
    def __init__(self) -> None:
        self.fake = FakeProcess()
        self.tmp = Path(tempfile.mkdtemp(prefix="agentls-cold-"))
        self.floor = self.tmp / "floor.py"
        self.floor.write_text(FLOOR_SCRIPT)
        self.request = self.tmp / "request.json"
        self.runs = 0

    def close(self) -> None:
        self.fake.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, side: str, extra_env: dict[str, str] | None = None) -> tuple[Sample, dict[str, Any]]:
        self.runs += 1
        project = self.tmp / f"{self.runs:03d}-{side}"
        project.mkdir()
        url = self.fake.play([Reply([Text(REPLY)])])
        env = cli_env(self.tmp / "home", url) | (extra_env or {})
        # As installed: compiled bytecode is cached (the warm-up run writes it), whatever this
        # shell says about writing it; a private prefix keeps it out of the repository.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(self.tmp / "pycache")
        if side == "agentls":
            command = [sys.executable, "-m", "agentls", "run", PROMPT]
        else:
            command = [sys.executable, str(self.floor), str(self.request)]
        out = (self.tmp / f"{self.runs:03d}-{side}.out").open("wb")
        err = (self.tmp / f"{self.runs:03d}-{side}.err").open("wb")
        start = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=project, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(process.pid, 0)
        ended = time.perf_counter()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.close()
        err.close()
        trace = self.fake.collect()
        ok = process.returncode == 0 and len(trace["arrivals"]) == 1 and not trace["rejections"]
        if not ok:
            errors = (self.tmp / f"{self.runs:03d}-{side}.err").read_text()[-2000:]
            print(
                f"warning: {side} run {self.runs}: rc={process.returncode}, {trace}\n{errors}",
                file=sys.stderr,
            )
        arrivals, stops = trace["arrivals"] or [ended], trace["stops"] or [ended]
        sample = Sample(
            first_request_s=arrivals[0] - start,
            exit_after_last_event_s=ended - stops[-1],
            cpu_s=usage.ru_utime + usage.ru_stime,
            wall_s=ended - start,
            ok=ok,
        )
        return sample, trace

    def capture_request(self) -> None:
        """One agentls run whose request the floor then sends (without the fields the SDK adds)."""
        _, trace = self.run("agentls")
        body = dict(trace["request"])
        if not body:
            raise SystemExit("the warm-up run of agentls sent no request; see the warning above")
        self.request.write_text(json.dumps(body))


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def importtime() -> list[tuple[float, str]]:
    """The 15 slowest cumulative imports of `agentls run`'s module graph (`-X importtime`)."""
    code = "import agentls.cli.main, agentls.cli.run"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, _, rest = line.partition(":")
        _self_us, cumulative_us, name = (part.strip() for part in rest.split("|"))
        rows.append((int(cumulative_us) / 1e6, name))
    return sorted(rows, reverse=True)[:15]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each side (default 10)")
    parser.add_argument("--importtime", action="store_true", help="also list agentls' slowest imports")
    args = parser.parse_args()
    bench = Bench()
    samples: dict[str, list[Sample]] = {"agentls": [], "floor": []}
    try:
        bench.capture_request()  # Also fills the bytecode cache.
        bench.run("floor")  # Warm the page cache (and the bytecode cache) for the floor too.
        order = ["agentls", "floor", "floor", "agentls"]
        for i in range(args.runs * 2):
            side = order[i % 4]
            samples[side].append(bench.run(side)[0])
    finally:
        bench.close()
    _report(samples, args.runs)
    if args.importtime:
        print("\nslowest imports of `agentls run` (cumulative):")
        for seconds, name in importtime():
            print(f"  {seconds * 1000:7.1f} ms  {name}")


def _report(samples: dict[str, list[Sample]], runs: int) -> None:
    medians = {
        side: {
            k: _median([getattr(s, k) for s in xs])
            for k in ("first_request_s", "exit_after_last_event_s", "cpu_s", "wall_s")
        }
        for side, xs in samples.items()
    }
    a, f = medians["agentls"], medians["floor"]
    print(f"cold start of `agentls run` (one-turn hello), medians of {runs} runs a side\n")
    print(f"{'':28}{'agentls':>10}{'floor':>10}{'ratio':>8}  target")
    rows = [
        ("spawn to first request (s)", "first_request_s", f"<= {TARGETS['first_request']}x"),
        ("last event to exit (s)", "exit_after_last_event_s", f"<= {TARGETS['exit_after_last_event_s']} s"),
        ("CPU user+sys (s)", "cpu_s", f"<= {TARGETS['cpu']}x"),
        ("wall (s)", "wall_s", ""),
    ]
    for label, key, target in rows:
        print(f"{label:28}{a[key]:10.3f}{f[key]:10.3f}{a[key] / f[key]:8.2f}  {target}")
    met = {
        "first_request": a["first_request_s"] / f["first_request_s"] <= TARGETS["first_request"],
        "exit_after_last_event_s": a["exit_after_last_event_s"] <= TARGETS["exit_after_last_event_s"],
        "cpu": a["cpu_s"] / f["cpu_s"] <= TARGETS["cpu"],
    }
    print("\n" + ", ".join(f"{k}: {'met' if v else 'MISS'}" for k, v in met.items()))
    failed = sum(not s.ok for xs in samples.values() for s in xs)
    if failed:
        print(f"warning: {failed} runs did not end cleanly (see above)")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    data = {
        "medians": medians,
        "met": met,
        "samples": {side: [asdict(s) for s in xs] for side, xs in samples.items()},
        "meta": {"platform": platform.platform(), "cpus": mp.cpu_count(), "python": sys.version.split()[0]},
    }
    path = RESULTS / f"cold_start-{stamp}.json"
    path.write_text(json.dumps(data, indent=2))
    print(f"results: {path}")


if __name__ == "__main__":
    main()

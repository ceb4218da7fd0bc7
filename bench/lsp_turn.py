"""The language server once started: how soon a prompt's request leaves, and what the SDK warm-up
costs other requests.

Set-up. `python -m agentls` on stdio (the fast start on, bytecode cached as after a first run),
against the fake Messages API of `tests/fakeapi` in a child process that stamps each request's
arrival with `time.perf_counter()` (CLOCK_MONOTONIC on Linux, comparable across processes). The
client is a plain JSON-RPC pipe (`tests/lsp/wire.py`) announcing the `agentls` experimental
capability, so the server streams `agentls/sessionUpdate`s as to the VS Code panel.

1. Requests during the SDK warm-up. After `initialized` the server imports the `anthropic` SDK on a
   thread (about a second of CPU). Meanwhile, and again once it is done, the client sends a
   `textDocument/codeAction` on an open document every 20 ms and times each answer. `during` against
   `after` is what the warm-up costs an editor's other requests. The first answer is reported apart:
   it also waits for the server itself to finish loading, since `fast_start` answered `initialize`
   before pygls was imported.
2. Prompt to request. With the server warm, `agentls/newSession`, then `--prompts` prompts in that
   session, one after the other: the time from writing `agentls/prompt` to the fake's arrival stamp
   of the request it causes. The first prompt of a session is reported apart (the session's first
   checkpoint and system prompt are built then). Design target (issue 15): within 20 ms.

    .venv/bin/python -m bench.lsp_turn                 # 10 prompts, 40 requests each phase
    .venv/bin/python -m bench.lsp_turn --prompts 20 --requests 80

Results also go to `bench/results/lsp_turn-<timestamp>.json`. Timing is reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.e2e.helpers import cli_env
from tests.lsp.wire import Server, initialize, notification, request

from agentls.core.scripted import Reply, Text
from bench.overhead import FakeProcess

RESULTS = Path(__file__).parent / "results"
TARGET_MS = 20.0
PACE_S = 0.02
CAPABILITIES: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-16"]},
    "experimental": {"agentls": {"version": 1, "sessionUpdate": True, "requestPermission": True}},
}
DOC = "file:///bench/app.py"


def _p90(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=10)[-1] if len(xs) > 1 else xs[0]


class Run:
    def __init__(self, tmp: Path, url: str) -> None:
        project = tmp / "project"
        project.mkdir(parents=True)
        (project / "app.py").write_text("def f():\n    return 1\n")
        env = cli_env(tmp / "home", url)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp.parent / "pycache")
        self.server = Server(project, env)
        self.project = project
        self.next_id = 100

    def call(self, method: str, params: Any) -> tuple[dict[str, Any], float]:
        self.next_id += 1
        start = time.perf_counter()
        self.server.send(request(self.next_id, method, params))
        answer = self.server.response(self.next_id)
        return answer, time.perf_counter() - start

    def start(self) -> float:
        """initialize + initialized; returns the moment `initialized` was written."""
        root = self.project.as_uri()
        self.server.send(initialize(CAPABILITIES, rootUri=root))
        self.server.response(1)
        self.server.send(notification("initialized", {}))
        sent = time.perf_counter()
        item = {"uri": DOC, "languageId": "python", "version": 1, "text": "def f():\n    return 1\n"}
        self.server.send(notification("textDocument/didOpen", {"textDocument": item}))
        return sent

    def code_actions(self, n: int) -> list[float]:
        params = {
            "textDocument": {"uri": DOC},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}},
            "context": {"diagnostics": []},
        }
        out = []
        for _ in range(n):
            answer, took = self.call("textDocument/codeAction", params)
            assert "result" in answer, answer
            out.append(took * 1000)
            time.sleep(PACE_S)
        return out

    def prompt(self, session_id: str) -> float:
        """Writes the prompt; returns the moment it was written (the turn is awaited)."""
        params = {"sessionId": session_id, "prompt": [{"type": "text", "text": "Say hello."}]}
        self.next_id += 1
        start = time.perf_counter()
        self.server.send(request(self.next_id, "agentls/prompt", params))
        answer = self.server.response(self.next_id)
        assert answer.get("result", {}).get("stopReason") == "end_turn", answer
        return start

    def stop(self) -> None:
        self.server.send(request(2, "shutdown"), notification("exit"))
        self.server.finish()
        self.server.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lsp_turn", description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=10)
    parser.add_argument("--requests", type=int, default=40, help="codeAction requests in each phase")
    args = parser.parse_args()
    fake = FakeProcess()
    tmp = Path(tempfile.mkdtemp(prefix="agentls-lsp-turn-"))
    try:
        # A warm-up server fills the bytecode cache, as a first run after installing does.
        warm = Run(tmp / "warm-up", fake.play([Reply([Text("Hello.")])]))
        warm.start()
        warm.call("agentls/listSessions", {})
        warm.stop()
        fake.collect()

        run = Run(tmp / "measured", fake.play([Reply([Text("Hello.")]) for _ in range(args.prompts)]))
        initialized = run.start()
        # The first answer also waits for the server to finish loading (`fast_start` answered
        # `initialize` before pygls was imported): reported apart.
        loading = run.code_actions(1)[0]
        during = run.code_actions(args.requests)
        during_span = time.perf_counter() - initialized
        time.sleep(3.0)  # The SDK warm-up is over by now (it takes about a second).
        after = run.code_actions(args.requests)
        session = run.call("agentls/newSession", {"cwd": str(run.project)})[0]["result"]["sessionId"]
        written = [run.prompt(session) for _ in range(args.prompts)]
        run.stop()
        trace = fake.collect()
    finally:
        fake.close()
        shutil.rmtree(tmp, ignore_errors=True)
    arrivals = trace["arrivals"]
    if len(arrivals) != len(written):
        sys.exit(f"expected {len(written)} requests at the fake, got {len(arrivals)}: {trace['rejections']}")
    to_request = [(a - w) * 1000 for a, w in zip(arrivals, written, strict=True)]
    _report(loading, during, during_span, after, to_request)


def _report(
    loading: float, during: list[float], during_span: float, after: list[float], to_request: list[float]
) -> None:
    print(f"first codeAction after initialized: {loading:.1f} ms (the server was still loading)\n")
    print("codeAction round trip (ms)        median     p90")
    print(
        f"  during the SDK warm-up         {statistics.median(during):7.2f} {_p90(during):7.2f}"
        f"   (the first {during_span:.1f} s after initialized)"
    )
    print(f"  after it                       {statistics.median(after):7.2f} {_p90(after):7.2f}")
    print(f"  ratio of medians               {statistics.median(during) / statistics.median(after):7.2f}\n")
    first, rest = to_request[0], to_request[1:]
    print("agentls/prompt written to its request at the API (ms)")
    print(f"  first prompt of a new session  {first:7.2f}")
    if rest:
        median, p90 = statistics.median(rest), _p90(rest)
        print(f"  later prompts: median {median:.2f}, p90 {p90:.2f}, max {max(rest):.2f}")
    met = max(to_request) <= TARGET_MS
    print(f"\ntarget {TARGET_MS:.0f} ms: {'met' if met else 'MISS'} (max {max(to_request):.2f} ms)")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"lsp_turn-{stamp}.json"
    data = {
        "first_ms": loading,
        "during_ms": during,
        "after_ms": after,
        "prompt_to_request_ms": to_request,
        "meta": {"platform": platform.platform(), "cpus": mp.cpu_count(), "python": sys.version.split()[0]},
    }
    path.write_text(json.dumps(data, indent=2))
    print(f"results: {path}")


if __name__ == "__main__":
    main()

"""Spawn-to-`initialize` latency of `agentls` on stdio: the fast start against the plain pygls path.

What is measured. The time from just before `subprocess.Popen([python, -m, agentls])` to the moment
the whole `initialize` response has been read from the server's stdout; the request is written
right after the spawn, as editors do. Each run then sends `initialized`, `shutdown` and `exit` and
waits for the process, outside the timed span. The design target is 300 ms.

Sides. `fast` is the default (`agentls.lsp.fast_start` answers before pygls and lsprotocol are
imported); `plain` sets `AGENTLS_NO_FAST_START=1` (pygls answers after importing everything).
Runs alternate (fast, plain, plain, fast, ...) after one unrecorded warm-up of each, so drift on a
shared machine hits both alike; read the ratio first. `cli` is not a spawn-to-answer time but the
part of it both sides pay before `serve()` even runs: importing `agentls.cli.main`, timed inside a
child interpreter.

Bytecode. If the environment sets `PYTHONDONTWRITEBYTECODE`, every spawn compiles agentls (and any
package installed without .pyc files) from source, as here. `--cached-bytecode` gives the children
a private `PYTHONPYCACHEPREFIX` in a temporary directory instead (the warm-up fills it), which is
closer to a normal pip install; nothing is written into the repository or the venv.

`python -m bench.initialize [--runs N] [--cached-bytecode]`. Timing is reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIDES = ("fast", "plain")
CAPABILITIES: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-8", "utf-16"]},
    "textDocument": {"synchronization": {"willSave": True, "willSaveWaitUntil": True, "didSave": True}},
    "window": {"workDoneProgress": True},
}


def _frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _read(stream: Any) -> dict[str, Any]:
    length = None
    while (line := stream.readline()) != b"\r\n":
        if not line:
            raise RuntimeError("the server closed its stdout before answering")
        if line.startswith(b"Content-Length: "):
            length = int(line.split(b":")[1])
    assert length is not None
    return json.loads(stream.read(length))  # type: ignore[no-any-return]


def _env(side: str, home: str, pycache: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AGENTLS_NO_FAST_START"}
    env["AGENTLS_HOME"] = home
    if pycache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    if side == "plain":
        env["AGENTLS_NO_FAST_START"] = "1"
    return env


def run_once(side: str, home: str, pycache: str | None) -> float:
    """Milliseconds from spawn to the complete `initialize` response."""
    request = {"jsonrpc": "2.0", "id": 1, "method": "initialize"}
    request["params"] = {"processId": os.getpid(), "rootUri": None, "capabilities": CAPABILITIES}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentls"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_env(side, home, pycache),
        cwd=home,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(_frame(request))
    proc.stdin.flush()
    while (message := _read(proc.stdout)).get("id") != 1 or "method" in message:
        pass
    elapsed = (time.perf_counter() - start) * 1000
    if "result" not in message:
        raise RuntimeError(f"initialize failed: {message}")
    proc.stdin.write(
        _frame({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        + _frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
        + _frame({"jsonrpc": "2.0", "method": "exit"})
    )
    proc.stdin.close()
    proc.stdout.read()
    proc.stdout.close()
    if proc.wait(timeout=60) != 0:
        raise RuntimeError(f"{side}: the server exited with {proc.returncode}")
    return elapsed


def cli_import_once(home: str, pycache: str | None) -> float:
    """Milliseconds the child spends importing `agentls.cli.main`, timed inside the child."""
    code = "import time; t = time.perf_counter(); import agentls.cli.main; print(time.perf_counter() - t)"
    child = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=_env("fast", home, pycache),
    )
    return float(child.stdout) * 1000


def _bytecode_mode() -> str:
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return "not cached (PYTHONDONTWRITEBYTECODE is set: each spawn compiles from source)"
    return "as the environment has it"


def _p90(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10, method="inclusive")[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.initialize", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per side (default 10)")
    parser.add_argument(
        "--cached-bytecode", action="store_true", help="let the children cache bytecode in a temporary dir"
    )
    args = parser.parse_args(argv)
    if args.runs < 2:
        parser.error("--runs must be at least 2")

    samples: dict[str, list[float]] = {side: [] for side in (*SIDES, "cli")}
    with tempfile.TemporaryDirectory(prefix="agentls-bench-") as home:
        pycache = str(Path(home) / "pycache") if args.cached_bytecode else None
        for side in SIDES:  # Warm-up: the disk cache (and the bytecode cache, if any).
            run_once(side, home, pycache)
        for i in range(args.runs):
            order = SIDES if i % 2 == 0 else SIDES[::-1]
            for side in order:
                samples[side].append(run_once(side, home, pycache))
            samples["cli"].append(cli_import_once(home, pycache))

    bytecode = "cached in a temp dir" if args.cached_bytecode else _bytecode_mode()
    print(f"spawn → initialize response, {args.runs} runs per side")
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, bytecode: {bytecode}")
    print(f"{'side':<8}{'median ms':>12}{'p90 ms':>10}{'min ms':>10}")
    for side, values in samples.items():
        print(f"{side:<8}{statistics.median(values):>12.0f}{_p90(values):>10.0f}{min(values):>10.0f}")
    ratio = statistics.median(samples["plain"]) / statistics.median(samples["fast"])
    print(f"plain/fast (medians): {ratio:.2f}×   target: 300 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

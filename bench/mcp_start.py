"""What configured MCP servers cost the editor: `initialize`, and a new session, with three MCP
servers in the user's settings against none.

MCP servers start in the background with a session (issue 12), so neither the language server's
`initialize` nor `agentls/newSession` should wait for them; the target is "within 20 % of none".

Sides. `none`: no MCP server. `three`: three stdio servers (the tests' echo server,
tests/mcp/servers/echo_server.py), one of them slow to start (`ECHO_SLOW_START`, 2 s by default)
so that waiting on it would show. Each run spawns `python -m agentls` on stdio with a private
`AGENTLS_HOME` and `XDG_CONFIG_HOME` (where the servers are configured), times spawn → the whole
`initialize` response, then `initialized` → the `agentls/newSession` response, then shuts the
server down (outside the timed spans) and waits for it. Runs alternate (none, three, three,
none, ...) after one unrecorded warm-up of each; read the ratios first.

`python -m bench.mcp_start [--runs N] [--slow S]`. Timing is reported, never asserted.
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

from bench.initialize import CAPABILITIES, _frame, _p90, _read

SIDES = ("none", "three")
ECHO_SERVER = Path(__file__).resolve().parent.parent / "tests" / "mcp" / "servers" / "echo_server.py"


def _settings(side: str, slow_s: float) -> dict[str, Any]:
    if side == "none":
        return {}
    entry = {"command": sys.executable, "args": [str(ECHO_SERVER)]}
    slow = {**entry, "env": {"ECHO_SLOW_START": str(slow_s)}}
    return {"mcpServers": {"one": entry, "two": entry, "slow": slow}}


def _request(proc: subprocess.Popen[bytes], message: dict[str, Any]) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(_frame(message))
    proc.stdin.flush()
    while (answer := _read(proc.stdout)).get("id") != message["id"] or "method" in answer:
        pass
    if "result" not in answer:
        raise RuntimeError(f"{message['method']} failed: {answer}")
    return answer


def run_once(side: str, root: Path, slow_s: float) -> tuple[float, float]:
    """Milliseconds: spawn → `initialize` answered; `initialized` → `agentls/newSession` answered."""
    config = root / side / "xdg"
    (config / "agentls").mkdir(parents=True, exist_ok=True)
    (config / "agentls" / "settings.json").write_text(json.dumps(_settings(side, slow_s)))
    project = root / side / "project"
    project.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "AGENTLS_HOME": str(root / side / "home"), "XDG_CONFIG_HOME": str(config)}
    env.pop("AGENTLS_NO_FAST_START", None)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentls"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=project,
    )
    params = {"processId": os.getpid(), "rootUri": project.as_uri(), "capabilities": CAPABILITIES}
    _request(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
    initialize_ms = (time.perf_counter() - start) * 1000
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(_frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    begin = time.perf_counter()
    _request(
        proc, {"jsonrpc": "2.0", "id": 2, "method": "agentls/newSession", "params": {"cwd": str(project)}}
    )
    session_ms = (time.perf_counter() - begin) * 1000
    proc.stdin.write(
        _frame({"jsonrpc": "2.0", "id": 3, "method": "shutdown"})
        + _frame({"jsonrpc": "2.0", "method": "exit"})
    )
    proc.stdin.close()
    proc.stdout.read()
    proc.stdout.close()
    if proc.wait(timeout=60) != 0:
        raise RuntimeError(f"{side}: the server exited with {proc.returncode}")
    return initialize_ms, session_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mcp_start", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per side (default 10)")
    parser.add_argument("--slow", type=float, default=2.0, help="start-up delay of the slow server, s")
    args = parser.parse_args(argv)
    if args.runs < 2:
        parser.error("--runs must be at least 2")
    samples: dict[str, dict[str, list[float]]] = {side: {"initialize": [], "session": []} for side in SIDES}
    with tempfile.TemporaryDirectory(prefix="agentls-bench-mcp-") as tmp:
        root = Path(tmp)
        for side in SIDES:  # Warm-up: the disk cache.
            run_once(side, root, args.slow)
        for i in range(args.runs):
            for side in SIDES if i % 2 == 0 else SIDES[::-1]:
                initialize_ms, session_ms = run_once(side, root, args.slow)
                samples[side]["initialize"].append(initialize_ms)
                samples[side]["session"].append(session_ms)
    slow = f"one server of three starts in {args.slow:g} s"
    print(f"MCP servers and start-up, {args.runs} runs per side ({slow})")
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"{'side':<7}{'what':<12}{'median ms':>11}{'p90 ms':>9}{'min ms':>9}")
    for side in SIDES:
        for what, values in samples[side].items():
            print(
                f"{side:<7}{what:<12}{statistics.median(values):>11.0f}{_p90(values):>9.0f}{min(values):>9.0f}"
            )
    for what in ("initialize", "session"):
        ratio = statistics.median(samples["three"][what]) / statistics.median(samples["none"][what])
        print(f"three/none {what} (medians): {ratio:.2f}×   target: within 1.20×")
    return 0


if __name__ == "__main__":
    sys.exit(main())

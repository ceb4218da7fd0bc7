"""What checkpoints cost a turn: the harness gap per mutating tool call on a 5,000-file git
repository, with checkpoints on and off, measured in the same run.

The scenario is N mutating calls, one per response, alternating Edit (a file of the repository)
and Bash (`echo … >> log.txt`), played by the fake Messages API in a child process (the machinery
of `bench/overhead.py`: the same stamps, the same definition of a round's gap: from the fake
writing `message_stop` to the next request arriving, minus the part of the tool's own run inside
that gap). With checkpoints on, each prompt scans the repository (`git status`, the index) and
stores what a rewind needs; each Edit stores the file's content before and after; each Bash
command is followed by a scan that runs while the model writes its next response. Runs alternate
(on, off, off, on, …) so drift hits both sides alike. Reported: the median gap of each side, the
difference (the issue's budget: at most 5 ms), their ratio, and the checkpoint's own cost (the
time from the prompt to its baseline being stored). Timing is reported, never asserted.

`python -m bench.checkpoints [--files 5000] [--calls 40] [--reps 3]`; results also go to
`bench/results/checkpoints-<timestamp>.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentls.core.anthropic_model import AnthropicModel
from agentls.core.checkpoints.tracker import Checkpoints
from agentls.core.config import AgentConfig
from agentls.core.events import EndTurn, ToolCallFinished, TurnEnded
from agentls.core.journal import MemoryJournal
from agentls.core.scripted import Reply, Text, ToolCall
from agentls.core.session import Session, SessionDeps
from agentls.store.blobs import BlobStore
from agentls.store.sessions import SessionStore
from agentls.tools.registry import ToolRegistry, builtin_tools
from agentls.workspace.disk import DiskWorkspace
from agentls.workspace.tree_scan import TreeScanner
from bench.overhead import MODEL, PROMPT, RESULTS, Bench, Run, Span, _NoApprover, _timed, overheads_ms

GIT = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench", "-c", "commit.gpgsign=false"]
BUDGET_MS = 5.0


def make_repository(root: Path, files: int) -> None:
    """`files` small Python files in nested packages, committed, plus an ignored build folder."""
    per_folder = 50
    for i in range(files):
        folder = root / f"pkg{i // 1000}" / f"mod{i // per_folder}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.py").write_text(f'"""Module {i}."""\n\nVALUE_{i} = {i}\n' + "x = 1\n" * (i % 40))
    (root / ".gitignore").write_text("build/\n")
    (root / "target.py").write_text("".join(f"line_{i:03d} = {i}\n" for i in range(400)))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "bench"], cwd=root, check=True)


def rounds(root: Path, calls: int, tag: str) -> list[tuple[str, dict[str, Any]]]:
    path = str(root / "target.py")
    out: list[tuple[str, dict[str, Any]]] = [("Read", {"file_path": path})]
    for i in range(calls):
        if i % 2 == 0:
            old, new = f"line_{i:03d} = {i}\n", f"line_{i:03d} = -{i}  # {tag}\n"
            out.append(("Edit", {"file_path": path, "old_string": old, "new_string": new}))
        else:
            out.append(("Bash", {"command": f"echo {tag}-{i} >> log.txt", "description": "append"}))
    return out


async def checkpoint_cost(root: Path, store: Path, times: int = 5) -> dict[str, float]:
    """How long taking a checkpoint takes (begin to its baseline stored): the first of a session,
    and the next ones (which reuse what the first stored)."""
    checkpoints = Checkpoints(TreeScanner(root), BlobStore(store), MemoryJournal())
    took: list[float] = []
    for _ in range(times):
        begun = time.perf_counter()
        await checkpoints.begin("prompt", "bench")
        await checkpoints.ready()
        took.append((time.perf_counter() - begun) * 1000)
    return {"first_ms": round(took[0], 1), "next_ms": round(statistics.median(took[1:]), 1)}


async def run_side(url: str, root: Path, home: Path, requests: int, checkpoints: bool) -> Run:
    spans: list[Span] = []
    model = AnthropicModel(MODEL, api_key="bench-key", base_url=url)
    deps = SessionDeps(
        config=AgentConfig(
            model=MODEL, permission_mode="bypassPermissions", max_turns=requests, checkpoints=checkpoints
        ),
        model=model,
        workspace=DiskWorkspace(root),
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


def measure(files: int, calls: int, reps: int) -> dict[str, Any]:
    bench = Bench()
    root = bench.tmp / "repo"
    root.mkdir()
    make_repository(root, files)
    gaps: dict[str, list[float]] = {"on": [], "off": []}
    per_kind: dict[str, dict[str, list[float]]] = {s: {"Edit": [], "Bash": []} for s in gaps}
    order = ["on", "off", "off", "on"] * reps
    try:
        for run, side in enumerate(order[: 2 * reps]):
            script_rounds = rounds(root, calls, f"r{run}")
            url = bench.fake.play(
                [*(Reply([ToolCall(n, a)]) for n, a in script_rounds), Reply([Text("Done.")])]
            )
            res = asyncio.run(
                run_side(url, root, bench.tmp / "sessions", len(script_rounds) + 1, side == "on")
            )
            trace = bench.fake.collect()
            if res.tool_errors or not res.ended_ok or trace["remaining"]:
                print(f"warning: {side}: {res.tool_errors} tool errors, ended_ok={res.ended_ok}")
            measured = overheads_ms(trace, res.spans, 1)
            gaps[side] += measured
            for (name, _), gap in zip(script_rounds[1:], measured, strict=True):
                per_kind[side][name].append(gap)
            subprocess.run(["git", "checkout", "-q", "--", "target.py"], cwd=root, check=True)
            (root / "log.txt").unlink(missing_ok=True)
        cost = asyncio.run(checkpoint_cost(root, bench.tmp / "cost-store"))
    finally:
        bench.close()
    on, off = statistics.median(gaps["on"]), statistics.median(gaps["off"])
    return {
        "files": files,
        "calls_per_run": calls,
        "runs_per_side": reps,
        "median_gap_ms": {"on": round(on, 2), "off": round(off, 2)},
        "added_ms": round(on - off, 2),
        "ratio": round(on / off, 3) if off else None,
        "budget_ms": BUDGET_MS,
        "within_budget": on - off <= BUDGET_MS,
        "median_gap_ms_by_tool": {
            side: {k: round(statistics.median(v), 2) for k, v in kinds.items() if v}
            for side, kinds in per_kind.items()
        },
        "checkpoint_ms": cost,
        "machine": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=40, help="mutating calls per run")
    parser.add_argument("--reps", type=int, default=3, help="runs per side")
    args = parser.parse_args()
    result = measure(args.files, args.calls, args.reps)
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"checkpoints-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""`agentls checkpoints SESSION` and `agentls rewind SESSION [--to N] [--code|--conversation|--both]
[--dry-run] [--overwrite PATH ...|--overwrite-all]`: a recorded session's checkpoints, and putting
the workspace (and the conversation) back to one of them.

The session is resumed as `agentls compact` does (no model request, no MCP server), so one
killed mid-turn is repaired first and its checkpoints are complete. A file someone changed after
the agent is a conflict: kept, unless named with `--overwrite` (or `--overwrite-all`), or, at a
terminal, the user says yes to it. Exit status: 0 done (or nothing to do), 1 conflicts kept or
files that could not be restored, 2 bad usage (no such session or checkpoint).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from agentls.cli.approver import RefusingApprover
from agentls.cli.main import CliError
from agentls.cli.run import open_session
from agentls.core.checkpoints.report import checkpoint_json, describe_plan, outcome_json, summary
from agentls.core.checkpoints.rewind import RewindError
from agentls.core.checkpoints.rewinding import RewindOutcome, RewindPart
from agentls.core.checkpoints.timeline import Checkpoint, timeline
from agentls.core.session import Session
from agentls.store.jsonl import read_jsonl


async def checkpoints_command(args: argparse.Namespace) -> int:
    session = await _open(args.session)
    try:
        found = _timeline(session)
    finally:
        await session.end()
    if args.json:
        print(
            json.dumps(
                {"sessionId": session.id, "checkpoints": [checkpoint_json(c) for c in found]}, indent=2
            )
        )
        return 0
    if not found:
        print(f"Session {session.id} has no checkpoints.")
        return 0
    print(f"Checkpoints of session {session.id} (rewind with `agentls rewind {session.id} --to N`):")
    for checkpoint in found:
        print(_line(checkpoint))
    return 0


async def rewind_command(args: argparse.Namespace, stdin: TextIO | None = None) -> int:
    part: RewindPart = "conversation" if args.conversation else "both" if args.both else "code"
    session = await _open(args.session)
    try:
        try:
            preview = await session.rewind(args.to, part, dry_run=True)
            overwrite = _choose(preview, args, stdin or sys.stdin)
            outcome = preview if args.dry_run else await session.rewind(args.to, part, overwrite=overwrite)
        except RewindError as err:
            raise CliError(f"cannot rewind: {err}") from None
    finally:
        await session.end()
    if args.json:
        print(json.dumps(outcome_json(outcome), indent=2))
    else:
        print(describe_plan(outcome.plan, part) if args.dry_run else summary(outcome))
    return 1 if outcome.kept or (part != "conversation" and outcome.plan.not_restorable) else 0


def _choose(preview: RewindOutcome, args: argparse.Namespace, stdin: TextIO) -> frozenset[str]:
    """The conflicting files to put back anyway: named, all, or (at a terminal) asked one by one."""
    conflicts = [s.path for s in preview.plan.conflicts]
    if args.overwrite_all:
        return frozenset(conflicts)
    if args.overwrite:
        return frozenset(args.overwrite)
    if args.dry_run or args.json or not conflicts or not stdin.isatty():
        return frozenset()
    chosen: set[str] = set()
    print(describe_plan(preview.plan, preview.part), file=sys.stderr)
    for step in preview.plan.conflicts:
        print(f"Overwrite {step.path} ({step.why})? [y/N] ", end="", file=sys.stderr, flush=True)
        if stdin.readline().strip().lower() in ("y", "yes"):
            chosen.add(step.path)
    return frozenset(chosen)


async def _open(session_id: str) -> Session:
    return await open_session(
        resume=session_id,
        model=None,
        cwd=None,
        settings=None,
        config={},
        approver=RefusingApprover(),
        mcp_servers=False,  # Nothing here calls a tool.
        needs_key=False,  # Nor the model.
    )


def _timeline(session: Session) -> list[Checkpoint]:
    if session.transcript is None:
        return []
    return timeline(read_jsonl(session.transcript).records)


def _line(c: Checkpoint) -> str:
    files = c.files
    changed = f"{len(files)} file(s) changed after it" if files else "no file changed after it"
    what = {"prompt": "prompt", "subagent": "  subagent", "rewind": "rewind"}.get(c.kind, c.kind)
    head = f"{c.n:>4}  {c.at[:19].replace('T', ' ')}  {what}: {c.label}"
    tail = f"\n        {changed}" + (
        f": {', '.join(files[:6])}{' …' if len(files) > 6 else ''}" if files else ""
    )
    notes = "".join(f"\n        note: {n}" for n in c.notes)
    return head + tail + notes

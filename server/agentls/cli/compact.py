"""`agentls compact SESSION [--instructions TEXT]`: compact a recorded session now.

The session is resumed (so a session killed mid-turn is repaired first), its earlier
conversation is replaced by a model-written summary, and the compaction is recorded in its
transcript: the next `agentls run --resume SESSION` continues from the compacted context.
"""

from __future__ import annotations

import argparse

from agentls.cli.approver import RefusingApprover
from agentls.cli.render import make_renderer
from agentls.cli.run import open_session
from agentls.core.events import Notice


async def compact_command(args: argparse.Namespace) -> int:
    session = await open_session(
        resume=args.session,
        model=None,
        cwd=None,
        settings=None,
        config={},
        approver=RefusingApprover(),
        mcp_servers=False,  # A summary calls no tool: no server needs to start.
    )
    render = make_renderer(args.output_format)
    try:
        render(session.started_event())
        for notice in session.notices:
            render(Notice(level="warning", message=notice))
        outcome = await session.compact(args.instructions, render)
    finally:
        await session.end(emit=render)
    if args.output_format == "text":
        print(outcome.message if outcome.compacted else f"not compacted: {outcome.message}")
    return 0 if outcome.compacted else 1

"""`/rewind [N] [code|conversation|both]`: the checkpoints, or a rewind, from any front end's
prompt box (the user's view: `docs/checkpoints.md`). Without N it lists them; with N it rewinds
(the code by default); conflicting files are kept, and the text says how to overwrite them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentls.core.checkpoints.report import checkpoint_json, outcome_json, summary
from agentls.core.checkpoints.rewind import RewindError
from agentls.core.checkpoints.rewinding import RewindPart
from agentls.core.checkpoints.timeline import Checkpoint, timeline
from agentls.core.events import CommandOutput
from agentls.store.jsonl import read_jsonl

if TYPE_CHECKING:
    from agentls.core.session import Session

_PARTS: dict[str, RewindPart] = {"code": "code", "conversation": "conversation", "both": "both"}
USAGE = "usage: /rewind [N] [code|conversation|both]"


async def rewind_command(session: Session, arguments: str) -> CommandOutput:
    words = arguments.split()
    if not words:
        return _listing(session)
    number, *rest = words
    if not number.isdigit() or len(rest) > 1 or (rest and rest[0] not in _PARTS):
        return CommandOutput(command="rewind", text=USAGE, level="error")
    part = _PARTS[rest[0]] if rest else "code"
    try:
        outcome = await session.rewind(int(number), part, by_command=True)
    except RewindError as err:
        return CommandOutput(command="rewind", text=f"Cannot rewind: {err}.", level="error")
    text = summary(outcome)
    if outcome.kept:
        text += (
            f". To put them back anyway: agentls rewind {session.id} --to {number} --overwrite "
            + " ".join(s.path for s in outcome.kept)
        )
    return CommandOutput(command="rewind", text=text, data=outcome_json(outcome))


def _listing(session: Session) -> CommandOutput:
    found = _checkpoints(session)
    if not found:
        return CommandOutput(
            command="rewind", text="This session has no checkpoints yet.", data={"checkpoints": []}
        )
    lines = ["Checkpoints (/rewind N [code|conversation|both] puts things back as they were at N):"]
    for c in found:
        files = c.files
        changed = f"{len(files)} file(s) changed after it" if files else "nothing changed after it"
        lines.append(f"  {c.n}. {c.kind}: {c.label} ({changed})")
    return CommandOutput(
        command="rewind", text="\n".join(lines), data={"checkpoints": [checkpoint_json(c) for c in found]}
    )


def _checkpoints(session: Session) -> list[Checkpoint]:
    if session.transcript is None or session.state.checkpoints is None:
        return []
    return timeline(read_jsonl(session.transcript).records)

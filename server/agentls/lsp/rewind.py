"""Checkpoints from the editor: `agentls/listCheckpoints` and `agentls/rewind` (rich clients: the
VS Code panel's "Restore to here", `:AgentlsRewind`), and the `agentls.rewind` command (any
client: it shows what the rewind will change in a `window/showMessageRequest` and asks).

All of them run on the core's `Session.rewind`: the files the agent changed go back through the
editor workspace (open buffers in one `workspace/applyEdit`, so the editor's undo brings the
agent's version back; closed files on disk), and a conversation rewind is answered with
`conversation: true`, after which a client reloads the chat (`agentls/loadSession`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from lsprotocol import types as T
from pydantic import Field
from pygls.exceptions import JsonRpcException

from agentls.core.checkpoints.report import checkpoint_json, describe_plan, outcome_json, plan_json, summary
from agentls.core.checkpoints.rewind import RewindError
from agentls.core.checkpoints.rewinding import RewindOutcome, RewindPart
from agentls.core.checkpoints.timeline import Checkpoint, timeline
from agentls.core.session import Session, SessionBusy
from agentls.lsp.params import Args, SessionBusyError, SessionIdParams, _Params, parse, parse_argument
from agentls.lsp.protocol import REWIND_COMMAND
from agentls.store.jsonl import read_jsonl

if TYPE_CHECKING:
    from agentls.lsp.state import ServerState

_REWIND = "Rewind"
_OVERWRITE = "Rewind, overwriting their changes"
_CANCEL = "Cancel"


class RewindFailed(JsonRpcException):
    CODE = -32003
    MESSAGE = "Rewind failed"


class RewindParams(_Params):
    session_id: str = Field(alias="sessionId", min_length=1)
    to: int | None = Field(default=None, ge=1, description="The checkpoint; default: the last prompt's")
    part: RewindPart = "both"
    dry_run: bool = Field(default=False, alias="dryRun")
    overwrite: list[str] = Field(default_factory=list, max_length=10_000)
    """Conflicting files to put back anyway (paths as the plan names them)."""


class RewindArgs(Args):
    sessionId: str = Field(min_length=1)
    to: int | None = Field(default=None, ge=1)
    part: Literal["code", "conversation", "both"] = "code"


async def list_checkpoints(state: ServerState, raw: Any) -> dict[str, Any]:
    session = await state.open_session(parse(SessionIdParams, raw).session_id)
    return {"sessionId": session.id, "checkpoints": [checkpoint_json(c) for c in checkpoints_of(session)]}


async def rewind_request(state: ServerState, raw: Any) -> dict[str, Any]:
    """`agentls/rewind`: the client already showed the plan (`dryRun`) and chose."""
    params = parse(RewindParams, raw)
    session = await state.open_session(params.session_id)
    outcome = await _rewind(session, params.to, params.part, frozenset(params.overwrite), params.dry_run)
    return outcome_json(outcome)


async def rewind_command(state: ServerState, *args: Any) -> dict[str, Any]:
    """`agentls.rewind`: the plan goes to the user in `window/showMessageRequest`; the answer decides."""
    parsed = parse_argument(REWIND_COMMAND, RewindArgs, args)
    client = state.channel
    session = await state.open_session(parsed.sessionId)
    plan = (await _rewind(session, parsed.to, parsed.part, frozenset(), dry_run=True)).plan
    if not plan.changes and not plan.conflicts and parsed.part == "code":
        message = (
            f"agentls: nothing to rewind: no file the agent changed since checkpoint {plan.to.n} differs."
        )
        client.show_message(T.MessageType.Info, message)
        return {"rewound": False, **plan_json(plan)}
    actions = [_REWIND, *([_OVERWRITE] if plan.conflicts else []), _CANCEL]
    answer = await client.request(
        T.WINDOW_SHOW_MESSAGE_REQUEST,
        T.ShowMessageRequestParams(
            type=T.MessageType.Warning,
            message=describe_plan(plan, parsed.part),
            actions=[T.MessageActionItem(title=a) for a in actions],
        ),
    )
    title = answer.get("title") if isinstance(answer, dict) else getattr(answer, "title", None)
    if title not in (_REWIND, _OVERWRITE):
        return {"rewound": False, **plan_json(plan)}
    overwrite = frozenset(s.path for s in plan.conflicts) if title == _OVERWRITE else frozenset()
    outcome = await _rewind(session, parsed.to, parsed.part, overwrite, dry_run=False)
    client.show_message(T.MessageType.Info, f"agentls: {summary(outcome)}")
    return {"rewound": True, **outcome_json(outcome)}


def checkpoints_of(session: Session) -> list[Checkpoint]:
    if session.transcript is None or session.state.checkpoints is None:
        return []
    return timeline(read_jsonl(session.transcript).records)


async def _rewind(
    session: Session, to: int | None, part: RewindPart, overwrite: frozenset[str], dry_run: bool
) -> RewindOutcome:
    try:
        return await session.rewind(to, part, overwrite=overwrite, dry_run=dry_run)
    except SessionBusy as err:
        raise SessionBusyError(f"Session busy: {err}") from None
    except RewindError as err:
        raise RewindFailed(f"Rewind failed: {err}") from None

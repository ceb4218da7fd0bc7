"""Rebuild a session from its transcript records, repairing what a crash left open.

The rules, in the order records were written by the loop:
- `message` records are the history; an `assistant_partial` stands in for an assistant message
  whose stream was cut off after a tool had started.
- A tool call of the last assistant message that has no answer gets one: its recorded
  `tool_result` if it finished, otherwise an error result saying it was interrupted. A call is
  never re-run: the model is told, and decides.
- `compaction` records reshape the context the model sees (results replaced by markers, a
  compacted head followed by the last messages); the full conversation, for display, is every
  message in order, and is rebuilt only when asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from agentls.core.context.base import Base, render
from agentls.core.context.microcompact import apply_markers
from agentls.core.history import append_message, unanswered_tool_uses
from agentls.core.messages import Message, ToolResultBlock
from agentls.core.model import TokenUsage
from agentls.core.records import (
    RECORD_ADAPTER,
    CheckpointRecord,
    ClearedRecord,
    CompactionRecord,
    HeaderRecord,
    MessageRecord,
    ModelFallbackRecord,
    ModelSwitchRecord,
    PartialAssistantRecord,
    PlanRecord,
    Record,
    SubagentRecord,
    ToolCallRecord,
    ToolResultRecord,
    ToolsLoadedRecord,
    TurnStartRecord,
    UsageRecord,
    WindowRecord,
)
from agentls.tools.agent import resume_hint

INTERRUPTED = (
    "Interrupted: the session ended (crash, kill or shutdown) while this tool call was running. "
    "It was NOT run again on resume. Its effects, if any, are unknown: check the current state "
    "(for example Read the file or re-run a read-only command) before retrying."
)
NOT_STARTED = (
    "Not run: the session ended before this tool call started. Nothing was executed; "
    "call it again if it is still needed."
)


@dataclass
class Replayed:
    header: HeaderRecord | None = None
    history: list[Message] = field(default_factory=list)
    """The context the model sees: the conversation as its compactions left it."""
    display: list[Message] | None = None
    """Every message of the conversation, compacted or not (only when asked for)."""
    display_compactions: list[tuple[int, CompactionRecord]] = field(default_factory=list)
    """With `display`: each compaction and how many displayed messages came before it."""
    display_checkpoints: list[tuple[int, int, str]] = field(default_factory=list)
    """With `display`: each prompt's checkpoint as (the index of its user message, its number,
    its label), so a front end can offer to rewind to it."""
    base: Base | None = None
    cleared: set[str] = field(default_factory=set)
    compactions: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost_usd: float | None = None
    calibration: float | None = None
    learned_window: int | None = None
    """The context window an overflow answer stated, if one did."""
    todos: list[dict[str, Any]] = field(default_factory=list)
    fallback: ModelFallbackRecord | None = None
    """The last switch to a fallback model, if the session made one (after the last `/model`)."""
    model: str | None = None
    """The model the last `/model` switched to, if any."""
    clears: int = 0
    """`/clear`s: the history (and the display) start after the last one."""
    first_prompt: str = ""
    repair: Message | None = None
    """Synthesised tool results for calls a crash left unanswered (already in `history`)."""
    interrupted: list[str] = field(default_factory=list)
    """Ids of calls that had started but never recorded a result."""
    subagents: list[SubagentRecord] = field(default_factory=list)
    """Every subagent the session started or resumed, in order (so they can be resumed again)."""
    loaded_tools: list[str] = field(default_factory=list)
    """Deferred tools the session loaded, in order (a `/clear` keeps them: they stay in its
    requests, so the cached prefix does too)."""

    @property
    def undelivered(self) -> list[SubagentRecord]:
        """Background subagents whose answer never reached the model."""
        delivered = {(r.call_id, r.agent_id) for r in self.subagents if r.delivered}
        return [
            r
            for r in self.subagents
            if r.background and not r.delivered and (r.call_id, r.agent_id) not in delivered
        ]

    skipped_records: int = 0
    last_checkpoint: int = 0
    """The number of the session's latest checkpoint (0: none)."""


_CONVERSATION = frozenset(
    {
        "message",
        "assistant_partial",
        "tool_call",
        "tool_result",
        "compaction",
        "cleared",
        "turn_start",
        "turn_end",
        "plan",
        "state",
    }
)
"""Records that shape the conversation: a conversation rewind takes back those written after
its checkpoint. The others (spending, the model, loaded tools, subagents, checkpoints) stand."""


def rewound(raw_records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records as the conversation stands after its rewinds: a `rewind` record of the
    conversation drops the conversation records written since its checkpoint. Rewinds nest:
    rewinding to the checkpoint a rewind took first (its `undo`) brings the dropped turns back."""
    out: list[dict[str, Any]] = []
    marks: dict[Any, tuple[list[dict[str, Any]], int]] = {}
    """Each checkpoint: the record list it was written into, and its position there."""
    for raw in raw_records:
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind == "rewind" and raw.get("conversation") is True and raw.get("to") in marks:
            source, position = marks[raw["to"]]
            head = source[:position]
            kept = {id(r) for r in head}
            out = head + [r for r in out if id(r) not in kept and r.get("type") not in _CONVERSATION]
        elif kind == "checkpoint":
            marks[raw.get("n")] = (out, len(out))
        out.append(raw)
    return out


def replay(raw_records: Iterable[dict[str, Any]], *, display: bool = False) -> Replayed:
    out = Replayed(display=[] if display else None)
    raw_records = rewound(raw_records)
    partial: PartialAssistantRecord | None = None
    started: set[str] = set()
    results: dict[str, ToolResultRecord] = {}
    checkpoint: CheckpointRecord | None = None
    """A prompt's checkpoint waiting for the prompt's message (a rewound one never gets it)."""
    for raw in raw_records:
        try:
            record = RECORD_ADAPTER.validate_python(raw)
        except ValidationError:
            out.skipped_records += 1
            continue
        if isinstance(record, HeaderRecord):
            out.header = record
        elif isinstance(record, PartialAssistantRecord):
            partial = record
        elif isinstance(record, MessageRecord):
            if record.message.role == "assistant":
                partial = None
            elif partial is not None:
                _append(out, Message(role="assistant", content=partial.content))
                partial = None
            _append(out, record.message)
            if checkpoint is not None and record.message.role == "user" and out.display is not None:
                out.display_checkpoints.append((len(out.display) - 1, checkpoint.n, checkpoint.label))
                checkpoint = None
        elif isinstance(record, CompactionRecord):
            _compact(out, record)
        elif isinstance(record, ClearedRecord):
            _clear(out)
            partial = None
        elif isinstance(record, CheckpointRecord):
            checkpoint = record if record.kind == "prompt" else None
            _note(out, record)
        elif isinstance(record, ToolCallRecord):
            started.add(record.call_id)
        elif isinstance(record, ToolResultRecord):
            results[record.call_id] = record
        else:
            _note(out, record)
    if partial is not None:
        _append(out, Message(role="assistant", content=partial.content))
    _answer_open_calls(out, started, results)
    return out


def _note(out: Replayed, record: Record) -> None:
    """Records that describe the session rather than its messages."""
    if isinstance(record, WindowRecord):
        out.learned_window = record.window
    elif isinstance(record, TurnStartRecord) and not out.first_prompt:
        out.first_prompt = record.prompt
    elif isinstance(record, UsageRecord):
        out.usage = record.session
        out.cost_usd = record.session_cost_usd
        out.calibration = record.calibration or out.calibration
    elif isinstance(record, PlanRecord):
        out.todos = record.todos
    elif isinstance(record, ModelFallbackRecord):
        out.fallback = record
    elif isinstance(record, SubagentRecord):
        out.subagents.append(record)
    elif isinstance(record, ToolsLoadedRecord):
        out.loaded_tools += [n for n in record.names if n not in out.loaded_tools]
    elif isinstance(record, CheckpointRecord):
        out.last_checkpoint = max(out.last_checkpoint, record.n)
    elif isinstance(record, ModelSwitchRecord):
        out.model = record.model
        out.fallback = None  # Chosen after the fallback: the choice holds.


def _clear(out: Replayed) -> None:
    """`/clear`: the conversation starts over (the log keeps what came before)."""
    out.clears += 1
    out.history = []
    out.base = None
    out.cleared = set()
    out.todos = []
    if out.display is not None:
        out.display = []
        out.display_compactions = []
        out.display_checkpoints = []


def _append(out: Replayed, message: Message) -> None:
    append_message(out.history, message)
    if out.display is not None:
        append_message(out.display, message)


def _compact(out: Replayed, record: CompactionRecord) -> None:
    """Reshape the context as the live session did when it wrote `record`."""
    out.compactions += 1
    if out.display is not None:
        out.display_compactions.append((len(out.display), record))
    if record.markers:
        out.history = apply_markers(out.history, record.markers)
        out.cleared |= record.markers.keys()
    if record.base is not None:
        tail = out.history[len(out.history) - record.kept :] if record.kept > 0 else []
        out.base = record.base
        out.history = [render(record.base), *tail]
        # A damaged log could leave a tail that does not start with an assistant message.
        while len(out.history) > 1 and out.history[1].role == "user":
            head, extra = out.history[0], out.history.pop(1)
            text = tuple(b for b in extra.content if not isinstance(b, ToolResultBlock))
            out.history[0] = Message(role="user", content=head.content + text)
        present = {b.tool_use_id for m in out.history for b in m.content if isinstance(b, ToolResultBlock)}
        out.cleared &= present


def _answer_open_calls(out: Replayed, started: set[str], results: dict[str, ToolResultRecord]) -> None:
    open_calls = unanswered_tool_uses(out.history)
    if not open_calls:
        return
    blocks: list[ToolResultBlock] = []
    for call in open_calls:
        if call.id in results:
            done = results[call.id]
            blocks.append(ToolResultBlock(tool_use_id=call.id, content=done.content, is_error=done.is_error))
        elif call.id in started:
            out.interrupted.append(call.id)
            text = INTERRUPTED
            for agent in (r for r in out.subagents if r.call_id == call.id):
                text = f"{INTERRUPTED}\n{resume_hint(agent.agent_type, agent.agent_id)}"
            blocks.append(ToolResultBlock(tool_use_id=call.id, content=text, is_error=True))
        else:
            blocks.append(ToolResultBlock(tool_use_id=call.id, content=NOT_STARTED, is_error=True))
    out.repair = Message(role="user", content=tuple(blocks))
    _append(out, out.repair)

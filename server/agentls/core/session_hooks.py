"""Where a session and its turns fire their hooks, and what comes of the answers (`hooks.py` runs
the hooks themselves; the tool runner fires the tool events and the permission prompt's
Notification itself).

- `prompt_submitted`: UserPromptSubmit before a prompt is sent. A block (or `continue: false`)
  keeps the prompt from the model and tells the user; context goes into the prompt's message,
  after the context SessionStart hooks left for it.
- `answer_finished`: Stop when the model ends its answer; a block makes the turn go on with the
  reason as a user message, and `stop_hook_active` is true for the hooks the next time.
- `subagent_stopped`: SubagentStop, for the subagent machinery (the same, on the parent's hooks).
- `waiting_for_user`: a Notification (`idle_prompt`) when a turn has ended and waits for the user.
- `session_started`: SessionStart (`startup`, `resume`, `clear`, `compact`); the context goes to
  the model with the next user message (`take_context`, `context_message`).
- `session_ended`: SessionEnd, before a session closes.

A subagent's session fires none of these itself. Hooks report failures as warning notices; nothing
here raises (the hook runner turns every failure into a verdict) or ends a turn by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from agentls.core.events import AgentEvent, Notice, StopReason
from agentls.core.hooks import HookResults, HookRunner
from agentls.core.mcp_mentions import attached_resources
from agentls.core.messages import Message, TextBlock
from agentls.core.state import SessionState

Emit = Callable[[AgentEvent], None]

IDLE_MESSAGE = "agentls is waiting for your input"


def hooks_of(state: SessionState) -> HookRunner | None:
    """The session's hook runner; None without settings-driven permissions (tests' own policy)."""
    return state.permissions.hooks if state.permissions is not None else None


def report(results: HookResults, emit: Emit) -> None:
    """Failed hooks, the output of an exit status 2 that cannot block, and system messages."""
    for level, text in results.notices():
        emit(Notice(level=level, message=text))


def context_text(event: str, text: str) -> str:
    """Hook context as the model reads it: marked as coming from a hook, not from the user."""
    return f'<hook_context event="{event}">\n{text}\n</hook_context>'


class PromptCheck:
    """What UserPromptSubmit made of a prompt: `refused` (what the user was told) when it must
    not be sent, else the user `message` to send (the prompt plus any hook context)."""

    def __init__(self, refused: str | None, message: Message) -> None:
        self.refused = refused
        self.message = message


async def prompt_submitted(state: SessionState, prompt: str, emit: Emit) -> PromptCheck:
    if state.permissions is not None:
        state.permissions.refresh()  # A hook just added to (or removed from) the settings counts.
    hooks = hooks_of(state)
    extra: list[str] = []
    if hooks is not None and not state.is_subagent and hooks.of("UserPromptSubmit"):
        results = await hooks.user_prompt_submit(prompt)
        report(results, emit)
        refused: str | None = None
        if results.stop is not None:
            refused = "A UserPromptSubmit hook stopped the turn; the prompt was not sent"
            refused += _said(results.stop)
        elif (reason := results.block_reason) is not None:
            refused = f"A UserPromptSubmit hook blocked the prompt; it was not sent: {reason}"
        if refused is not None:
            emit(Notice(level="warning", message=refused))
            return PromptCheck(refused, Message(role="user", content=(TextBlock(text=prompt),)))
        if results.context:
            extra.append(context_text("UserPromptSubmit", results.context))
    extra += await attached_resources(state, prompt, emit)
    blocks = [*take_context(state), TextBlock(text=prompt), *(TextBlock(text=t) for t in extra)]
    return PromptCheck(None, Message(role="user", content=tuple(blocks)))


async def answer_finished(state: SessionState, stop_hook_active: bool, emit: Emit) -> str | None:
    """Stop hooks; the text the turn goes on with (a user message), or None: the turn ends."""
    hooks = hooks_of(state)
    if hooks is None or state.is_subagent or not hooks.of("Stop"):
        return None
    return _go_on("Stop", await hooks.stop(stop_hook_active), emit)


async def subagent_stopped(
    parent: SessionState,
    *,
    agent_id: str,
    agent_type: str,
    agent_transcript_path: str,
    stop_hook_active: bool,
    emit: Emit,
) -> str | None:
    """For the subagent machinery, when a subagent's turn ends: SubagentStop hooks of the parent
    session. Returns the prompt the subagent goes on with, or None: it is done. Call it again
    after that next turn with `stop_hook_active=True`."""
    hooks = hooks_of(parent)
    if hooks is None or not hooks.of("SubagentStop"):
        return None
    results = await hooks.subagent_stop(
        stop_hook_active=stop_hook_active,
        agent_id=agent_id,
        agent_type=agent_type,
        agent_transcript_path=agent_transcript_path,
    )
    return _go_on("SubagentStop", results, emit)


def _go_on(event: str, results: HookResults, emit: Emit) -> str | None:
    report(results, emit)
    if results.stop is not None:
        emit(Notice(level="warning", message=f"A {event} hook ended the turn" + _said(results.stop)))
        return None
    reason = results.block_reason
    if reason is None:
        return None
    emit(Notice(message=f"A {event} hook asked the model to go on: {reason}"))
    return f"{event} hook feedback:\n{reason}"


async def waiting_for_user(state: SessionState, stop: StopReason, emit: Emit) -> None:
    """The turn ended (not cancelled: then the user is there) and waits for the next prompt."""
    hooks = hooks_of(state)
    if hooks is None or state.is_subagent or stop.kind == "cancelled":
        return
    if not hooks.has("Notification", "idle_prompt"):
        return
    report(await hooks.notification(IDLE_MESSAGE, "idle_prompt"), emit)


async def conversation_restarted(
    state: SessionState, source: Literal["compact", "clear"], emit: Callable[[AgentEvent], None]
) -> None:
    """A summary replaced the conversation, or `/clear` emptied it: the system prompt's dynamic
    part (the memory files, which may have changed) is read again from disk, then SessionStart
    hooks run with `source`."""
    if state.refresh_system is not None:
        await state.refresh_system()
    await session_started(state, source, emit)


async def session_started(state: SessionState, source: str, emit: Emit) -> None:
    """SessionStart hooks; their context waits in `state.pending_context` for the next user message."""
    hooks = hooks_of(state)
    if hooks is None or state.is_subagent or not hooks.has("SessionStart", source):
        return
    results = await hooks.session_start(source)
    report(results, emit)
    if results.context:
        state.pending_context.append(context_text("SessionStart", results.context))


async def session_ended(state: SessionState, reason: str, emit: Emit | None = None) -> None:
    """SessionEnd hooks (they cannot keep the session open)."""
    hooks = hooks_of(state)
    if hooks is None or state.is_subagent or not hooks.has("SessionEnd", reason):
        return
    results = await hooks.session_end(reason)
    for level, text in results.notices():
        if emit is not None:
            emit(Notice(level=level, message=text))
        elif level == "warning":
            state.log.warning("%s", text)


def take_context(state: SessionState) -> tuple[TextBlock, ...]:
    """The hook context waiting for the next user message (and no longer waiting)."""
    blocks = tuple(TextBlock(text=text) for text in state.pending_context)
    state.pending_context.clear()
    return blocks


def context_message(state: SessionState) -> Message | None:
    """The waiting hook context as a user message of its own (merged into the last user message
    when appended), or None when there is none."""
    blocks = take_context(state)
    return Message(role="user", content=blocks) if blocks else None


def _said(reason: str) -> str:
    return f": {reason}" if reason else ""

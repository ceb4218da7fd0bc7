"""The answer of a command-started turn, for editors without a chat panel.

`workspace/executeCommand` answers before the turn ends, so the result cannot go in the reply.
Every client can show a message and most can open a document, so the turn's outcome goes to a
Markdown file (`$AGENTLS_HOME/transcripts/<sessionId>.md`) that the server opens with
`window/showDocument` when the client supports it, plus a `window/showMessage` with the final
text, trimmed, that says where the full transcript is. The Markdown is rendered from the turn's
events by a `TranscriptRecorder` fed through `run_turn`'s `on_event`; `run_command_turn` is the
whole background part of a command: the turn, the transcript, the message, then the command's
own follow-up (removing an instruction comment, clearing reviewed files).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types as T
from pygls.uris import from_fs_path

from agentls.core.events import (
    AgentEvent,
    AssistantMessage,
    CommandOutput,
    ModelFallback,
    RequestStarted,
    StopReason,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from agentls.lsp.turns import run_turn
from agentls.store.sessions import agentls_home
from agentls.store.settings import write_atomic

if TYPE_CHECKING:
    from agentls.core.commands.runs import Run
    from agentls.core.session import Session
    from agentls.lsp.client_channel import ClientChannel

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 1500


@dataclass
class ToolLine:
    title: str
    status: str = "not finished"
    """`ok`, `error: <first line of the result>`, or `not finished` (cancelled or crashed)."""


@dataclass
class TranscriptRecorder:
    """Collects what a transcript shows from a turn's events, in the order the model wrote it.

    Text comes from the streamed deltas rather than `AssistantMessage`: a tool starts as soon as
    its block closes, before the message that holds it is complete, and the text written before
    the call must come before its line."""

    title: str
    prompt: str
    parts: list[str | ToolLine] = field(default_factory=list)
    """Text paragraphs and tool calls, in order."""
    tools: dict[str, ToolLine] = field(default_factory=dict)
    _streamed: list[str] = field(default_factory=list)

    def _tool(self, call_id: str, title: str = "") -> ToolLine:
        line = self.tools.get(call_id)
        if line is None:
            line = self.tools[call_id] = ToolLine(title)
            self.parts.append(line)
        return line

    def on_event(self, event: AgentEvent) -> None:
        match event:
            case RequestStarted():
                # Text still buffered here belongs to a failed attempt that will be retried (a
                # call is only retried if none of its tools started, so nothing was flushed).
                self._streamed.clear()
            case TextDelta():
                self._streamed.append(event.text)
            case AssistantMessage():
                self._flush()
            case ToolCallStarted():
                self._flush()  # The text the model wrote before the call comes first.
                self._tool(event.call_id).title = event.title or event.name
            case ToolCallFinished():
                line = self._tool(event.call_id, event.name)
                first = event.output.strip().splitlines()[0][:200] if event.output.strip() else ""
                line.status = f"error: {first}" if event.is_error else "ok"
            case ModelFallback():
                self.parts.append(f"_({event.message})_")
            case CommandOutput():
                self.parts.append(f"```\n{event.text}\n```")  # A slash command's report, as it is.
            case _:
                pass

    def _flush(self) -> None:
        text = "".join(self._streamed).strip()
        self._streamed.clear()
        if text:
            self.parts.append(text)

    def render(self, session_id: str, stop: StopReason) -> str:
        return render_transcript(
            title=self.title,
            session_id=session_id,
            prompt=self.prompt,
            parts=self.parts,
            partial="".join(self._streamed).strip(),
            stop=stop,
        )


def stop_text(stop: StopReason) -> str:
    match stop.kind:
        case "end_turn":
            return "finished (end_turn)"
        case "max_turns":
            return f"stopped: reached the limit of {stop.limit} model calls (max_turns)"
        case "error":
            return f"stopped by an error ({stop.cause.kind}): {stop.cause.message}"
        case "budget_exceeded" | "context_overflow":
            return f"stopped ({stop.kind}): {stop.message}"
        case other:
            return f"stopped: {other}"


def render_transcript(
    *,
    title: str,
    session_id: str,
    prompt: str,
    parts: list[str | ToolLine],
    partial: str,
    stop: StopReason,
) -> str:
    """The Markdown: prompt, the agent's text with one line per tool call, how the turn ended."""
    out = [
        f"# {title}",
        "",
        f"Session `{session_id}`",
        "",
        "## Prompt",
        "",
        prompt.strip(),
        "",
        "## Agent",
        "",
    ]
    for part in parts:
        if isinstance(part, ToolLine):
            out.append(f"- `{part.title}`: {part.status}")
        else:
            out.extend(["", part, ""])
    if partial:
        out.extend(["", partial, "", "*(the turn ended while this text was being written)*", ""])
    if not parts and not partial:
        out.append("*(no answer)*")
    out.extend(["", "## Result", "", stop_text(stop), ""])
    text = "\n".join(out)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


def transcript_path(session_id: str) -> Path:
    return agentls_home() / "transcripts" / f"{session_id}.md"


def write_transcript(session_id: str, markdown: str) -> Path:
    """Written atomically: an editor never opens half a transcript."""
    path = transcript_path(session_id)
    write_atomic(path, markdown)
    return path


def message_text(text: str, stop: StopReason, path: Path | None) -> str:
    """The showMessage body: the final text (trimmed), how it ended if not normally, and where
    the full transcript is."""
    body = text.strip() or "(no answer)"
    if len(body) > MESSAGE_LIMIT:
        body = body[:MESSAGE_LIMIT].rstrip() + " …"
    if stop.kind != "end_turn":
        body = f"{body}\n\n({stop_text(stop)})"
    if path is not None:
        body = f"{body}\n\nFull transcript: {path}"
    return f"agentls: {body}"


async def open_document(client: ClientChannel, path: Path, *, take_focus: bool) -> bool:
    """Ask the editor to show `path` (`window/showDocument`); False when it cannot or did not."""
    if not client.features.show_document:
        return False
    try:
        result = await client.show_document(
            T.ShowDocumentParams(uri=from_fs_path(str(path)) or path.as_uri(), take_focus=take_focus)
        )
    except Exception as err:
        log.info("showDocument failed: %s", err)
        return False
    return bool(getattr(result, "success", True))


async def present(
    client: ClientChannel, recorder: TranscriptRecorder, session_id: str, stop: StopReason, text: str
) -> Path | None:
    """Write the transcript, open it where the client can, and show the final text."""
    path: Path | None = None
    try:
        path = write_transcript(session_id, recorder.render(session_id, stop))
    except OSError as err:
        log.warning("could not write the transcript of %s: %s", session_id, err)
    if path is not None:
        await open_document(client, path, take_focus=False)  # The message below says where it is anyway.
    kind = T.MessageType.Error if stop.kind == "error" else T.MessageType.Info
    client.show_message(kind, message_text(text, stop, path))
    return path


async def run_command_turn(
    client: ClientChannel,
    session: Session,
    prompt: str,
    title: str,
    *,
    on_event: Callable[[AgentEvent], None] | None = None,
    after: Callable[[StopReason], Awaitable[None]] | None = None,
    run: Run | None = None,
) -> None:
    """The background part of a command: the turn, then its answer for every client. `run`: the
    prompt was submitted already (see `run_turn`)."""
    recorder = TranscriptRecorder(title, prompt)

    def observe(event: AgentEvent) -> None:
        recorder.on_event(event)
        if on_event is not None:
            on_event(event)

    try:
        result = await run_turn(client, session, prompt, title=title, on_event=observe, run=run)
        await present(client, recorder, session.id, result.stop, result.text)
        if after is not None:
            await after(result.stop)
    except Exception as err:  # A background task has nobody to raise to: tell the user.
        log.exception("command turn of %s failed", session.id)
        client.show_message(T.MessageType.Error, f"{title} failed: {err}")

"""`workspace/executeCommand`: `agentls.ask` and `agentls.review`, the standard-LSP way to start a turn.

Both take one argument object (`params.parse_argument` checks it), start
the turn in a new session in the background and answer `{sessionId}` at once: an editor waits for
its command's reply, and a turn takes minutes. When the turn ends, `transcript_doc` shows the
answer to every client (a Markdown transcript and a message); rich clients also got the streaming
updates from `run_turn`.

`agentls.review` adds the `ReportFinding` tool to the session; a `FindingCollector` watching the
turn's events (the call's input in `ToolCallStarted`, its success in `ToolCallFinished`) turns
its calls into published findings, so neither the tool nor the core knows about diagnostics.
Without a uri it reviews the working tree: the review prompt (`core/commands/review.py`, shared
with `/review`) runs `git diff HEAD` (and lists untracked files) through the session's workspace
and puts the diff in the prompt, which also tells us which files were reviewed, so their old
findings can be cleared. Doing it before the turn rather than asking the agent to run git makes the
review prompt deterministic and an empty or non-git tree a clear error.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lsprotocol import types as T
from pydantic import Field, model_validator
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import from_fs_path, to_fs_path

from agentls.core.commands.review import ReviewError, file_review_prompt, working_tree_review_prompt
from agentls.core.events import StopReason
from agentls.lsp.code_actions import last_line, remove_instruction
from agentls.lsp.findings import FindingCollector
from agentls.lsp.params import Args, parse_argument
from agentls.lsp.protocol import ASK_COMMAND, REVIEW_COMMAND
from agentls.lsp.state import ServerState
from agentls.lsp.transcript_doc import run_command_turn
from agentls.tools.base import display_path
from agentls.tools.registry import ToolRegistry, builtin_tools
from agentls.tools.report_finding import ReportFindingTool

log = logging.getLogger(__name__)

ASK = ASK_COMMAND
REVIEW = REVIEW_COMMAND
MAX_SELECTION_CHARS = 20_000


class PositionArg(Args):
    line: int = Field(ge=0)
    character: int = Field(ge=0)


class RangeArg(Args):
    start: PositionArg
    end: PositionArg

    @model_validator(mode="after")
    def _ordered(self) -> RangeArg:
        if (self.end.line, self.end.character) < (self.start.line, self.start.character):
            raise ValueError("range end is before its start")
        return self

    def lsp(self) -> T.Range:
        s, e = self.start, self.end
        return T.Range(
            start=T.Position(line=s.line, character=s.character),
            end=T.Position(line=e.line, character=e.character),
        )


class InstructionArg(Args):
    line: int = Field(ge=0)
    """0-based line of the comment when the action was offered."""
    text: str = Field(min_length=1)
    """The whole comment line, to find it again after the agent's edits."""


class AskArgs(Args):
    prompt: str = Field(min_length=1)
    uri: str | None = None
    range: RangeArg | None = None
    instruction: InstructionArg | None = None

    @model_validator(mode="after")
    def _context_needs_uri(self) -> AskArgs:
        if self.uri is None and (self.range is not None or self.instruction is not None):
            raise ValueError("range and instruction need a uri")
        return self


class ReviewArgs(Args):
    uri: str | None = None


# --- agentls.ask ---------------------------------------------------------------------------------


async def ask(state: ServerState, *args: Any) -> dict[str, Any]:
    """`agentls.ask {prompt, uri?, range?, instruction?}`: a turn in a new session, in the background."""
    return await start_ask(state, parse_argument(ASK, AskArgs, args))


async def start_ask(state: ServerState, args: AskArgs) -> dict[str, Any]:
    context = _ask_context(state, args) if args.uri else ""
    session = await state.new_session()
    prompt = f"{args.prompt}\n\n{context}".strip()
    instruction = args.instruction

    async def after(stop: StopReason) -> None:
        if instruction is not None and args.uri is not None and stop.kind == "end_turn":
            await remove_instruction(state, args.uri, instruction.text, instruction.line)

    state.spawn(
        run_command_turn(state.channel, session, prompt, f"agentls: {_first_line(args.prompt)}", after=after)
    )
    return {"sessionId": session.id}


def _ask_context(state: ServerState, args: AskArgs) -> str:
    """The file, the lines and the selected text, read from the editor's copy of the document."""
    assert args.uri is not None
    try:
        doc = state.read_document(args.uri)
    except (OSError, ValueError) as err:
        raise JsonRpcInvalidParams(f"Invalid {ASK} argument: cannot read {args.uri}: {err}") from None
    path = to_fs_path(args.uri)
    label = display_path(Path(path), state.root) if path else args.uri
    parts = [f"File: {label}"]
    if args.range is not None:
        rng = args.range.lsp()
        first, last = rng.start.line, last_line(rng)
        if rng.start == rng.end:
            text = doc.lines[first] if first < len(doc.lines) else ""
            parts.append(f"Cursor on line {first + 1}:")
        else:
            text = doc.text_in(rng)  # Columns in the negotiated encoding.
            parts.append(f"Selected lines {first + 1}-{last + 1}:" if last > first else f"Line {first + 1}:")
        if len(text) > MAX_SELECTION_CHARS:
            text = text[:MAX_SELECTION_CHARS] + "\n[… cut; read the file for the rest]"
        parts.append(f"```{doc.language_id}\n{text.rstrip()}\n```")
    if args.instruction is not None:
        parts.append(
            f"This instruction was written as a comment on line {args.instruction.line + 1}: "
            f"`{args.instruction.text.strip()}`. Read the code around it, then carry it out. Do not "
            "delete the comment: it is removed for you when you finish."
        )
    return "\n".join(parts)


# --- agentls.review --------------------------------------------------------------------------------


async def review(state: ServerState, *args: Any) -> dict[str, Any]:
    """`agentls.review {uri?}`: a review turn whose findings become diagnostics."""
    return await start_review(state, parse_argument(REVIEW, ReviewArgs, args))


async def start_review(state: ServerState, args: ReviewArgs) -> dict[str, Any]:
    registry = ToolRegistry([*builtin_tools(), ReportFindingTool()])
    reviewed: list[str] = []
    if args.uri is not None:
        path = to_fs_path(args.uri)
        if not path:
            raise JsonRpcInvalidParams(f"Invalid {REVIEW} argument: uri must be a file: URI, got {args.uri}")
        if state.documents.get(args.uri) is None and not Path(path).is_file():
            raise JsonRpcInvalidParams(f"Invalid {REVIEW} argument: no such file: {path}")
        session = await state.new_session(registry=registry)
        root = session.state.tool_ctx.workspace.root
        prompt = file_review_prompt(display_path(Path(path), root), report_tool=True).prompt
        reviewed.append(uri_for_path(state, Path(path)))
    else:
        session = await state.new_session(registry=registry)
        root = session.state.tool_ctx.workspace.root
        try:
            review = await working_tree_review_prompt(session.state.tool_ctx.workspace, report_tool=True)
        except ReviewError as err:
            raise JsonRpcInvalidParams(f"{REVIEW}: {err}") from None
        reviewed.extend(uri_for_path(state, root / f) for f in review.files)
        prompt = review.prompt
    collector = FindingCollector(state.findings, session.id, root, lambda p: uri_for_path(state, p), reviewed)
    title = f"agentls: review {Path(to_fs_path(args.uri) or '').name}" if args.uri else "agentls: review"
    state.spawn(
        run_command_turn(
            state.channel, session, prompt, title, on_event=collector.on_event, after=collector.finish
        )
    )
    return {"sessionId": session.id}


def uri_for_path(state: ServerState, path: Path) -> str:
    """The uri the editor uses for an open document at `path`, else the canonical file uri."""
    doc = state.documents.by_path(path)
    if doc is not None:
        return doc.uri
    canonical: str | None = from_fs_path(str(path))
    return canonical or path.as_uri()


# --- shared ----------------------------------------------------------------------------------------


def _first_line(text: str, limit: int = 60) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"

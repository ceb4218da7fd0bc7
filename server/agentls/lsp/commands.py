"""`workspace/executeCommand`: `agentls.ask` and `agentls.review`, the standard-LSP way to start a turn.

Both take one argument object, validated here (pygls would reject or mangle a typed one), start
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
from typing import Any, TypeVar

from lsprotocol import types as T
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import from_fs_path, to_fs_path

from agentls.core.commands.review import ReviewError, file_review_prompt, working_tree_review_prompt
from agentls.core.events import StopReason
from agentls.core.session import Session
from agentls.lsp.code_actions import last_line, remove_instruction
from agentls.lsp.documents import tracker
from agentls.lsp.findings import FindingCollector, Findings, findings_for, read_document
from agentls.lsp.protocol import ASK_COMMAND, REVIEW_COMMAND
from agentls.lsp.server import AgentServer  # At runtime: pygls reads the handlers' type hints.
from agentls.lsp.sessions import SessionError
from agentls.lsp.transcript_doc import run_command_turn
from agentls.tools.base import display_path
from agentls.tools.registry import ToolRegistry, builtin_tools
from agentls.tools.report_finding import ReportFindingTool

log = logging.getLogger(__name__)

ASK = ASK_COMMAND
REVIEW = REVIEW_COMMAND
MAX_SELECTION_CHARS = 20_000


class Args(BaseModel):
    """Base of command arguments: unknown keys are ignored (clients add their own)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


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


M = TypeVar("M", bound=Args)


def parse_argument(command: str, model: type[M], args: tuple[Any, ...]) -> M:
    """The command's single argument object, or InvalidParams saying what is wrong."""
    if len(args) > 1:
        raise JsonRpcInvalidParams(f"{command} takes one argument object, got {len(args)} arguments")
    raw = args[0] if args and args[0] is not None else {}
    if not isinstance(raw, dict):
        raise JsonRpcInvalidParams(f"{command} takes one argument object, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'argument'}: {e['msg']}"
            for e in err.errors(include_url=False)
        )
        raise JsonRpcInvalidParams(f"Invalid {command} argument: {problems}") from None


def register(server: AgentServer) -> None:
    findings = findings_for(server)

    @server.command(ASK)
    async def ask(ls: AgentServer, *args: Any) -> dict[str, Any]:
        return await start_ask(ls, parse_argument(ASK, AskArgs, args))

    @server.command(REVIEW)
    async def review(ls: AgentServer, *args: Any) -> dict[str, Any]:
        return await start_review(ls, findings, parse_argument(REVIEW, ReviewArgs, args))


# --- agentls.ask ---------------------------------------------------------------------------------


async def start_ask(server: AgentServer, args: AskArgs) -> dict[str, Any]:
    context = _ask_context(server, args) if args.uri else ""
    session = await _new_session(server)
    prompt = f"{args.prompt}\n\n{context}".strip()
    instruction = args.instruction

    async def after(stop: StopReason) -> None:
        if instruction is not None and args.uri is not None and stop.kind == "end_turn":
            await remove_instruction(server, args.uri, instruction.text, instruction.line)

    server.spawn(
        run_command_turn(server, session, prompt, f"agentls: {_first_line(args.prompt)}", after=after)
    )
    return {"sessionId": session.id}


def _ask_context(server: AgentServer, args: AskArgs) -> str:
    """The file, the lines and the selected text, read from the editor's copy of the document."""
    assert args.uri is not None
    try:
        doc = read_document(server, args.uri)
    except (OSError, ValueError) as err:
        raise JsonRpcInvalidParams(f"Invalid {ASK} argument: cannot read {args.uri}: {err}") from None
    path = to_fs_path(args.uri)
    label = display_path(Path(path), server.state.root) if path else args.uri
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


async def start_review(server: AgentServer, findings: Findings, args: ReviewArgs) -> dict[str, Any]:
    registry = ToolRegistry([*builtin_tools(), ReportFindingTool()])
    reviewed: list[str] = []
    if args.uri is not None:
        path = to_fs_path(args.uri)
        if not path:
            raise JsonRpcInvalidParams(f"Invalid {REVIEW} argument: uri must be a file: URI, got {args.uri}")
        if tracker(server).get(args.uri) is None and not Path(path).is_file():
            raise JsonRpcInvalidParams(f"Invalid {REVIEW} argument: no such file: {path}")
        session = await _new_session(server, registry)
        root = session.state.tool_ctx.workspace.root
        prompt = file_review_prompt(display_path(Path(path), root), report_tool=True).prompt
        reviewed.append(uri_for_path(server, Path(path)))
    else:
        session = await _new_session(server, registry)
        root = session.state.tool_ctx.workspace.root
        try:
            review = await working_tree_review_prompt(session.state.tool_ctx.workspace, report_tool=True)
        except ReviewError as err:
            raise JsonRpcInvalidParams(f"{REVIEW}: {err}") from None
        reviewed.extend(uri_for_path(server, root / f) for f in review.files)
        prompt = review.prompt
    collector = FindingCollector(findings, session.id, root, lambda p: uri_for_path(server, p), reviewed)
    title = f"agentls: review {Path(to_fs_path(args.uri) or '').name}" if args.uri else "agentls: review"
    server.spawn(
        run_command_turn(server, session, prompt, title, on_event=collector.on_event, after=collector.finish)
    )
    return {"sessionId": session.id}


def uri_for_path(server: AgentServer, path: Path) -> str:
    """The uri the editor uses for an open document at `path`, else the canonical file uri."""
    doc = tracker(server).by_path(path)
    if doc is not None:
        return doc.uri
    canonical: str | None = from_fs_path(str(path))
    return canonical or path.as_uri()


# --- shared ----------------------------------------------------------------------------------------


async def _new_session(server: AgentServer, registry: ToolRegistry | None = None) -> Session:
    try:
        return await server.sessions.new(None, registry=registry)
    except SessionError as err:
        raise JsonRpcInvalidParams(str(err)) from None


def _first_line(text: str, limit: int = 60) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"

"""`textDocument/codeAction`: "… with agent" actions for selections, diagnostics and `agent:` comments.

Code actions are how a plain LSP editor starts a turn, so every action carries a `command`
(`agentls.ask` with one argument object, see `commands.py`) and no edit: nothing has to be
computed until the user picks one, no `codeAction/resolve` is needed, and answering is a scan of a
few lines. A turn is never started from this request; it starts when the client executes the
command.

Kinds: "Fix" and instruction comments are `quickfix` (VS Code lists them first, with a light bulb;
Neovim and Helix list every kind), "Refactor" is `refactor.rewrite` (VS Code's Refactor menu).
"Explain" and "Write tests" have no kind: VS Code shows kind-less actions in the light-bulb menu
under "More Actions", whereas `source` actions only appear in its Source Action menu. All actions
are filtered by `context.only` as the spec asks, so a kind-less action shows only unfiltered.

Instruction comments are whole-line comments whose text starts with `agent:` (`# agent: …`,
`// agent: …`, `-- agent: …`, `; agent: …`, `/* agent: … */`, `<!-- agent: … -->`); trailing
comments are not, since a `#` or `//` after code may sit inside a string. When the turn they
start ends normally, `remove_instruction` deletes the comment line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types as T

from agentls.lsp.editor_port import edit_result
from agentls.lsp.findings import FINDING_SOURCE, Finding
from agentls.lsp.positions import units
from agentls.lsp.protocol import ASK_COMMAND

if TYPE_CHECKING:
    from agentls.lsp.state import ServerState

ASK = ASK_COMMAND
MAX_SCANNED_LINES = 500
MAX_DIAGNOSTIC_ACTIONS = 10
MAX_INSTRUCTION_ACTIONS = 5

_INSTRUCTION = re.compile(
    r"^\s*(?:#+|//+|--+|;+|/\*+|<!--)\s*agent:\s*(?P<text>.*?)\s*(?:\*+/|-->)?\s*$", re.IGNORECASE
)

SELECTION_ACTIONS: tuple[tuple[str, T.CodeActionKind | None, str], ...] = (
    (
        "Explain with agent",
        None,
        "Explain the selected code: what it does, how, and anything surprising or risky. "
        "Do not change any file.",
    ),
    (
        "Fix with agent",
        T.CodeActionKind.QuickFix,
        "Find and fix the bugs in the selected code. Keep the change small and explain what was wrong.",
    ),
    (
        "Refactor with agent",
        T.CodeActionKind.RefactorRewrite,
        "Refactor the selected code for readability and maintainability without changing its "
        "behaviour. Run the relevant tests if there are any.",
    ),
    (
        "Write tests with agent",
        None,
        "Write tests for the selected code, following the project's existing test conventions, and run them.",
    ),
)


@dataclass(frozen=True)
class Instruction:
    line: int
    """0-based."""
    text: str
    """What the comment asks, after `agent:`."""
    line_text: str
    """The whole comment line as it was, without its line break: how we find it again later."""


def parse_instruction(line_text: str) -> str | None:
    """The instruction in a comment line (`# agent: …`, `// agent: …`, `<!-- agent: … -->`), if any."""
    match = _INSTRUCTION.match(line_text)
    if match is None or not match["text"]:
        return None
    return match["text"]


def find_instructions(lines: Sequence[str], first: int, last: int) -> list[Instruction]:
    """Instruction comments on lines first..last (0-based, inclusive)."""
    out: list[Instruction] = []
    for index in range(max(first, 0), min(last, first + MAX_SCANNED_LINES, len(lines) - 1) + 1):
        line_text = lines[index].rstrip("\r\n")
        text = parse_instruction(line_text)
        if text is not None:
            out.append(Instruction(index, text, line_text))
    return out


def range_arg(r: T.Range) -> dict[str, Any]:
    return {
        "start": {"line": r.start.line, "character": r.start.character},
        "end": {"line": r.end.line, "character": r.end.character},
    }


def whole_lines(first: int, last: int) -> T.Range:
    """Lines first..last (0-based, inclusive): columns 0 only, so no encoding is involved."""
    return T.Range(start=T.Position(line=first, character=0), end=T.Position(line=last + 1, character=0))


def last_line(r: T.Range) -> int:
    """The last line a range covers: one ending at column 0 of a later line stops before it."""
    if r.end.character == 0 and r.end.line > r.start.line:
        return r.end.line - 1
    return r.end.line


def ask_action(
    title: str,
    kind: T.CodeActionKind | None,
    argument: dict[str, Any],
    diagnostics: list[T.Diagnostic] | None = None,
) -> T.CodeAction:
    return T.CodeAction(
        title=title,
        kind=kind,
        diagnostics=diagnostics,
        command=T.Command(title=title, command=ASK, arguments=[argument]),
    )


def selection_actions(uri: str, selection: T.Range) -> list[T.CodeAction]:
    if selection.start == selection.end:
        return []
    return [
        ask_action(title, kind, {"prompt": prompt, "uri": uri, "range": range_arg(selection)})
        for title, kind, prompt in SELECTION_ACTIONS
    ]


def _short(text: str, limit: int = 60) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _finding_id(diagnostic: T.Diagnostic) -> str | None:
    data = diagnostic.data
    value = data.get("findingId") if isinstance(data, dict) else getattr(data, "findingId", None)
    return value if isinstance(value, str) else None


def diagnostic_actions(
    uri: str, diagnostics: Sequence[T.Diagnostic], lookup: Callable[[str], Finding | None]
) -> list[T.CodeAction]:
    """One "Fix with agent: <message>" per diagnostic, from any source.

    The argument's range is whole lines: Neovim sends diagnostic columns back in bytes whatever
    the negotiated encoding, and lines are all the agent needs. Our own findings are looked up by
    `data.findingId`, never by range, and the prompt names the finding as we stored it.
    """
    out: list[T.CodeAction] = []
    for d in diagnostics[:MAX_DIAGNOSTIC_ACTIONS]:
        finding_id = _finding_id(d)
        finding = lookup(finding_id) if finding_id else None
        if finding is not None:
            first, last = finding.start_line, finding.end_line
            prompt = (
                "Fix this issue found by an agentls review: "
                f"[{finding.severity}] {finding.code}: {finding.message}"
            )
            message = finding.message
        else:
            first, last = d.range.start.line, last_line(d.range)
            source = d.source or "a tool"
            code = f" ({d.code})" if d.code is not None else ""
            origin = "an agentls review" if d.source == FINDING_SOURCE else source
            prompt = f"Fix this problem reported by {origin}{code}: {d.message}"
            message = d.message
        argument = {"prompt": prompt, "uri": uri, "range": range_arg(whole_lines(first, last))}
        out.append(ask_action(f"Fix with agent: {_short(message)}", T.CodeActionKind.QuickFix, argument, [d]))
    return out


def instruction_actions(uri: str, instructions: Sequence[Instruction]) -> list[T.CodeAction]:
    return [
        ask_action(
            f"Run agent instruction: {_short(i.text)}",
            T.CodeActionKind.QuickFix,
            {
                "prompt": i.text,
                "uri": uri,
                "range": range_arg(whole_lines(i.line, i.line)),
                "instruction": {"line": i.line, "text": i.line_text},
            },
        )
        for i in instructions[:MAX_INSTRUCTION_ACTIONS]
    ]


def wanted(action: T.CodeAction, only: Sequence[str] | None) -> bool:
    """`context.only` filtering: a kind matches itself and its sub-kinds (`refactor` ⊃ `refactor.rewrite`)."""
    if not only:
        return True
    kind = action.kind or ""
    return any(o == "" or kind == o or kind.startswith(f"{o}.") for o in only)


def build_actions(
    uri: str,
    selection: T.Range,
    lines: Sequence[str],
    context: T.CodeActionContext,
    lookup: Callable[[str], Finding | None],
) -> list[T.CodeAction]:
    """Every action for one request: instructions first (the most specific), then diagnostics,
    then the selection's actions."""
    instructions = find_instructions(lines, selection.start.line, last_line(selection))
    actions = [
        *instruction_actions(uri, instructions),
        *diagnostic_actions(uri, context.diagnostics, lookup),
        *selection_actions(uri, selection),
    ]
    only = [str(getattr(k, "value", k)) for k in context.only] if context.only else None
    return [a for a in actions if wanted(a, only)]


OPTIONS = T.CodeActionOptions(
    code_action_kinds=[T.CodeActionKind.QuickFix, T.CodeActionKind.RefactorRewrite],
    resolve_provider=False,
)
"""What `initialize` announces for `textDocument/codeAction`."""


async def code_action(state: ServerState, params: T.CodeActionParams) -> list[T.CodeAction] | None:
    uri = params.text_document.uri
    try:
        lines = state.read_document(uri).lines
    except (OSError, ValueError):  # Not open and not readable: no instruction comments then.
        lines = []
    actions = build_actions(uri, params.range, lines, params.context, state.findings.store.get)
    return actions or None


def locate_instruction(lines: Sequence[str], line_text: str, near: int) -> int | None:
    """The line that still reads exactly `line_text`, closest to where it was (edits move it)."""
    matches = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == line_text]
    return min(matches, key=lambda i: (abs(i - near), i)) if matches else None


def deletion_range(lines: Sequence[str], line: int, encoding: str) -> T.Range:
    """The range that deletes line `line` and its line break, columns in the client's encoding."""
    if lines[line].endswith(("\n", "\r")) or line == 0:
        end = T.Position(line=line + 1, character=0)
        if not lines[line].endswith(("\n", "\r")):  # The only line, without a line break.
            end = T.Position(line=0, character=units(lines[0], encoding))
        return T.Range(start=T.Position(line=line, character=0), end=end)
    # The last line has no line break: delete the one before it instead.
    previous = lines[line - 1].rstrip("\r\n")
    return T.Range(
        start=T.Position(line=line - 1, character=units(previous, encoding)),
        end=T.Position(line=line, character=units(lines[line], encoding)),
    )


async def remove_instruction(state: ServerState, uri: str, line_text: str, near: int) -> bool:
    """Delete the instruction comment once its turn is done: found again by its exact text (the
    agent's edits may have moved it), deleted at the document's current version. A comment that is
    gone or was changed is left alone, and the log says so."""
    client = state.channel
    try:
        doc = state.read_document(uri)
    except (OSError, ValueError) as err:
        client.log(f"agentls: cannot read {uri} to remove the instruction comment: {err}")
        return False
    line = locate_instruction(doc.lines, line_text, near)
    if line is None:
        client.log(f"agentls: the instruction comment in {uri} changed or is gone; left as is")
        return False
    edit = T.TextEdit(range=deletion_range(doc.lines, line, doc.encoding), new_text="")
    if client.features.versioned_edits:
        identifier = T.OptionalVersionedTextDocumentIdentifier(uri=uri, version=doc.version)
        change = T.WorkspaceEdit(
            document_changes=[T.TextDocumentEdit(text_document=identifier, edits=[edit])]
        )
    else:
        change = T.WorkspaceEdit(changes={uri: [edit]})
    try:
        result = edit_result(
            await client.request(
                T.WORKSPACE_APPLY_EDIT,
                T.ApplyWorkspaceEditParams(edit=change, label="Remove agent instruction"),
            )
        )
    except Exception as err:
        client.log(f"agentls: could not remove the instruction comment in {uri}: {err}")
        return False
    if not result.applied:
        client.log(f"agentls: the editor refused to remove the instruction comment in {uri}")
    return bool(result.applied)

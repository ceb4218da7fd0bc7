"""Code actions, `agentls.ask`/`agentls.review` arguments, instruction comments, and the transcript
document: the pure functions behind them, no server process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as T
from pygls.exceptions import JsonRpcInvalidParams

from agentls.core.errors import ErrorCause
from agentls.core.events import EndTurn, Errored, MaxTurns
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.lsp.code_actions import (
    build_actions,
    deletion_range,
    diagnostic_actions,
    find_instructions,
    locate_instruction,
    parse_instruction,
    selection_actions,
)
from agentls.lsp.commands import AskArgs, ReviewArgs
from agentls.lsp.findings import Finding, lsp_lines
from agentls.lsp.params import parse_argument
from agentls.lsp.transcript_doc import (
    MESSAGE_LIMIT,
    TranscriptRecorder,
    message_text,
    transcript_path,
    write_transcript,
)
from tests.core.fakes import LookTool, Timeline, collect, make_session

URI = "file:///project/app.py"


def rng(sl: int, sc: int, el: int, ec: int) -> T.Range:
    return T.Range(start=T.Position(line=sl, character=sc), end=T.Position(line=el, character=ec))


def argument(action: T.CodeAction) -> dict[str, Any]:
    assert action.command is not None and action.command.command == "agentls.ask"
    assert action.edit is None
    args = action.command.arguments
    assert args is not None and len(args) == 1
    result: dict[str, Any] = args[0]
    return result


def no_findings(finding_id: str) -> Finding | None:
    return None


# --- Instruction comments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("# agent: handle empty input", "handle empty input"),
        ("    ## Agent:   add a docstring  ", "add a docstring"),
        ("// agent: use a map here", "use a map here"),
        ("\t/// agent: doc comment", "doc comment"),
        ("-- agent: index this column", "index this column"),
        (";; agent: tail-recursive please", "tail-recursive please"),
        ("/* agent: check bounds */", "check bounds"),
        ("/** agent: explain */", "explain"),
        ("<!-- agent: add alt text -->", "add alt text"),
    ],
)
def test_instruction_comments_in_several_languages(line: str, expected: str) -> None:
    assert parse_instruction(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "# agent:",
        "# agentx: no",
        "# the agent: is not at the start",
        "x = 1  # agent: trailing comments are not instructions",
        "s = '# agent: inside a string'",
        "agent: not a comment",
        "",
    ],
)
def test_not_instruction_comments(line: str) -> None:
    assert parse_instruction(line) is None


def test_find_instructions_scans_only_the_given_lines() -> None:
    lines = lsp_lines("# agent: one\nx = 1\r\n// agent: two\r\n# agent: three\n")
    found = find_instructions(lines, 1, 2)
    assert [(i.line, i.text, i.line_text) for i in found] == [(2, "two", "// agent: two")]
    assert [i.line for i in find_instructions(lines, 0, 99)] == [0, 2, 3]


def test_instruction_is_found_again_after_edits_moved_it() -> None:
    lines = lsp_lines("# agent: fix\nnew\nnew\nx = 1\n# agent: fix\n")
    assert locate_instruction(lines, "# agent: fix", near=3) == 4
    assert locate_instruction(lines, "# agent: fix", near=1) == 0
    assert locate_instruction(lines, "# agent: other", near=0) is None


@pytest.mark.parametrize(
    ("text", "line", "encoding", "expected"),
    [
        ("a\n# agent: x\nb\n", 1, "utf-16", rng(1, 0, 2, 0)),
        ("a\n# agent: x\n", 1, "utf-16", rng(1, 0, 2, 0)),
        ("aé😀\n# agent: x", 1, "utf-16", rng(0, 4, 1, 10)),
        ("aé😀\n# agent: x", 1, "utf-8", rng(0, 7, 1, 10)),
        ("# agent: x", 0, "utf-16", rng(0, 0, 0, 10)),
    ],
)
def test_deletion_range_removes_the_line_and_one_line_break(
    text: str, line: int, encoding: str, expected: T.Range
) -> None:
    assert deletion_range(lsp_lines(text), line, encoding) == expected


# --- Actions ----------------------------------------------------------------------------------------


def test_selection_gets_four_actions_with_their_kinds() -> None:
    selection = rng(2, 4, 5, 0)
    actions = selection_actions(URI, selection)
    assert [(a.title, a.kind) for a in actions] == [
        ("Explain with agent", None),
        ("Fix with agent", T.CodeActionKind.QuickFix),
        ("Refactor with agent", T.CodeActionKind.RefactorRewrite),
        ("Write tests with agent", None),
    ]
    for action in actions:
        arg = argument(action)
        assert arg["uri"] == URI
        assert arg["range"] == {"start": {"line": 2, "character": 4}, "end": {"line": 5, "character": 0}}
        assert arg["prompt"]
        AskArgs.model_validate(arg)  # What the code action sends, the command accepts.


def test_empty_selection_gets_no_selection_actions() -> None:
    assert selection_actions(URI, rng(3, 2, 3, 2)) == []


def test_every_diagnostic_gets_a_fix_action() -> None:
    foreign = T.Diagnostic(
        range=rng(4, 2, 4, 9), message="undefined name 'y'", source="pyflakes", code="F821"
    )
    actions = diagnostic_actions(URI, [foreign], no_findings)
    assert len(actions) == 1
    action = actions[0]
    assert action.title == "Fix with agent: undefined name 'y'"
    assert action.kind == T.CodeActionKind.QuickFix
    assert action.diagnostics == [foreign]
    arg = argument(action)
    assert arg["prompt"] == "Fix this problem reported by pyflakes (F821): undefined name 'y'"
    assert arg["range"] == {"start": {"line": 4, "character": 0}, "end": {"line": 5, "character": 0}}


def test_agentls_finding_is_looked_up_by_id_not_by_range() -> None:
    stored = Finding(
        id="fid-1",
        session_id="s1",
        uri=URI,
        start_line=7,
        end_line=8,
        severity="error",
        code="null-deref",
        message="user may be None here",
    )
    # As Neovim sends it back: byte columns, possibly another line span than we published.
    echoed = T.Diagnostic(
        range=rng(7, 0, 7, 40),
        message="user may be None here",
        source="agentls",
        code="null-deref",
        data={"findingId": "fid-1", "sessionId": "s1"},
    )
    actions = diagnostic_actions(URI, [echoed], {"fid-1": stored}.get)
    arg = argument(actions[0])
    assert (
        arg["prompt"]
        == "Fix this issue found by an agentls review: [error] null-deref: user may be None here"
    )
    assert arg["range"] == {"start": {"line": 7, "character": 0}, "end": {"line": 9, "character": 0}}
    assert actions[0].title == "Fix with agent: user may be None here"


def test_unknown_finding_falls_back_to_the_diagnostic() -> None:
    stale = T.Diagnostic(range=rng(1, 0, 1, 3), message="gone", source="agentls", data={"findingId": "nope"})
    arg = argument(diagnostic_actions(URI, [stale], no_findings)[0])
    assert arg["prompt"] == "Fix this problem reported by an agentls review: gone"


def test_instruction_under_the_cursor_gets_a_run_action_first() -> None:
    lines = lsp_lines("def f(x):\n    # agent: handle empty input\n    return x[0]\n")
    context = T.CodeActionContext(diagnostics=[])
    actions = build_actions(URI, rng(1, 5, 1, 5), lines, context, no_findings)
    assert [a.title for a in actions] == ["Run agent instruction: handle empty input"]
    arg = argument(actions[0])
    assert arg["prompt"] == "handle empty input"
    assert arg["instruction"] == {"line": 1, "text": "    # agent: handle empty input"}
    AskArgs.model_validate(arg)


def test_all_kinds_together_and_the_only_filter() -> None:
    lines = lsp_lines("# agent: speed up\nx = slow()\n")
    diag = T.Diagnostic(range=rng(1, 0, 1, 1), message="slow", source="lint")
    selection = rng(0, 0, 1, 4)
    every = build_actions(URI, selection, lines, T.CodeActionContext(diagnostics=[diag]), no_findings)
    assert [a.title for a in every] == [
        "Run agent instruction: speed up",
        "Fix with agent: slow",
        "Explain with agent",
        "Fix with agent",
        "Refactor with agent",
        "Write tests with agent",
    ]
    refactor_only = T.CodeActionContext(diagnostics=[diag], only=[T.CodeActionKind.Refactor])
    assert [a.title for a in build_actions(URI, selection, lines, refactor_only, no_findings)] == [
        "Refactor with agent"
    ]


# --- Command arguments -----------------------------------------------------------------------------


def test_ask_argument_is_validated() -> None:
    args = parse_argument("agentls.ask", AskArgs, ({"prompt": "hi", "uri": URI, "extra": 1},))
    assert args.prompt == "hi" and args.uri == URI and args.range is None
    assert parse_argument("agentls.review", ReviewArgs, ()).uri is None
    assert parse_argument("agentls.review", ReviewArgs, (None,)).uri is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ((), "prompt: Field required"),
        (({"prompt": ""},), "prompt: String should have at least 1 character"),
        (({"prompt": "a"}, {"prompt": "b"}), "takes one argument object, got 2 arguments"),
        (("just a string",), "takes one argument object, got str"),
        (
            (
                {
                    "prompt": "a",
                    "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                },
            ),
            "need a uri",
        ),
        (
            (
                {
                    "prompt": "a",
                    "uri": URI,
                    "range": {"start": {"line": 3, "character": 0}, "end": {"line": 1, "character": 0}},
                },
            ),
            "range end is before its start",
        ),
        (
            ({"prompt": "a", "uri": URI, "range": {"start": {"line": -1, "character": 0}}},),
            "range.start.line",
        ),
    ],
)
def test_bad_ask_arguments_are_invalid_params(raw: tuple[Any, ...], message: str) -> None:
    with pytest.raises(JsonRpcInvalidParams, match=message):
        parse_argument("agentls.ask", AskArgs, raw)


# --- The transcript document -----------------------------------------------------------------------


async def test_transcript_lists_text_and_tool_calls_in_order(project: Path) -> None:
    model = ScriptedModel(
        [
            Reply([Text("Let me look."), ToolCall("Look", {"label": "a"}), ToolCall("Nope", {})]),
            Reply([Text("It does X.")]),
        ]
    )
    session = await make_session(project, model, tools=[LookTool(Timeline())])
    recorder = TranscriptRecorder("agentls: explain", "Explain this\n\nFile: app.py")
    for event in await collect(session, "Explain this"):
        recorder.on_event(event)
    markdown = recorder.render(session.id, EndTurn())
    assert markdown.startswith("# agentls: explain\n\nSession `")
    body = markdown[markdown.index("## Agent") :]
    assert body.index("Let me look.") < body.index("- `Look a`: ok") < body.index("It does X.")
    assert "- `Nope`: error: " in body
    assert "## Prompt\n\nExplain this\n\nFile: app.py\n" in markdown
    assert markdown.rstrip().endswith("## Result\n\nfinished (end_turn)")


def test_transcript_of_a_turn_that_ended_early() -> None:
    recorder = TranscriptRecorder("t", "p")
    markdown = recorder.render("s1", MaxTurns(limit=3))
    assert "*(no answer)*" in markdown
    assert "reached the limit of 3 model calls" in markdown


def test_transcript_is_written_under_agentls_home(tmp_path: Path) -> None:
    path = write_transcript("2026-s1", "# hello\n")
    assert path == transcript_path("2026-s1") == tmp_path / "agentls-home" / "transcripts" / "2026-s1.md"
    assert path.read_text() == "# hello\n"
    write_transcript("2026-s1", "# again\n")
    assert path.read_text() == "# again\n"
    assert [p.name for p in path.parent.iterdir()] == ["2026-s1.md"]  # No temp file left behind.


def test_message_is_trimmed_and_points_at_the_transcript(tmp_path: Path) -> None:
    path = tmp_path / "t.md"
    short = message_text("All good.", EndTurn(), path)
    assert short == f"agentls: All good.\n\nFull transcript: {path}"
    long = message_text("x" * 5000, EndTurn(), path)
    assert len(long) < MESSAGE_LIMIT + 200 and long.endswith(f"Full transcript: {path}")
    failed = message_text("", Errored(cause=ErrorCause(kind="authentication", message="bad key")), None)
    assert failed == "agentls: (no answer)\n\n(stopped by an error (authentication): bad key)"

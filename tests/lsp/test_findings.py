"""Findings: line arithmetic on edits, diagnostics in each encoding, the ReportFinding tool, and
how a review turn's events become findings (a real turn against a ScriptedModel, no server)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lsprotocol import types as T

from agentls.core.events import EndTurn, ToolCallFinished
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.lsp.findings import (
    DocumentView,
    Finding,
    FindingCollector,
    FindingStore,
    apply_edit,
    line_edit,
    lsp_lines,
    to_diagnostic,
)
from agentls.tools.base import ToolContext, ToolError
from agentls.tools.report_finding import ReportFindingInput, ReportFindingTool
from tests.core.fakes import collect, make_session

URI = "file:///project/app.py"


def finding(first: int, last: int | None = None, *, fid: str = "") -> Finding:
    return Finding(
        id=fid or f"f{first}",
        session_id="s1",
        uri=URI,
        start_line=first,
        end_line=first if last is None else last,
        severity="warning",
        code="null-deref",
        message="x may be None",
    )


def partial(sl: int, sc: int, el: int, ec: int, text: str) -> T.TextDocumentContentChangePartial:
    return T.TextDocumentContentChangePartial(
        range=T.Range(start=T.Position(line=sl, character=sc), end=T.Position(line=el, character=ec)),
        text=text,
    )


def lines_of(findings: list[Finding]) -> list[tuple[str, int, int]]:
    return [(f.id, f.start_line, f.end_line) for f in findings]


# --- Moving and dropping -------------------------------------------------------------------------


def test_line_inserted_above_shifts_findings_below() -> None:
    before = [finding(1), finding(2), finding(5)]
    after = apply_edit(before, line_edit(partial(2, 0, 2, 0, "import os\n")))
    assert lines_of(after) == [("f1", 1, 1), ("f2", 3, 3), ("f5", 6, 6)]


def test_line_break_typed_at_the_end_of_the_line_above_shifts() -> None:
    after = apply_edit([finding(5), finding(9)], line_edit(partial(4, 12, 4, 12, "\n    y = 2")))
    assert lines_of(after) == [("f5", 6, 6), ("f9", 10, 10)]


def test_edit_inside_drops_only_the_finding_it_touches() -> None:
    before = [finding(2), finding(4, 6, fid="multi"), finding(8)]
    after = apply_edit(before, line_edit(partial(5, 2, 5, 4, "zz")))
    assert lines_of(after) == [("f2", 2, 2), ("f8", 8, 8)]


def test_whole_lines_inserted_inside_a_multiline_finding_drop_it() -> None:
    after = apply_edit([finding(4, 6, fid="multi")], line_edit(partial(5, 0, 5, 0, "new\n")))
    assert after == []


def test_delete_across_lines_drops_touched_and_pulls_up_the_rest() -> None:
    before = [finding(2), finding(2, 3, fid="edge"), finding(4), finding(6), finding(8)]
    # Delete lines 3, 4 and 5 entirely: line 6 keeps its content and becomes line 3.
    after = apply_edit(before, line_edit(partial(3, 0, 6, 0, "")))
    assert lines_of(after) == [("f2", 2, 2), ("f6", 3, 3), ("f8", 5, 5)]


def test_delete_ending_inside_a_line_drops_that_line_too() -> None:
    after = apply_edit([finding(6), finding(7)], line_edit(partial(3, 0, 6, 2, "")))
    assert lines_of(after) == [("f7", 4, 4)]


def test_full_document_change_drops_every_finding() -> None:
    whole = T.TextDocumentContentChangeWholeDocument(text="new text\n")
    assert line_edit(whole) is None
    assert apply_edit([finding(0), finding(9)], None) == []


def test_store_applies_changes_in_order_and_reports_whether_anything_moved() -> None:
    store = FindingStore()
    store.replace(URI, [finding(3), finding(10)])
    # Two changes in one didChange: each range is relative to the text after the previous one.
    assert store.apply_changes(URI, [partial(0, 0, 0, 0, "a\nb\n"), partial(5, 0, 5, 1, "X")])
    assert lines_of(store.for_uri(URI)) == [("f10", 12, 12)]
    assert not store.apply_changes(URI, [partial(20, 0, 20, 3, "tail")])
    assert not store.apply_changes("file:///project/other.py", [partial(0, 0, 0, 0, "x\n")])


def test_store_matches_uris_however_they_are_percent_encoded() -> None:
    store = FindingStore()
    store.add(
        Finding.new(
            session_id="s",
            uri="file:///p/a%20b.py",
            line=2,
            end_line=None,
            severity="info",
            code="c",
            message="m",
        )
    )
    assert len(store.for_uri("file:///p/a b.py")) == 1
    assert store.published_uri("file:///p/a b.py") == "file:///p/a%20b.py"
    found = store.for_uri("file:///p/a b.py")[0]
    assert store.get(found.id) == found
    assert (found.start_line, found.end_line) == (1, 1)


# --- Diagnostics -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "end"), [("utf-16", 11), ("utf-8", 13), ("utf-32", 10)])
def test_diagnostic_covers_whole_lines_in_the_negotiated_encoding(encoding: str, end: int) -> None:
    lines = lsp_lines("a = 1\nb = f('😀')\nc = 3\n")  # Line 1: 10 code points, one of them an emoji.
    diagnostic = to_diagnostic(finding(0, 1, fid="id-1"), lines, encoding)
    assert diagnostic.range == T.Range(
        start=T.Position(line=0, character=0), end=T.Position(line=1, character=end)
    )
    assert diagnostic.source == "agentls"
    assert diagnostic.code == "null-deref"
    assert diagnostic.severity == T.DiagnosticSeverity.Warning
    assert diagnostic.message == "x may be None"
    assert diagnostic.data == {"findingId": "id-1", "sessionId": "s1"}


def test_diagnostic_of_a_finding_past_the_end_is_clamped() -> None:
    diagnostic = to_diagnostic(finding(7, 9), lsp_lines("one\ntwo"), "utf-16")
    assert diagnostic.range.start.line == 1
    assert diagnostic.range.end == T.Position(line=1, character=3)


def test_lines_split_only_at_lsp_line_breaks() -> None:
    assert lsp_lines("a\x0cb\r\nc\u2028d\re\n") == ["a\x0cb\r\n", "c\u2028d\r", "e\n"]
    assert lsp_lines("") == []


@pytest.mark.parametrize(("encoding", "start", "end"), [("utf-16", 7, 9), ("utf-8", 9, 13)])
def test_document_view_reads_a_client_range(encoding: str, start: int, end: int) -> None:
    view = DocumentView(URI, lsp_lines("x\ns = '😀é😀'\n"), 1, "python", encoding)
    text = view.text_in(
        T.Range(start=T.Position(line=1, character=start), end=T.Position(line=1, character=end))
    )
    assert text == "é😀"
    past_end = T.Range(start=T.Position(line=0, character=0), end=T.Position(line=1, character=99))
    assert view.text_in(past_end) == "x\ns = '😀é😀'"


# --- The ReportFinding tool ------------------------------------------------------------------------


async def test_report_finding_accepts_real_lines(project: Path, tool_ctx: ToolContext) -> None:
    (project / "app.py").write_text("a\nb\nc\n")
    args = ReportFindingInput(
        file_path="app.py", line=2, end_line=3, severity="error", code="off-by-one", message="m"
    )
    out = await ReportFindingTool().call(args, tool_ctx)
    assert not out.is_error
    assert "error off-by-one at app.py:2-3" in out.content


@pytest.mark.parametrize(("line", "end_line", "which"), [(4, None, "line 4"), (2, 7, "end_line 7")])
async def test_report_finding_past_the_end_is_refused(
    project: Path, tool_ctx: ToolContext, line: int, end_line: int | None, which: str
) -> None:
    (project / "app.py").write_text("a\nb\nc\n")
    args = ReportFindingInput(
        file_path="app.py", line=line, end_line=end_line, severity="info", code="x", message="m"
    )
    with pytest.raises(ToolError, match=f"{which} is past the end of app.py, which has 3 line"):
        await ReportFindingTool().call(args, tool_ctx)


@pytest.mark.parametrize(
    "bad",
    [
        {"line": 0},
        {"line": 3, "end_line": 2},
        {"code": "Not Kebab"},
        {"severity": "fatal"},
        {"message": ""},
    ],
)
def test_report_finding_input_is_validated(bad: dict[str, object]) -> None:
    raw = {"file_path": "a.py", "line": 1, "severity": "info", "code": "c", "message": "m", **bad}
    with pytest.raises(ValueError):
        ReportFindingInput.model_validate(raw)


# --- From a review turn's events to findings -------------------------------------------------------


@dataclass
class Sink:
    calls: list[tuple[str, str, list[Finding]]] = field(default_factory=list)

    def replace(self, uri: str, findings: list[Finding]) -> None:
        self.calls.append(("replace", uri, list(findings)))

    def add(self, finding: Finding) -> None:
        self.calls.append(("add", finding.uri, [finding]))


def report(path: str, line: int, code: str, **extra: object) -> ToolCall:
    return ToolCall(
        "ReportFinding",
        {
            "file_path": path,
            "line": line,
            "severity": "warning",
            "code": code,
            "message": f"{code}!",
            **extra,
        },
    )


async def test_review_turn_events_become_findings(project: Path) -> None:
    (project / "app.py").write_text("a\nb\nc\n")
    (project / "lib.py").write_text("x\n")
    model = ScriptedModel(
        [
            Reply(
                [report("app.py", 2, "first"), report("app.py", 9, "past-end"), report("lib.py", 1, "other")]
            ),
            Reply([report(str(project / "app.py"), 1, "second", end_line=3)]),
            Reply([Text("3 issues")]),
        ]
    )
    session = await make_session(project, model, tools=[ReportFindingTool()])
    sink = Sink()
    reviewed = [(project / "app.py").as_uri(), (project / "lib.py").as_uri(), (project / "clean.py").as_uri()]
    collector = FindingCollector(sink, session.id, project, lambda p: p.as_uri(), reviewed)
    events = await collect(session, "review")
    for event in events:
        collector.on_event(event)
    refused = [e for e in events if isinstance(e, ToolCallFinished) and e.is_error]
    assert len(refused) == 1 and "past the end" in refused[0].output

    app, lib = reviewed[0], reviewed[1]
    assert [
        (kind, uri, [(f.code, f.start_line, f.end_line) for f in fs]) for kind, uri, fs in sink.calls
    ] == [
        ("replace", app, [("first", 1, 1)]),
        ("replace", lib, [("other", 0, 0)]),
        ("add", app, [("second", 0, 2)]),
    ]
    assert all(f.session_id == session.id for _, _, fs in sink.calls for f in fs)

    await collector.finish(EndTurn())
    assert sink.calls[-1] == ("replace", reviewed[2], [])  # Reviewed, nothing found: cleared.


async def test_cancelled_review_does_not_clear_files_it_did_not_report_on(project: Path) -> None:
    from agentls.core.events import Cancelled

    sink = Sink()
    collector = FindingCollector(sink, "s", project, lambda p: p.as_uri(), ["file:///x.py"])
    await collector.finish(Cancelled())
    assert sink.calls == []


async def test_reviewed_file_spelled_differently_is_not_cleared_after_its_finding(project: Path) -> None:
    (project / "a b.py").write_text("x\n")
    model = ScriptedModel([Reply([report("a b.py", 1, "spaced")]), Reply([Text("done")])])
    session = await make_session(project, model, tools=[ReportFindingTool()])
    sink = Sink()
    encoded = (project / "a b.py").as_uri()  # file:///…/a%20b.py
    collector = FindingCollector(sink, session.id, project, lambda p: f"file://{p}", [encoded])
    for event in await collect(session, "review"):
        collector.on_event(event)
    await collector.finish(EndTurn())
    assert [(kind, len(fs)) for kind, _, fs in sink.calls] == [("replace", 1)]

"""Review findings as diagnostics: kept per document, published, and moved or dropped on edits.

A finding is the output of a `ReportFinding` call in a review session, collected from the turn's
events by `FindingCollector` (wired up by `agentls.review` in `commands.py`). It is
published with `textDocument/publishDiagnostics` (`source: "agentls"`, `data.findingId`), so any
editor shows it and sends it back in `textDocument/codeAction`, where we look it up by id: Neovim
sends diagnostic ranges back in byte columns, so ranges cannot identify a finding.

Findings are whole lines, so they survive edits elsewhere in the file by simple line arithmetic:
an edit above shifts them, an edit touching their lines drops them (the code they describe is
gone or changed, and a stale finding is worse than none), and a full-document change drops all
of them. The rules err on dropping: typing a line break at the end of a flagged line drops it.

Line numbers are computed on LSP line breaks only (`lsp_lines`), never `str.splitlines`.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import unquote

from lsprotocol import types as T
from pydantic import ValidationError

from agentls.core.events import AgentEvent, StopReason, ToolCallFinished, ToolCallStarted
from agentls.lsp.documents import DocumentTracker, uri_to_path
from agentls.lsp.positions import column_offset, units
from agentls.tools.base import resolve_path
from agentls.tools.report_finding import REPORT_FINDING, ReportFindingInput
from agentls.workspace.files import read_regular
from agentls.workspace.text import decode

if TYPE_CHECKING:
    from agentls.lsp.client_channel import ClientChannel

log = logging.getLogger(__name__)

FINDING_SOURCE = "agentls"

Severity = Literal["error", "warning", "info", "hint"]

SEVERITIES: dict[Severity, T.DiagnosticSeverity] = {
    "error": T.DiagnosticSeverity.Error,
    "warning": T.DiagnosticSeverity.Warning,
    "info": T.DiagnosticSeverity.Information,
    "hint": T.DiagnosticSeverity.Hint,
}


@dataclass(frozen=True)
class Finding:
    id: str
    session_id: str
    uri: str
    start_line: int
    """0-based, like LSP positions."""
    end_line: int
    """0-based, inclusive."""
    severity: Severity
    code: str
    message: str

    @classmethod
    def new(
        cls,
        *,
        session_id: str,
        uri: str,
        line: int,
        end_line: int | None,
        severity: Severity,
        code: str,
        message: str,
    ) -> Finding:
        """A finding from the tool's 1-based, inclusive line numbers."""
        return cls(
            id=str(uuid.uuid4()),
            session_id=session_id,
            uri=uri,
            start_line=line - 1,
            end_line=(end_line or line) - 1,
            severity=severity,
            code=code,
            message=message,
        )


@dataclass(frozen=True)
class LineEdit:
    """One incremental change: the text from (start_line, start_char) to (end_line, end_char) was
    replaced by `text`. Only line numbers, whether the end is at a line start, and the newlines of
    `text` matter, so columns need no encoding conversion."""

    start_line: int
    end_line: int
    end_at_line_start: bool
    text: str


def line_edit(change: T.TextDocumentContentChangeEvent) -> LineEdit | None:
    """The change in line terms; None for a full-document replacement."""
    if isinstance(change, T.TextDocumentContentChangePartial):
        r = change.range
        return LineEdit(r.start.line, r.end.line, r.end.character == 0, change.text)
    return None


def apply_edit(findings: Sequence[Finding], edit: LineEdit | None) -> list[Finding]:
    """The findings after one edit: above it kept, below it shifted, touched by it dropped."""
    if edit is None:
        return []
    # If the replaced text ends at a line start and the new text is empty or ends with a line
    # break, the line the edit ends on keeps its content: it only moves (a line inserted above,
    # whole lines deleted above).
    keeps_end_line = edit.end_at_line_start and (edit.text == "" or edit.text.endswith("\n"))
    first_moved = edit.end_line if keeps_end_line else edit.end_line + 1
    delta = edit.text.count("\n") - (edit.end_line - edit.start_line)
    out: list[Finding] = []
    for f in findings:
        if f.end_line < edit.start_line:
            out.append(f)
        elif f.start_line >= first_moved:
            out.append(replace(f, start_line=f.start_line + delta, end_line=f.end_line + delta))
    return out


def to_diagnostic(finding: Finding, lines: Sequence[str], encoding: str) -> T.Diagnostic:
    """The finding as a diagnostic over its whole lines, columns in the client's encoding."""
    start = min(finding.start_line, max(len(lines) - 1, 0))
    end = min(max(finding.end_line, start), max(len(lines) - 1, 0))
    last = lines[end].rstrip("\r\n") if end < len(lines) else ""
    return T.Diagnostic(
        range=T.Range(
            start=T.Position(line=start, character=0),
            end=T.Position(line=end, character=units(last, encoding)),
        ),
        message=finding.message,
        severity=SEVERITIES[finding.severity],
        code=finding.code,
        source=FINDING_SOURCE,
        data={"findingId": finding.id, "sessionId": finding.session_id},
    )


_LINE_END = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


def lsp_lines(text: str) -> list[str]:
    """The lines of `text` with their line breaks, split only where the LSP splits (\\r\\n, \\r,
    \\n). `str.splitlines`, which pygls' `TextDocument.lines` uses, also splits at form feeds and
    U+2028, which would put every line number after such a character off by one."""
    lines = _LINE_END.split(text)
    return lines[:-1] if lines and lines[-1] == "" else lines


@dataclass(frozen=True)
class DocumentView:
    """A document's text as lines, with what converting its positions needs."""

    uri: str
    lines: list[str]
    version: int | None
    language_id: str
    encoding: str
    """The client's position encoding (`utf-16`, `utf-8` or `utf-32`)."""

    def offset_at(self, position: T.Position) -> int:
        """The code-point offset of a client position (past the end of a line: its end)."""
        if position.line >= len(self.lines):
            return sum(len(line) for line in self.lines)
        line = self.lines[position.line]
        content = line.rstrip("\r\n")
        column = column_offset(content, position.character, self.encoding)
        if column < len(content) and units(content[:column], self.encoding) < position.character:
            column += 1  # Inside a character (half a surrogate pair): the range takes all of it.
        return sum(len(x) for x in self.lines[: position.line]) + column

    def text_in(self, r: T.Range) -> str:
        text = "".join(self.lines)
        return text[self.offset_at(r.start) : max(self.offset_at(r.start), self.offset_at(r.end))]


def read_document(documents: DocumentTracker, uri: str, encoding: str) -> DocumentView:
    """The editor's copy of an open document, else the file on disk; columns in `encoding` (the
    client's); raises OSError/ValueError."""
    tracked = documents.get(uri)  # The one document store (pygls keeps none, see protocol.py).
    if tracked is not None:
        return DocumentView(uri, lsp_lines(tracked.text), tracked.version, tracked.language_id, encoding)
    path = uri_to_path(uri)
    if path is None:
        raise ValueError(f"not a file uri: {uri}")
    data = read_regular(path)  # Not open: the file on disk.
    if data is None:
        raise FileNotFoundError(f"no file at {path}")
    return DocumentView(uri, lsp_lines(decode(data).text), None, "", encoding)


def _key(uri: str) -> str:
    # pygls keys its documents by the unquoted uri; editors differ in what they percent-encode.
    return unquote(uri)


class FindingStore:
    """Findings per document. Pure bookkeeping: nothing here talks to the client."""

    def __init__(self) -> None:
        self._by_uri: dict[str, list[Finding]] = {}
        self._published_as: dict[str, str] = {}
        """The uri we publish a document's findings under (the first form we saw), so a client that
        spells it differently in didChange does not end up with two sets of diagnostics."""

    def published_uri(self, uri: str) -> str:
        return self._published_as.get(_key(uri), uri)

    def for_uri(self, uri: str) -> list[Finding]:
        return list(self._by_uri.get(_key(uri), ()))

    def get(self, finding_id: str) -> Finding | None:
        for findings in self._by_uri.values():
            for f in findings:
                if f.id == finding_id:
                    return f
        return None

    def replace(self, uri: str, findings: Sequence[Finding]) -> None:
        self._by_uri[_key(uri)] = list(findings)
        self._published_as.setdefault(_key(uri), uri)

    def add(self, finding: Finding) -> None:
        self._by_uri.setdefault(_key(finding.uri), []).append(finding)
        self._published_as.setdefault(_key(finding.uri), finding.uri)

    def apply_changes(self, uri: str, changes: Sequence[T.TextDocumentContentChangeEvent]) -> bool:
        """Apply the changes of one didChange in order; True if any finding moved or went."""
        before = self._by_uri.get(_key(uri))
        if not before:
            return False
        after = list(before)
        for change in changes:
            after = apply_edit(after, line_edit(change))
        self._by_uri[_key(uri)] = after
        return after != before


class Findings:
    """The store of one server, published to its client and kept in step with edits (`on_change`
    is one of the server's change listeners)."""

    def __init__(self, channel: ClientChannel, documents: DocumentTracker) -> None:
        self._channel = channel
        self._documents = documents
        self.store = FindingStore()

    def replace(self, uri: str, findings: Sequence[Finding]) -> None:
        self.store.replace(uri, findings)
        self.publish(uri)

    def add(self, finding: Finding) -> None:
        self.store.add(finding)
        self.publish(finding.uri)

    def publish(self, uri: str) -> None:
        uri = self.store.published_uri(uri)
        encoding = self._channel.features.position_encoding
        try:
            doc = read_document(self._documents, uri, encoding)  # Not open: read from disk.
        except (OSError, ValueError):
            doc = DocumentView(uri, [], None, "", encoding)
        diagnostics = [to_diagnostic(f, doc.lines, doc.encoding) for f in self.store.for_uri(uri)]
        self._channel.notify(
            T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS,
            T.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=doc.version),
        )

    def on_change(self, uri: str, changes: Sequence[T.TextDocumentContentChangeEvent]) -> None:
        if self.store.apply_changes(uri, changes):
            self.publish(uri)


class FindingSink(Protocol):
    def replace(self, uri: str, findings: Sequence[Finding]) -> None: ...

    def add(self, finding: Finding) -> None: ...


class FindingCollector:
    """Turns a review turn's successful ReportFinding calls into published findings.

    It is fed `run_turn`'s events: a call's input arrives in `ToolCallStarted` and its outcome in
    `ToolCallFinished`; only calls the tool accepted (not `is_error`) become findings.

    The first finding of this review for a document replaces that document's older findings;
    documents reviewed without any finding are cleared only if the review finished normally.
    """

    def __init__(
        self,
        findings: FindingSink,
        session_id: str,
        root: Path,
        uri_of: Callable[[Path], str],
        reviewed: list[str],
    ) -> None:
        self._findings = findings
        self._session_id = session_id
        self._root = root
        self._uri_of = uri_of
        self._reviewed = reviewed
        self._inputs: dict[str, dict[str, Any]] = {}
        self.seen: set[str] = set()
        self.reported: list[Finding] = []

    def on_event(self, event: AgentEvent) -> None:
        if isinstance(event, ToolCallStarted) and event.name == REPORT_FINDING:
            self._inputs[event.call_id] = event.input
        elif isinstance(event, ToolCallFinished) and event.name == REPORT_FINDING:
            raw = self._inputs.pop(event.call_id, None)
            if raw is not None and not event.is_error:
                self._report(raw)

    def _report(self, raw: dict[str, Any]) -> None:
        try:
            args = ReportFindingInput.model_validate(raw)
        except ValidationError as err:  # The tool accepted it, so this would be a bug.
            log.error("unreadable ReportFinding input %r: %s", raw, err)
            return
        uri = self._uri_of(resolve_path(args.file_path, self._root))
        finding = Finding.new(
            session_id=self._session_id,
            uri=uri,
            line=args.line,
            end_line=args.end_line,
            severity=args.severity,
            code=args.code,
            message=args.message,
        )
        self.reported.append(finding)
        if _key(uri) in self.seen:
            self._findings.add(finding)
        else:
            self.seen.add(_key(uri))
            self._findings.replace(uri, [finding])

    async def finish(self, stop: StopReason) -> None:
        if stop.kind != "end_turn":
            return
        for uri in self._reviewed:
            if _key(uri) not in self.seen:
                self._findings.replace(uri, [])

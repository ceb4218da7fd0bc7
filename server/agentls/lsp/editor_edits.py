"""The pieces of `EditorWorkspace` that need no editor: snapshots, version checks, WorkspaceEdits.

A *snapshot* (`Current`) is one file as the agent sees it: the editor's buffer when the file is
open there, else the disk. The agent's view of a buffer is encoded with the disk file's BOM and
encoding, so the bytes (and the version) of an open, unmodified file are the disk's bytes.

A `Plan` is one validated change: its snapshot, the new text, and the texts that count as
"applied" when the editor reports back. That is the exact text, or the same text with the
inserted line breaks normalized to the document's: VS Code (and clients that announce
`normalizesLineEndings`) convert `\\n` in inserted text to a CRLF document's `\\r\\n`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types as T

from agentls.lsp.documents import DocumentTracker, OpenDocument, path_to_uri
from agentls.lsp.positions import LineIndex, splits_line_break
from agentls.workspace.disk import DiskWorkspace, apply_replacements
from agentls.workspace.files import read_regular
from agentls.workspace.port import EditFile, Replacement, StaleFileError, TextChange
from agentls.workspace.text import content_version, decode, newline_style

_ANY_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Codec:
    bom: bytes = b""
    encoding: str = "utf-8"

    @classmethod
    def of(cls, disk: bytes | None) -> Codec:
        if disk is None:
            return cls()
        decoded = decode(disk)
        return cls(decoded.bom, decoded.encoding)

    def encode(self, text: str) -> bytes:
        try:
            return self.bom + text.encode(self.encoding, errors="surrogateescape")
        except UnicodeEncodeError:  # A lone surrogate from the client: keep it visible, not fatal.
            return self.bom + text.encode(self.encoding, errors="surrogatepass")


@dataclass(frozen=True)
class Current:
    path: Path
    doc: OpenDocument | None
    """The editor's buffer, when it is the file's content; None means the disk is."""
    disk: bytes | None
    codec: Codec
    text: str
    """The agent's view: the buffer (or the decoded disk), BOM excluded."""
    lead: str = ""
    """A U+FEFF at the start of a buffer whose disk file has no BOM: the agent's decoding takes
    it for a BOM, so offsets into `text` are offsets into the buffer after it."""

    @classmethod
    def of_doc(cls, path: Path, doc: OpenDocument, disk: bytes | None) -> Current:
        codec = Codec.of(disk)
        lead = "\ufeff" if not codec.bom and doc.text.startswith("\ufeff") else ""
        return cls(path, doc, disk, codec, doc.text[len(lead) :], lead)

    @property
    def buffer(self) -> str:
        return self.lead + self.text

    @property
    def data(self) -> bytes:
        if self.doc is None and self.disk is not None:
            return self.disk
        return self.codec.encode(self.buffer)

    @property
    def version(self) -> str:
        return content_version(self.data)

    @property
    def dirty(self) -> bool:
        """The buffer holds text the disk does not (unsaved changes)."""
        return self.doc is not None and (self.disk is None or decode(self.disk).text != self.buffer)


class Snapshotter:
    """Finds the content the agent should see for a path: the open buffer or the disk."""

    def __init__(self, documents: DocumentTracker, disk: DiskWorkspace) -> None:
        self._documents = documents
        self._disk = disk
        self._disk_newer: dict[Path, int | None] = {}
        """Open files we wrote on disk, with the buffer version then: until the editor reloads
        the buffer (a new version), the disk is the newer content."""

    def open_doc(self, path: Path) -> OpenDocument | None:
        doc = self._documents.by_path(path)
        if doc is None:
            real = Path(os.path.realpath(path))
            doc = self._documents.by_path(real) if real != path else None
        if path in self._disk_newer:
            if doc is not None and doc.version == self._disk_newer[path]:
                return None
            del self._disk_newer[path]
        return doc

    def mark_disk_newer(self, path: Path, doc: OpenDocument) -> None:
        self._disk_newer[path] = doc.version

    async def snapshot(self, path: Path) -> Current | None:
        """None if the file exists neither in the editor nor on disk."""
        doc = self.open_doc(path)
        if doc is None:
            if await self._disk.stat(path) is None:
                return None
            data = (await self._disk.read(path)).data  # Raises a clear error for a directory.
            decoded = decode(data)
            return Current(path, None, data, Codec(decoded.bom, decoded.encoding), decoded.text)
        return Current.of_doc(path, doc, read_regular(path))

    def differs_from_disk(self, path: Path, doc: OpenDocument) -> bool:
        return Current.of_doc(path, doc, read_regular(path)).dirty

    def applied_version(self, plan: Plan) -> str | None:
        """The version of `plan.path` if the editor (or disk) now shows the planned text."""
        doc = self.open_doc(plan.path)
        if doc is not None:
            current = Current.of_doc(plan.path, doc, read_regular(plan.path))
            ok = current.text in plan.accepted and current.lead == plan.lead
            return current.version if ok else None
        disk = read_regular(plan.path)
        return content_version(disk) if disk is not None and decode(disk).text in plan.accepted else None


@dataclass(frozen=True)
class Plan:
    change: TextChange
    path: Path
    current: Current | None
    """None: a new file."""
    new_text: str
    accepted: frozenset[str]
    """Agent views of the result that count as the change applied."""

    @property
    def lead(self) -> str:
        return self.current.lead if self.current is not None else ""


def plan_change(change: TextChange, path: Path, current: Current | None) -> Plan:
    """Check `change` against `current` and compute the result; raises `StaleFileError`."""
    where = " (it is open in the editor)" if current is not None and current.doc is not None else ""
    if current is None:
        if isinstance(change, EditFile) or change.expected_version is not None:
            raise StaleFileError(
                f"{path} no longer exists (it was deleted or moved after it was read). "
                "Check the path; use Write to create it again if that is intended."
            )
        variants = {change.text, _normalize(change.text, "\n"), _normalize(change.text, "\r\n")}
        return Plan(change, path, None, change.text, frozenset(variants))
    if change.expected_version is None:
        raise StaleFileError(f"{path} already exists{where}. Read it first, then write it again.")
    if current.version != change.expected_version:
        editor = ", in the editor" if where else ""
        raise StaleFileError(
            f"{path} has been modified since it was read (by the user{editor}, a formatter or "
            "another tool). Read the file again before changing it."
        )
    eol = newline_style(current.buffer)
    if isinstance(change, EditFile):
        new = apply_replacements(path, current.text, change.replacements)
        normalized = apply_replacements(path, current.text, change.replacements, lambda s: _normalize(s, eol))
    else:
        new, normalized = change.text, _normalize(change.text, eol)
    return Plan(change, path, current, new, frozenset({new, normalized}))


def _normalize(text: str, eol: str) -> str:
    return _ANY_BREAK.sub(eol, text)


def _ordered(replacements: Sequence[Replacement]) -> list[Replacement]:
    # Stable: two insertions at one offset keep their order, which LSP also honours.
    return sorted(replacements, key=lambda r: (r.start, r.end))


_DocumentChange = T.TextDocumentEdit | T.CreateFile | T.RenameFile | T.DeleteFile


def build_edit(plans: Sequence[Plan], encoding: str) -> T.WorkspaceEdit:
    """One WorkspaceEdit for all plans; ranges in the client's position encoding."""
    changes: list[_DocumentChange] = []
    for plan in plans:
        current = plan.current
        if current is None:
            uri = path_to_uri(plan.path)
            # ignore_if_exists: Neovim truncates an existing file on a plain CreateFile. If the
            # file appeared since our check, the insertion below lands on top of its content,
            # the verification sees the wrong text and the agent is told; nothing is destroyed.
            # (overwrite=False, ignore_if_exists=False would make VS Code fail cleanly but let
            # Neovim empty the file.)
            options = T.CreateFileOptions(overwrite=False, ignore_if_exists=True)
            changes.append(T.CreateFile(uri=uri, options=options))
            if plan.new_text:
                start = T.Position(line=0, character=0)
                insert = T.TextEdit(range=T.Range(start=start, end=start), new_text=plan.new_text)
                changes.append(_document_edit(uri, None, [insert]))
            continue
        buffer = current.buffer
        lead = len(current.lead)
        if isinstance(plan.change, EditFile):
            spans = [(lead + r.start, lead + r.end, r.new_text) for r in _ordered(plan.change.replacements)]
        else:
            spans = [(lead, len(buffer), plan.change.text)]
        index = LineIndex(buffer)
        edits = [
            T.TextEdit(range=index.range_for(start, end, encoding), new_text=text)
            for start, end, text in (_whole_line_breaks(buffer, *span) for span in spans)
        ]
        doc = current.doc
        uri = doc.uri if doc is not None else path_to_uri(plan.path)
        changes.append(_document_edit(uri, doc.version if doc is not None else None, edits))
    return T.WorkspaceEdit(document_changes=changes)


def _document_edit(uri: str, version: int | None, edits: list[T.TextEdit]) -> T.TextDocumentEdit:
    identifier = T.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
    return T.TextDocumentEdit(text_document=identifier, edits=list(edits))


def _whole_line_breaks(text: str, start: int, end: int, new_text: str) -> tuple[int, int, str]:
    """Widen a span that splits a CRLF so that both ends have an LSP position; same result."""
    if splits_line_break(text, start):
        start, new_text = start - 1, "\r" + new_text
    if splits_line_break(text, end):
        end, new_text = end + 1, new_text + "\n"
    return start, end, new_text


def edit_label(plans: Sequence[Plan], root: Path) -> str:
    """What the editor shows for the edit (VS Code names the undo step after it)."""

    def name(path: Path) -> str:
        try:
            return str(path.relative_to(root))
        except ValueError:
            return str(path)

    if len(plans) == 1:
        plan = plans[0]
        verb = "Create" if plan.current is None else "Edit" if isinstance(plan.change, EditFile) else "Write"
        return f"agentls: {verb} {name(plan.path)}"
    return f"agentls: Edit {', '.join(name(p.path) for p in plans)}"

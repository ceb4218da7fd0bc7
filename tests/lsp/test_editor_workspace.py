"""EditorWorkspace against fake editors that behave like VS Code, Neovim and a plain client.

The fake keeps buffers the way an editor does and reports them through a real `DocumentTracker`
(didOpen / incremental didChange / didSave), so the tracker, the WorkspaceEdits and the
verification are exercised together, with no JSON-RPC in between.
"""

from __future__ import annotations

import asyncio
import codecs
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from lsprotocol import types as T

from agentls.lsp.client_features import ClientFeatures
from agentls.lsp.documents import DocumentTracker, path_to_uri
from agentls.lsp.editor_workspace import EditorWorkspace
from agentls.lsp.positions import LineIndex
from agentls.tools.base import FileReadState, ToolContext
from agentls.tools.edit import EditTool
from agentls.tools.read import ReadTool
from agentls.tools.write import WriteTool
from agentls.workspace.disk import DiskWorkspace
from agentls.workspace.port import (
    EditFile,
    ProcessResult,
    ProcessSpec,
    Replacement,
    StaleFileError,
    WorkspaceError,
    WriteFile,
)
from agentls.workspace.text import content_version, decode

Flavor = Literal["vscode", "neovim", "plain"]
EMOJI = "\U0001f600"


@dataclass
class FakeEditor:
    """An editor with buffers. `vscode` rejects stale versions with `applied: false` and
    normalizes inserted line breaks; `neovim` answers `applied: true` and drops a stale edit;
    `plain` has no applyEdit."""

    flavor: Flavor = "vscode"
    encoding: str = "utf-16"
    save_documents_supported: bool = False
    documents: DocumentTracker = field(default_factory=DocumentTracker)
    edits: list[T.ApplyWorkspaceEditParams] = field(default_factory=list)
    save_requests: list[list[str]] = field(default_factory=list)
    before_apply: Callable[[], object] | None = None
    """Runs when the edit arrives, before the editor looks at it (the user typing meanwhile)."""
    answer: T.ApplyWorkspaceEditResult | Exception | None = None
    """Answer this instead of applying anything."""
    open_unopened: bool = True
    """Open a file the edit names but the user did not open (what VS Code and Neovim do)."""
    save_fails: bool = False

    @property
    def features(self) -> ClientFeatures:
        return ClientFeatures(
            name=self.flavor,
            rich=self.save_documents_supported,
            save_documents=self.save_documents_supported,
            apply_edit=self.flavor != "plain",
            position_encoding=self.encoding,
        )

    # What the user does.

    def open(self, path: Path, text: str | None = None) -> None:
        if text is None:
            text = decode(path.read_bytes()).text
        self.documents.did_open(path_to_uri(path), text, 1, "python")

    def type(self, path: Path, text: str) -> None:
        """Replace the whole buffer (a full-document didChange)."""
        doc = self.documents.by_path(path)
        assert doc is not None and doc.version is not None
        change = T.TextDocumentContentChangeWholeDocument(text=text)
        self.documents.did_change(doc.uri, doc.version + 1, [change], self.encoding)

    def text(self, path: Path) -> str | None:
        doc = self.documents.by_path(path)
        return doc.text if doc else None

    def save(self, path: Path) -> None:
        doc = self.documents.by_path(path)
        assert doc is not None
        old = path.read_bytes() if path.exists() else b""
        path.write_bytes(decode(old).bom + doc.text.encode())
        self.documents.did_save(doc.uri)

    # The EditorPort.

    async def apply_edit(self, params: T.ApplyWorkspaceEditParams) -> T.ApplyWorkspaceEditResult:
        self.edits.append(params)
        if self.before_apply:
            self.before_apply()
        if isinstance(self.answer, Exception):
            raise self.answer
        if self.answer is not None:
            return self.answer
        changes = params.edit.document_changes or []
        if self.flavor == "vscode":  # All or nothing: check every version first.
            for change in changes:
                if isinstance(change, T.TextDocumentEdit) and not self._version_ok(change):
                    return T.ApplyWorkspaceEditResult(
                        applied=False, failure_reason="document version mismatch"
                    )
        for change in changes:
            if isinstance(change, T.CreateFile):
                self._create(change)
            elif isinstance(change, T.TextDocumentEdit) and self._version_ok(change):
                self._edit(change)  # Neovim silently skips a stale one, and says applied.
        return T.ApplyWorkspaceEditResult(applied=True)

    async def save_documents(self, uris: list[str]) -> None:
        self.save_requests.append(uris)
        if self.save_fails:
            raise RuntimeError("no such command")
        for uri in uris:
            doc = self.documents.get(uri)
            assert doc is not None and doc.path is not None
            self.save(doc.path)

    def _version_ok(self, change: T.TextDocumentEdit) -> bool:
        doc = self.documents.get(change.text_document.uri)
        wanted = change.text_document.version
        return wanted is None or (doc is not None and doc.version == wanted)

    def _create(self, change: T.CreateFile) -> None:
        path = Path(change.uri.removeprefix("file://"))
        options = change.options or T.CreateFileOptions()
        if path.exists() and not options.overwrite and options.ignore_if_exists:
            return
        path.write_bytes(b"")  # Neovim truncates unless told otherwise.

    def _edit(self, change: T.TextDocumentEdit) -> None:
        uri = change.text_document.uri
        doc = self.documents.get(uri)
        if doc is None:
            path = Path(uri.removeprefix("file://"))
            if not self.open_unopened:  # An editor that writes unopened files straight to disk.
                text = self._applied(decode(path.read_bytes()).text, change.edits)
                path.write_bytes(text.encode())
                return
            self.open(path)
            doc = self.documents.get(uri)
            assert doc is not None
        # Send what an editor sends: incremental changes, last first so each range stays valid.
        events: list[T.TextDocumentContentChangeEvent] = []
        for edit in reversed(list(change.edits)):
            assert isinstance(edit, T.TextEdit)
            events.append(
                T.TextDocumentContentChangePartial(range=edit.range, text=self._eol(doc.text, edit))
            )
        assert doc.version is not None
        self.documents.did_change(uri, doc.version + 1, events, self.encoding)

    def _applied(self, text: str, edits: Any) -> str:
        index = LineIndex(text)
        for edit in reversed(list(edits)):
            start = index.offset_at(edit.range.start, self.encoding)
            end = index.offset_at(edit.range.end, self.encoding)
            text = text[:start] + edit.new_text + text[end:]
        return text

    def _eol(self, text: str, edit: T.TextEdit) -> str:
        if self.flavor == "vscode" and "\r\n" in text:
            return edit.new_text.replace("\r\n", "\n").replace("\n", "\r\n")
        return edit.new_text


class RecordingDisk(DiskWorkspace):
    """Runs no process: records what the files looked like when the command would have run."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.seen: dict[str, bytes] = {}

    async def run(self, spec: ProcessSpec) -> ProcessResult:
        self.seen = {p.name: p.read_bytes() for p in self.root.iterdir() if p.is_file()}
        return ProcessResult(exit_code=0, output="ran\n")


def workspace(editor: FakeEditor, root: Path, **kwargs: Any) -> tuple[EditorWorkspace, RecordingDisk]:
    disk = RecordingDisk(root)
    kwargs.setdefault("verify_timeout_s", 0.3)
    return EditorWorkspace(editor, root, disk=disk, poll_s=0.01, **kwargs), disk


def spec(root: Path) -> ProcessSpec:
    return ProcessSpec(argv=["true"], cwd=root, env={}, timeout_s=5)


async def edit(ws: EditorWorkspace, path: Path, old: str, new: str) -> str:
    """Read, replace the first `old` with `new`, apply; returns the new version."""
    content = await ws.read(path)
    text = decode(content.data).text
    start = text.index(old)
    change = EditFile(path, content.version, (Replacement(start, start + len(old), new),))
    (applied,) = await ws.apply([change])
    assert applied.path == path
    return applied.version


# Reading.


async def test_read_prefers_the_open_buffer_and_keeps_the_disk_bom(project: Path) -> None:
    path = project / "a.py"
    path.write_bytes(codecs.BOM_UTF8 + b"x = 1\n")
    editor = FakeEditor()
    ws, _ = workspace(editor, project)
    assert (await ws.read(path)).data == codecs.BOM_UTF8 + b"x = 1\n"
    editor.open(path)
    assert (await ws.read(path)).version == content_version(path.read_bytes())  # Same bytes.
    editor.type(path, "x = 2  # unsaved\n")
    content = await ws.read(path)
    assert content.data == codecs.BOM_UTF8 + b"x = 2  # unsaved\n"
    assert content.version == content_version(content.data)
    st = await ws.stat(path)
    assert st is not None and (st.kind, st.size) == ("file", len("x = 2  # unsaved\n"))
    assert ws.overlay().texts == {path: "x = 2  # unsaved\n"}


async def test_an_open_buffer_without_a_file_is_a_file(project: Path) -> None:
    editor = FakeEditor()
    ws, _ = workspace(editor, project)
    path = project / "new.py"
    editor.open(path, "draft\n")
    st = await ws.stat(path)
    assert st is not None and st.kind == "file"
    assert (await ws.read(path)).data == b"draft\n"
    assert await ws.stat(project / "missing.py") is None
    with pytest.raises(WorkspaceError, match="does not exist"):
        await ws.read(project / "missing.py")


# Editing through applyEdit.


@pytest.mark.parametrize("flavor", ["vscode", "neovim"])
async def test_edit_keeps_the_users_unsaved_changes(project: Path, flavor: Flavor) -> None:
    path = project / "a.py"
    path.write_text("def f():\n    return 1\n")
    editor = FakeEditor(flavor)
    ws, _ = workspace(editor, project)
    editor.open(path)
    editor.type(path, "# user note\ndef f():\n    return 1\n")
    version = await edit(ws, path, "return 1", "return 2")
    assert editor.text(path) == "# user note\ndef f():\n    return 2\n"
    assert path.read_text() == "def f():\n    return 1\n"  # The disk is the editor's business.
    assert version == (await ws.read(path)).version
    (params,) = editor.edits
    assert params.label == "agentls: Edit a.py"
    (doc_edit,) = params.edit.document_changes or []
    assert isinstance(doc_edit, T.TextDocumentEdit)
    assert doc_edit.text_document.version == 2
    (text_edit,) = doc_edit.edits
    assert text_edit.range == T.Range(
        start=T.Position(line=2, character=4), end=T.Position(line=2, character=12)
    )


async def test_stale_version_is_refused_before_anything_is_sent(project: Path) -> None:
    path = project / "a.py"
    path.write_text("a\n")
    editor = FakeEditor()
    ws, _ = workspace(editor, project)
    editor.open(path)
    old = await ws.read(path)
    editor.type(path, "b\n")
    with pytest.raises(StaleFileError, match=r"modified since it was read.*in the editor"):
        await ws.apply([EditFile(path, old.version, (Replacement(0, 1, "c"),))])
    assert editor.edits == []


async def test_vscode_rejects_an_edit_the_user_raced(project: Path) -> None:
    path = project / "a.py"
    path.write_text("a\n")
    editor = FakeEditor("vscode")
    ws, _ = workspace(editor, project)
    editor.open(path)
    editor.before_apply = lambda: editor.type(path, "typed\n")
    with pytest.raises(StaleFileError, match="refused the edit: document version mismatch"):
        await edit(ws, path, "a", "c")
    assert editor.text(path) == "typed\n"


async def test_neovim_says_applied_but_dropped_the_edit(project: Path) -> None:
    path = project / "a.py"
    path.write_text("a\n")
    editor = FakeEditor("neovim", encoding="utf-8")
    ws, _ = workspace(editor, project)
    editor.open(path)
    editor.before_apply = lambda: editor.type(path, "typed\n")
    with pytest.raises(StaleFileError, match=r"did not apply the edit .*Read the file again"):
        await edit(ws, path, "a", "c")
    assert editor.text(path) == "typed\n"
    # Nothing the agent edited is pending a save: the edit never happened.
    result = await ws.run(spec(project))
    assert result.output.startswith("[agentls: 1 open file has unsaved changes")


async def test_verification_waits_for_a_late_did_change(project: Path) -> None:
    path = project / "a.py"
    path.write_text("a\n")
    editor = FakeEditor("neovim")
    ws, _ = workspace(editor, project, verify_timeout_s=5)
    editor.open(path)
    real_edit = editor._edit

    def later(change: T.TextDocumentEdit) -> None:
        asyncio.get_running_loop().call_later(0.05, real_edit, change)

    editor._edit = later  # type: ignore[method-assign]
    await edit(ws, path, "a", "b")
    assert editor.text(path) == "b\n"


async def test_client_errors_become_workspace_errors(project: Path) -> None:
    path = project / "a.py"
    path.write_text("a\n")
    editor = FakeEditor(answer=RuntimeError("boom"))
    ws, _ = workspace(editor, project)
    with pytest.raises(WorkspaceError, match=r"error \(boom\)"):
        await edit(ws, path, "a", "b")
    editor.answer = T.ApplyWorkspaceEditResult(applied=False)
    with pytest.raises(StaleFileError, match=r"refused the edit\."):
        await edit(ws, path, "a", "b")


async def test_create_file_in_a_new_directory(project: Path) -> None:
    editor = FakeEditor("neovim")
    ws, _ = workspace(editor, project)
    path = project / "pkg" / "new.py"
    (applied,) = await ws.apply([WriteFile(path, "print('hi')\n", None)])
    assert applied.created
    assert editor.text(path) == "print('hi')\n"
    assert applied.version == (await ws.read(path)).version
    create, insert = editor.edits[0].edit.document_changes or []
    assert isinstance(create, T.CreateFile) and create.options is not None
    assert (create.options.overwrite, create.options.ignore_if_exists) == (False, True)
    assert isinstance(insert, T.TextDocumentEdit) and insert.text_document.version is None
    assert editor.edits[0].label == "agentls: Create pkg/new.py"
    with pytest.raises(StaleFileError, match="already exists"):
        await ws.apply([WriteFile(path, "again\n", None)])


async def test_a_file_created_meanwhile_is_not_truncated(project: Path) -> None:
    editor = FakeEditor("neovim")
    ws, _ = workspace(editor, project)
    path = project / "new.py"
    editor.before_apply = lambda: path.write_text("theirs\n")
    with pytest.raises(StaleFileError, match="did not apply"):
        await ws.apply([WriteFile(path, "mine\n", None)])
    assert path.read_text() == "theirs\n"


async def test_unopened_file_verified_on_disk(project: Path) -> None:
    path = project / "a.py"
    path.write_text("one\ntwo\n")
    editor = FakeEditor(open_unopened=False)
    ws, _ = workspace(editor, project)
    version = await edit(ws, path, "two", "2")
    doc_edit = (editor.edits[0].edit.document_changes or [])[0]
    assert isinstance(doc_edit, T.TextDocumentEdit) and doc_edit.text_document.version is None
    assert path.read_text() == "one\n2\n"
    assert version == content_version(path.read_bytes())


async def test_write_replaces_the_whole_buffer(project: Path) -> None:
    path = project / "a.py"
    path.write_text("old\nlines\n")
    editor = FakeEditor()
    ws, _ = workspace(editor, project)
    editor.open(path)
    current = await ws.read(path)
    await ws.apply([WriteFile(path, "new\n", current.version)])
    assert editor.text(path) == "new\n"
    (doc_edit,) = editor.edits[0].edit.document_changes or []
    assert isinstance(doc_edit, T.TextDocumentEdit)
    (whole,) = doc_edit.edits
    assert whole.range == T.Range(start=T.Position(line=0, character=0), end=T.Position(line=2, character=0))
    assert editor.edits[0].label == "agentls: Write a.py"


@pytest.mark.parametrize("flavor", ["vscode", "neovim"])
async def test_crlf_buffer(project: Path, flavor: Flavor) -> None:
    path = project / "a.txt"
    path.write_bytes(b"one\r\ntwo\r\nthree\r\n")
    editor = FakeEditor(flavor)
    ws, _ = workspace(editor, project)
    editor.open(path)
    # A multi-line replacement in CRLF spelling, and an insertion written with "\n" that VS Code
    # turns into "\r\n" (still counts as applied).
    version = await edit(ws, path, "two\r\nthree", "2\r\n3")
    assert editor.text(path) == "one\r\n2\r\n3\r\n"
    version = await edit(ws, path, "one", "zero\none")
    expected = "zero\r\none\r\n2\r\n3\r\n" if flavor == "vscode" else "zero\none\r\n2\r\n3\r\n"
    assert editor.text(path) == expected
    assert version == (await ws.read(path)).version


async def test_replacement_splitting_a_crlf_is_widened(project: Path) -> None:
    path = project / "a.txt"
    path.write_bytes(b"ab\r\ncd")
    editor = FakeEditor("neovim")
    ws, _ = workspace(editor, project)
    editor.open(path)
    content = await ws.read(path)
    await ws.apply([EditFile(path, content.version, (Replacement(1, 3, "X"),))])  # "b\r" -> "X"
    assert editor.text(path) == "aX\ncd"


@pytest.mark.parametrize(("encoding", "width"), [("utf-16", 2), ("utf-8", 4)])
async def test_emoji_positions(project: Path, encoding: str, width: int) -> None:
    path = project / "a.py"
    path.write_text(f"s = '{EMOJI}{EMOJI}' + x\n", encoding="utf-8")
    editor = FakeEditor("neovim" if encoding == "utf-8" else "vscode", encoding=encoding)
    ws, _ = workspace(editor, project)
    editor.open(path)
    await edit(ws, path, "x", "y")
    assert editor.text(path) == f"s = '{EMOJI}{EMOJI}' + y\n"
    (doc_edit,) = editor.edits[0].edit.document_changes or []
    assert isinstance(doc_edit, T.TextDocumentEdit)
    column = 5 + 2 * width + 4
    assert doc_edit.edits[0].range.start == T.Position(line=0, character=column)


async def test_tools_through_the_editor(project: Path) -> None:
    """The real Read/Edit/Write tools over an editor workspace: versions line up end to end."""
    path = project / "a.py"
    path.write_bytes(codecs.BOM_UTF8 + b"x = 1\r\n")
    editor = FakeEditor()
    ws, _ = workspace(editor, project)
    editor.open(path)
    ctx = ToolContext(workspace=ws, read_state=FileReadState(), env_for_subprocess=dict(os.environ))
    await ReadTool().call(ReadTool().parse({"file_path": str(path)}), ctx)
    await EditTool().call(
        EditTool().parse({"file_path": str(path), "old_string": "1", "new_string": "2"}), ctx
    )
    await EditTool().call(
        EditTool().parse({"file_path": str(path), "old_string": "2", "new_string": "3"}), ctx
    )
    assert editor.text(path) == "x = 3\r\n"
    await WriteTool().call(WriteTool().parse({"file_path": str(path), "content": "y = 0\n"}), ctx)
    assert editor.text(path) == "y = 0\r\n"  # VS Code normalized the line ending.
    new = project / "b.py"
    await WriteTool().call(WriteTool().parse({"file_path": str(new), "content": "b\n"}), ctx)
    assert editor.text(new) == "b\n"


async def test_several_files_in_one_edit(project: Path) -> None:
    a, b = project / "a.py", project / "b.py"
    a.write_text("a\n")
    b.write_text("b\n")
    editor = FakeEditor("neovim")
    ws, _ = workspace(editor, project)
    editor.open(a)
    ca, cb = await ws.read(a), await ws.read(b)
    applied = await ws.apply(
        [EditFile(a, ca.version, (Replacement(0, 1, "A"),)), WriteFile(b, "B\n", cb.version)]
    )
    assert [x.version for x in applied] == [(await ws.read(a)).version, (await ws.read(b)).version]
    assert (editor.text(a), editor.text(b)) == ("A\n", "B\n")
    (params,) = editor.edits
    assert params.label == "agentls: Edit a.py, b.py"
    versions = [
        c.text_document.version
        for c in params.edit.document_changes or []
        if isinstance(c, T.TextDocumentEdit)
    ]
    assert versions == [1, None]
    with pytest.raises(WorkspaceError, match="appears twice"):
        await ws.apply([WriteFile(a, "1", applied[0].version), WriteFile(a, "2", applied[0].version)])


async def test_buffer_starting_with_a_bom_character(project: Path) -> None:
    """A U+FEFF the disk has no BOM for: the agent's decoding hides it, offsets shift by one."""
    path = project / "a.py"
    path.write_text("x\n")
    editor = FakeEditor()
    ws, disk = workspace(editor, project)
    editor.open(path, "\ufeffx\n")
    content = await ws.read(path)
    assert decode(content.data).text == "x\n"
    await ws.apply([EditFile(path, content.version, (Replacement(0, 1, "y"),))])
    assert editor.text(path) == "\ufeffy\n"
    await ws.run(spec(project))
    assert disk.seen["a.py"] == codecs.BOM_UTF8 + b"y\n"


# Before a process runs.


async def test_run_saves_agent_edits_and_reports_other_unsaved_buffers(project: Path) -> None:
    edited, other = project / "edited.py", project / "other.py"
    edited.write_bytes(codecs.BOM_UTF8 + b"v = 1\r\n")
    other.write_text("o = 1\n")
    editor = FakeEditor()
    ws, disk = workspace(editor, project)
    editor.open(edited)
    editor.open(other)
    editor.type(other, "o = 2  # the user's, unsaved\n")
    await edit(ws, edited, "1", "2")
    result = await ws.run(spec(project))
    assert disk.seen["edited.py"] == codecs.BOM_UTF8 + b"v = 2\r\n"  # BOM and endings kept.
    assert disk.seen["other.py"] == b"o = 1\n"  # Not written.
    assert result.output == (
        "[agentls: 1 open file has unsaved changes the command does not see: other.py]\nran\n"
    )
    assert editor.save_requests == []
    assert ws.overlay().texts == {other: "o = 2  # the user's, unsaved\n"}
    # Nothing left to save: the next command runs with the note only.
    assert (await ws.run(spec(project))).output.startswith("[agentls: 1 open file")


async def test_run_asks_a_rich_client_to_save(project: Path) -> None:
    path = project / "a.py"
    path.write_text("a = 1\n")
    editor = FakeEditor(save_documents_supported=True)
    ws, disk = workspace(editor, project)
    editor.open(path)
    await edit(ws, path, "1", "2")
    result = await ws.run(spec(project))
    assert editor.save_requests == [[path_to_uri(path)]]
    assert editor.documents.save_count(path_to_uri(path)) == 1
    assert disk.seen["a.py"] == b"a = 2\n"
    assert result.output == "ran\n"


async def test_run_writes_itself_when_the_save_request_fails(project: Path) -> None:
    path = project / "a.py"
    path.write_text("a = 1\n")
    editor = FakeEditor(save_documents_supported=True, save_fails=True)
    ws, disk = workspace(editor, project)
    editor.open(path)
    await edit(ws, path, "1", "2")
    await ws.run(spec(project))
    assert disk.seen["a.py"] == b"a = 2\n"


# A client without applyEdit.


async def test_plain_client_refuses_to_clobber_a_dirty_buffer(project: Path) -> None:
    path = project / "a.py"
    path.write_text("a = 1\n")
    editor = FakeEditor("plain")
    ws, _ = workspace(editor, project)
    editor.open(path)
    editor.type(path, "a = 1  # unsaved\n")
    with pytest.raises(WorkspaceError, match="unsaved changes in the editor"):
        await edit(ws, path, "1", "2")
    assert path.read_text() == "a = 1\n"


async def test_plain_client_writes_clean_files_to_disk(project: Path) -> None:
    path = project / "a.py"
    path.write_text("a = 1\n")
    editor = FakeEditor("plain")
    ws, _ = workspace(editor, project)
    editor.open(path)
    version = await edit(ws, path, "1", "2")
    assert path.read_text() == "a = 2\n"
    # The buffer is now older than the disk; reads follow the disk until the editor reloads.
    assert (await ws.read(path)).version == version
    version = await edit(ws, path, "2", "3")
    assert path.read_text() == "a = 3\n"
    editor.type(path, "a = 3\n")  # The editor reloads the file.
    assert (await ws.read(path)).version == version
    created = project / "b.py"
    (applied,) = await ws.apply([WriteFile(created, "b\n", None)])
    assert applied.created and created.read_text() == "b\n"
    assert editor.edits == []


# The document tracker.


def test_tracker_applies_incremental_changes_with_lsp_line_breaks() -> None:
    docs = DocumentTracker()
    docs.did_open("file:///x.py", f"a\x0cb\n{EMOJI}c\n", 1)
    start = T.Position(line=1, character=4)  # After the emoji, in UTF-8 bytes.
    change = T.TextDocumentContentChangePartial(
        range=T.Range(start=start, end=T.Position(line=1, character=5)), text="Z"
    )
    docs.did_change("file:///x.py", 2, [change], "utf-8")
    doc = docs.get("file:///x.py")
    assert doc is not None and (doc.text, doc.version) == (f"a\x0cb\n{EMOJI}Z\n", 2)
    assert docs.by_path(Path("/x.py")) is doc
    docs.did_close("file:///x.py")
    assert docs.get("file:///x.py") is None
    assert docs.documents() == []


async def test_tracker_waits_for_text() -> None:
    docs = DocumentTracker()
    docs.did_open("file:///x.py", "a", 1)
    asyncio.get_running_loop().call_later(
        0.02,
        docs.did_change,
        "file:///x.py",
        2,
        [T.TextDocumentContentChangeWholeDocument(text="b")],
        "utf-16",
    )
    assert await docs.wait_for_text("file:///x.py", "b", 5)
    assert not await docs.wait_for_text("file:///x.py", "c", 0.05)

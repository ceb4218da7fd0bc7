"""`EditorWorkspace`: the `Workspace` port when an editor is attached.

What the agent reads is what the user sees: a file open in the editor is read from its buffer
(unsaved changes included), anything else from the disk. Processes and searches still use the
disk, so the two views are reconciled explicitly:

- Edits go to the editor as one `workspace/applyEdit` (the user sees them, with undo), after the
  versions the agent read were checked against the current buffers. The answer is not trusted:
  Neovim answers `applied: true` for a stale edit it silently drops, so the edit only counts
  once the client's own `didChange` (or, for a file it did not open, the disk) shows the expected
  text. Otherwise the agent gets a `StaleFileError` telling it to read the file again. A file
  the editor has not opened is named with `version: null`; editors load it into a buffer and,
  if their document selector covers it, send `didOpen`. One they do not sync can only be
  verified on the disk, so an edit the editor keeps in an unsaved buffer we never hear about
  fails verification: on the safe side, but clients should sync every `file:` document.
- A client without `workspace/applyEdit` gets atomic disk writes (`DiskWorkspace`), except for a
  file whose buffer holds unsaved changes: writing it would fork the user's buffer from the disk,
  so that edit is refused with an explanation.
- Before a process runs, every buffer the agent edited that differs from the disk is saved: by
  the editor when a rich client answers `agentls/saveDocuments`, otherwise written by us
  atomically (the file's BOM and encoding kept, the buffer's line endings as they are). Unsaved
  changes the user made in those same buffers are saved along with the agent's: that is the
  price of tests seeing what the agent wrote. Buffers the agent did not edit are never written;
  the command's output starts with a note naming them instead, so the model knows the command
  did not see them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types as T

from agentls.lsp.documents import OpenDocument
from agentls.lsp.editor_edits import (
    Current,
    Plan,
    Snapshotter,
    build_edit,
    edit_label,
    plan_change,
)
from agentls.lsp.editor_port import EditorPort, LspEditorPort
from agentls.workspace.disk import DiskWorkspace, check_target
from agentls.workspace.files import make_parents, read_regular, remove_empty
from agentls.workspace.port import (
    AppliedChange,
    EditFile,
    FileChange,
    FileContent,
    FileStat,
    Overlay,
    ProcessResult,
    ProcessSpec,
    RestoreFile,
    StaleFileError,
    WorkspaceError,
    WriteFile,
)
from agentls.workspace.text import content_version, decode

if TYPE_CHECKING:
    from agentls.lsp.client_channel import ClientChannel
    from agentls.lsp.documents import DocumentTracker

log = logging.getLogger(__name__)

__all__ = ["EditorPort", "EditorWorkspace", "LspEditorPort", "make_workspace"]


def make_workspace(channel: ClientChannel, documents: DocumentTracker, root: Path) -> EditorWorkspace:
    return EditorWorkspace(LspEditorPort(channel, documents), root)


class EditorWorkspace:
    def __init__(
        self,
        editor: EditorPort,
        root: Path,
        *,
        disk: DiskWorkspace | None = None,
        verify_timeout_s: float = 3.0,
        save_timeout_s: float = 5.0,
        apply_timeout_s: float = 60.0,
        poll_s: float = 0.05,
    ) -> None:
        self._editor = editor
        self._disk = disk or DiskWorkspace(root)
        self._docs = Snapshotter(editor.documents, self._disk)
        self.verify_timeout_s = verify_timeout_s
        """How long to wait for the client's didChange (or the disk) to show an applied edit."""
        self.save_timeout_s = save_timeout_s
        self.apply_timeout_s = apply_timeout_s
        self._poll_s = poll_s
        self._edited: set[Path] = set()
        """Files the agent changed through the editor, to save before a process runs."""

    @property
    def root(self) -> Path:
        return self._disk.root

    def _abs(self, path: Path) -> Path:
        return Path(os.path.normpath(path if path.is_absolute() else self.root / path))

    async def stat(self, path: Path) -> FileStat | None:
        path = self._abs(path)
        st = await self._disk.stat(path)
        doc = self._docs.open_doc(path)
        if doc is None or (st is not None and st.kind != "file"):
            return st
        size = len(doc.text.encode("utf-8", errors="surrogatepass"))
        return FileStat(kind="file", size=size, mtime_ns=st.mtime_ns if st else 0)

    async def read(self, path: Path, *, checked_target: Path | None = None) -> FileContent:
        path = self._abs(path)
        if self._docs.open_doc(path) is None:
            return await self._disk.read(path, checked_target=checked_target)
        current = await self._docs.snapshot(path)
        if current is None:  # Closed in between (no await separates them today).
            return await self._disk.read(path, checked_target=checked_target)
        return FileContent(path=path, data=current.data, version=current.version)

    async def apply(self, changes: Sequence[FileChange]) -> list[AppliedChange]:
        if any(isinstance(change, RestoreFile) for change in changes):
            return await self._restore(changes)
        plans: list[Plan] = []
        for change in changes:
            if isinstance(change, RestoreFile):
                continue  # (Not reached: a change set with one goes to `_restore`.)
            path = self._abs(change.path)
            if change.checked_target is not None:
                # The editor opens the file itself; at least refuse a link swapped in before now.
                check_target(path, change.checked_target)
            plans.append(plan_change(change, path, await self._docs.snapshot(path)))
        if len({p.path for p in plans}) != len(plans):
            raise WorkspaceError("The same file appears twice in one change set; combine the edits.")
        if not plans:
            return []
        if not self._editor.features.apply_edit:
            return await self._apply_on_disk(plans)
        return await self._apply_in_editor(plans)

    async def _restore(self, changes: Sequence[FileChange]) -> list[AppliedChange]:
        """A checkpoint rewind: files open in the editor change through one applyEdit, so the
        user can undo the rewind there; the others (and removals) are put back on disk."""
        in_editor: list[Plan] = []
        on_disk: list[RestoreFile] = []
        opened: list[tuple[Path, OpenDocument]] = []
        for change in changes:
            if not isinstance(change, RestoreFile):
                raise WorkspaceError("A rewind's changes cannot be mixed with other edits.")
            path = self._abs(change.path)
            doc = self._docs.open_doc(path)
            if doc is None or change.data is None or not self._editor.features.apply_edit:
                on_disk.append(dataclasses.replace(change, path=path))
                if doc is not None:
                    opened.append((path, doc))
                continue
            current = Current.of_doc(path, doc, read_regular(path))
            if current.version != change.expected_version:
                raise StaleFileError(
                    f"{path} changed in the editor after the rewind was planned; nothing was changed."
                )
            text = decode(change.data).text
            in_editor.append(plan_change(WriteFile(path, text, current.version), path, current))
        applied: list[AppliedChange] = []
        if in_editor:
            applied += await self._apply_in_editor(in_editor)
        if on_disk:
            applied += await self._disk.apply(on_disk)
            for path, doc in opened:
                self._docs.mark_disk_newer(path, doc)  # Until the editor reloads it.
        return applied

    async def _apply_on_disk(self, plans: list[Plan]) -> list[AppliedChange]:
        """No applyEdit: write the disk, but never under a buffer with unsaved changes."""
        disk_changes: list[FileChange] = []
        for plan in plans:
            cur = plan.current
            if cur is not None and cur.doc is not None and cur.dirty:
                raise WorkspaceError(
                    f"{plan.path} has unsaved changes in the editor, and this editor cannot "
                    "receive edits from agentls (it does not support workspace/applyEdit). Ask the "
                    "user to save or revert it, then Read it again. Nothing was changed."
                )
            # The buffer equals the disk here, so the version to hold the disk to is the disk's.
            disk_version = content_version(cur.disk) if cur is not None and cur.disk is not None else None
            if isinstance(plan.change, EditFile):
                disk_changes.append(
                    EditFile(
                        plan.path, disk_version or "", plan.change.replacements, plan.change.checked_target
                    )
                )
            else:
                disk_changes.append(
                    WriteFile(plan.path, plan.change.text, disk_version, plan.change.checked_target)
                )
        applied = await self._disk.apply(disk_changes)
        for plan in plans:
            if plan.current is not None and plan.current.doc is not None:
                # Until the editor reloads the file, its buffer is older than the disk.
                self._docs.mark_disk_newer(plan.path, plan.current.doc)
        return applied

    async def _apply_in_editor(self, plans: list[Plan]) -> list[AppliedChange]:
        features = self._editor.features
        edit = build_edit(plans, features.position_encoding)
        label = edit_label(plans, self.root)
        made_dirs = make_parents([p.path for p in plans if p.current is None])
        try:
            try:
                result = await asyncio.wait_for(
                    self._editor.apply_edit(T.ApplyWorkspaceEditParams(edit=edit, label=label)),
                    self.apply_timeout_s,
                )
            except TimeoutError:
                raise WorkspaceError(
                    f"The editor did not answer the edit request within {self.apply_timeout_s:g} s. "
                    "Read the files again to see whether they changed."
                ) from None
            except WorkspaceError:
                raise
            except Exception as err:  # A JSON-RPC error answer, or the connection failed.
                raise WorkspaceError(
                    f"The editor answered the edit with an error ({err}). Read the files again to "
                    "see whether they changed."
                ) from err
            if not result.applied:
                reason = f": {result.failure_reason}" if result.failure_reason else ""
                raise StaleFileError(
                    f"The editor refused the edit{reason}. The file was probably changed in the "
                    "editor meanwhile; Read the file again before changing it."
                )
            applied = await self._verify(plans)
        except BaseException:
            remove_empty(made_dirs)
            raise
        self._edited.update(p.path for p in plans)
        return applied

    async def _verify(self, plans: list[Plan]) -> list[AppliedChange]:
        """Wait until the editor (or the disk, for files it did not open) shows every change."""
        found: dict[Path, str] = {}

        def all_applied() -> bool:
            for plan in plans:
                if plan.path not in found and (version := self._docs.applied_version(plan)) is not None:
                    found[plan.path] = version
            return len(found) == len(plans)

        documents = self._editor.documents
        if not await documents.wait_until(all_applied, self.verify_timeout_s, poll=self._poll_s):
            missing = [str(p.path) for p in plans if p.path not in found]
            raise StaleFileError(
                f"The editor did not apply the edit to {', '.join(missing)}: after "
                f"{self.verify_timeout_s:g} s its text is not what the edit should have produced "
                "(the buffer changed meanwhile, or the editor dropped the edit). Nothing may be "
                "assumed about its content: Read the file again before changing it."
            )
        return [AppliedChange(p.path, found[p.path], created=p.current is None) for p in plans]

    async def run(self, spec: ProcessSpec) -> ProcessResult:
        notes = await self._sync_disk()
        result = await self._disk.run(spec)
        if not notes:
            return result
        return dataclasses.replace(result, output="\n".join(notes) + "\n" + result.output)

    async def _sync_disk(self) -> list[str]:
        """Save the buffers the agent edited; name the unsaved ones it did not. Returns the notes."""
        pending: dict[Path, OpenDocument] = {}
        for path in sorted(self._edited):
            doc = self._docs.open_doc(path)
            if doc is None or not self._docs.differs_from_disk(path, doc):
                self._edited.discard(path)
            else:
                pending[path] = doc
        if pending and self._editor.features.save_documents:
            await self._ask_editor_to_save(pending)
        notes: list[str] = []
        for path in list(pending):
            doc = self._docs.open_doc(path)
            if doc is None or not self._docs.differs_from_disk(path, doc):
                continue
            try:
                await self._write_buffer(path)
            except WorkspaceError as err:
                notes.append(f"[agentls: could not save {self._label(path)} before the command: {err}]")
        self._edited.difference_update(pending)
        dirty = [self._label(p) for p in self.overlay().texts if p not in pending]
        if dirty:
            what = "open file has" if len(dirty) == 1 else "open files have"
            notes.insert(
                0,
                f"[agentls: {len(dirty)} {what} unsaved changes the command does not see: "
                f"{', '.join(sorted(dirty))}]",
            )
        return notes

    async def _ask_editor_to_save(self, pending: dict[Path, OpenDocument]) -> None:
        uris = [doc.uri for doc in pending.values()]
        try:
            await asyncio.wait_for(self._editor.save_documents(uris), self.save_timeout_s)
        except Exception as err:  # Includes the timeout: we write the buffers ourselves then.
            log.warning("agentls/saveDocuments failed: %r", err)
            return

        def saved() -> bool:
            for path in pending:
                doc = self._docs.open_doc(path)
                if doc is not None and self._docs.differs_from_disk(path, doc):
                    return False
            return True

        await self._editor.documents.wait_until(saved, self.save_timeout_s, poll=self._poll_s)

    async def _write_buffer(self, path: Path) -> None:
        current = await self._docs.snapshot(path)
        if current is None:
            return
        disk_version = content_version(current.disk) if current.disk is not None else None
        # WriteFile re-encodes with the disk file's BOM and encoding; the text keeps its endings.
        await self._disk.apply([WriteFile(path, current.buffer, disk_version)])

    def overlay(self) -> Overlay:
        texts: dict[Path, str] = {}
        for doc in self._editor.documents.documents():
            path = doc.path
            if (
                path is not None
                and self._docs.open_doc(path) is doc
                and self._docs.differs_from_disk(path, doc)
            ):
                texts[path] = doc.text
        return Overlay(texts=texts)

    def _label(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

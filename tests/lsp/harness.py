"""A scriptable fake editor for end-to-end tests of the language server.

`agentls` runs as a real subprocess on stdio (started with pytest-lsp's `ClientServerConfig`),
its model is the fake Messages API on loopback, and the test drives it through `FakeEditor`,
which behaves like an editor would:

- it holds open documents (uri -> text, version) and sends `didOpen` / `didChange` / `didSave`
  with ranged changes in the negotiated position encoding (utf-16 or utf-8);
- it answers `workspace/applyEdit` in one of two styles: "vscode" rejects a `TextDocumentEdit`
  whose version is not the buffer's current one (`applied: false` + failureReason); "neovim"
  silently drops it and still answers `applied: true`, and truncates an existing file on a
  `CreateFile` without `ignoreIfExists`/`overwrite`. An edit that is applied is followed by a
  `didChange` with a bumped version (before the answer for VS Code, debounced after it for Neovim);
- it answers `agentls/requestPermission` (rich clients) and `window/showMessageRequest` (plain
  clients) from a script of answers, or holds them on a future the test controls;
- it collects `agentls/sessionUpdate`, `$/progress`, `window/showMessage`, `window/showDocument`,
  `textDocument/publishDiagnostics`, and every `$/cancelRequest` the server sends.

Every wait polls a condition against a deadline, so a hang fails the test instead of blocking it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from lsprotocol import types as T
from pygls.protocol import default_converter
from pygls.uris import to_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import register_lsp_features
from pytest_lsp.protocol import LanguageClientProtocol

from agentls.lsp.protocol import (
    AGENTLS_NOTIFICATIONS,
    AGENTLS_REQUESTS,
    RawNotification,
    RawRequest,
    RawResponse,
)
from tests.e2e.helpers import cli_env
from tests.fakeapi import FakeMessagesAPI

TIMEOUT_S = 30.0
"""Upper bound for any single wait: generous, so only a real hang trips it."""

SESSION_UPDATE = "agentls/sessionUpdate"
REQUEST_PERMISSION = "agentls/requestPermission"
SAVE_DOCUMENTS = "agentls/saveDocuments"

ApprovalChoice = Literal["allow_once", "allow_always", "reject_once", "reject_always"]
CHOICE_TITLES: dict[str, str] = {
    "allow_once": "Allow once",
    "allow_always": "Always allow",
    "reject_once": "Reject",
    "reject_always": "Always reject",
}

# --- Client presets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    name: str
    client: str
    """pytest-lsp capability preset."""
    rich: bool
    """Announces `experimental.agentls` (custom permission requests and session updates)."""
    edit_style: Literal["vscode", "neovim"]
    save_documents: bool = False
    """Also announces (and answers) `agentls/saveDocuments`."""

    def capabilities(self) -> T.ClientCapabilities:
        caps = client_capabilities(self.client)
        if self.rich:
            flags: dict[str, Any] = {"requestPermission": True, "sessionUpdate": True}
            if self.save_documents:
                flags["saveDocuments"] = True
            caps.experimental = {"agentls": flags}
        return caps


VSCODE = Preset("vscode", "visual-studio-code", rich=True, edit_style="vscode", save_documents=True)
NVIM07 = Preset("nvim07", "neovim@v0.7.0", rich=False, edit_style="neovim")
NVIM011 = Preset("nvim011", "neovim@v0.11.0", rich=True, edit_style="neovim")
NVIM011_PLAIN = Preset("nvim011-plain", "neovim@v0.11.0", rich=False, edit_style="neovim")

MAIN_PRESETS = (VSCODE, NVIM07, NVIM011)
"""VS Code (utf-16, rich), Neovim 0.7 (utf-16, plain), Neovim 0.11 (utf-8, rich)."""


def presets(*items: Preset) -> pytest.MarkDecorator:
    """`@presets(VSCODE, NVIM07)`: parametrize a test's `preset` argument, ids = preset names."""
    return pytest.mark.parametrize("preset", list(items), ids=[p.name for p in items])


# --- Raw JSON for our custom methods (and code actions) on the client side ------------------------
#
# pygls would turn untyped params into namedtuples; and lsprotocol 2025.0.0's client-side
# `_code_action_hook` turns every CodeAction that has a `command` into a `Command`. Reading
# these messages as plain JSON sidesteps both.


# The server's own raw message classes serve the client side just as well.


RAW_REQUESTS = AGENTLS_REQUESTS
RAW_NOTIFICATIONS = AGENTLS_NOTIFICATIONS
RAW_RESULTS = RAW_REQUESTS | {T.TEXT_DOCUMENT_CODE_ACTION, T.CODE_ACTION_RESOLVE}


class EditorProtocol(LanguageClientProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.incoming_requests: list[tuple[int | str, str]] = []
        """(id, method) of every request the server sent, in order."""
        self.cancel_requests: list[int | str] = []
        """Ids named by every `$/cancelRequest` the server sent."""

    def get_message_type(self, method: str) -> type[Any] | None:  # type: ignore[override]
        if method in RAW_REQUESTS:
            return RawRequest
        if method in RAW_NOTIFICATIONS:
            return RawNotification
        return super().get_message_type(method)

    def get_result_type(self, method: str) -> type[Any] | None:  # type: ignore[override]
        if method in RAW_RESULTS:
            return RawResponse
        return super().get_result_type(method)

    def _handle_request(self, msg_id: Any, method_name: str, params: Any) -> None:
        self.incoming_requests.append((msg_id, method_name))
        super()._handle_request(msg_id, method_name, params)

    def _handle_notification(self, method_name: str, params: Any) -> None:
        if method_name == T.CANCEL_REQUEST:
            self.cancel_requests.append(params.id)
        super()._handle_notification(method_name, params)


def make_client() -> LanguageClient:
    client = LanguageClient(protocol_cls=EditorProtocol, converter_factory=default_converter)
    register_lsp_features(client)
    return client


# --- Positions -------------------------------------------------------------------------------------


def _units(ch: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(ch.encode("utf-8", "surrogatepass"))
    if encoding == "utf-16":
        return 2 if ord(ch) > 0xFFFF else 1
    return 1


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end of content) of every line; lines end at \\r\\n, \\r or \\n as in the LSP."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _LINE_BREAK.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return spans


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class PositionError(Exception):
    """A position that does not fall on a character boundary of the buffer (wrong encoding?)."""


def offset_at(text: str, pos: T.Position, encoding: str) -> int:
    """The string index of an LSP position in `text` under `encoding`."""
    lines = _lines(text)
    if pos.line >= len(lines):
        raise PositionError(f"line {pos.line} is past the end ({len(lines)} lines)")
    start, end = lines[pos.line]
    units, i = 0, start
    while i < end and units < pos.character:
        units += _units(text[i], encoding)
        i += 1
    if units > pos.character:
        raise PositionError(f"{pos} is inside a character ({encoding})")
    if units < pos.character:
        raise PositionError(f"{pos} is past the end of line {pos.line} ({encoding})")
    return i


def position_at(text: str, offset: int, encoding: str) -> T.Position:
    lines = _lines(text)
    line = max(i for i, (start, _) in enumerate(lines) if start <= offset)
    start, end = lines[line]
    character = sum(_units(ch, encoding) for ch in text[start : min(offset, end)])
    return T.Position(line=line, character=character)


def range_of(text: str, start: int, end: int, encoding: str) -> T.Range:
    return T.Range(start=position_at(text, start, encoding), end=position_at(text, end, encoding))


# --- The fake editor -------------------------------------------------------------------------------


@dataclass
class Doc:
    uri: str
    path: Path
    text: str
    version: int
    language_id: str = "python"
    saved_text: str | None = None
    """What is on disk as far as the editor knows (None: never saved by the editor)."""

    @property
    def dirty(self) -> bool:
        return self.text != self.saved_text


@dataclass
class EditRecord:
    """One `workspace/applyEdit` the server sent, and what the editor did with it."""

    params: T.ApplyWorkspaceEditParams
    applied: bool = False
    """What the editor answered."""
    failure_reason: str | None = None
    dropped: list[str] = field(default_factory=list)
    """Uris of stale edits that were silently dropped (Neovim style)."""
    changed: list[str] = field(default_factory=list)
    """Uris whose buffers changed."""
    versions: dict[str, int | None] = field(default_factory=dict)
    """The version each TextDocumentEdit named."""


@dataclass
class PermissionPrompt:
    """One permission prompt: `agentls/requestPermission` or `window/showMessageRequest`."""

    msg_id: int | str | None
    method: str
    params: Any
    answer: Any = None
    """What the editor answered (a choice, "cancelled", or None = dismissed)."""
    answered: bool = False
    withdrawn: bool = False
    """The handler was cancelled by the server's `$/cancelRequest`."""

    @property
    def title(self) -> str:
        if self.method == REQUEST_PERMISSION:
            return str(self.params["toolCall"]["title"])
        return str(self.params.message)


Answer = str | None | asyncio.Future[Any]
"""A choice ("allow_once", ...), "cancelled"/None (dismissed), or a future resolving to one."""


class FakeEditor:
    def __init__(self, client: LanguageClient, preset: Preset, root: Path) -> None:
        self.client = client
        self.preset = preset
        self.root = root
        self.encoding = "utf-16"
        self.init_result: T.InitializeResult | None = None
        self.docs: dict[str, Doc] = {}
        self.session_updates: list[dict[str, Any]] = []
        self.prompts: list[PermissionPrompt] = []
        self.answers: collections.deque[Answer] = collections.deque()
        self.edits: list[EditRecord] = []
        self.saves: list[list[str]] = []
        self.errors: list[str] = []
        """Protocol problems the editor noticed (checked at teardown)."""
        self.on_apply_edit: Callable[[T.ApplyWorkspaceEditParams], Awaitable[None]] | None = None
        """Runs before an applyEdit is handled, e.g. to simulate the user typing meanwhile."""
        self.debounce_s = 0.05 if preset.edit_style == "neovim" else 0.0
        """Neovim debounces didChange, so it reaches the server after the applyEdit answer."""
        self._pending_changes: list[T.DidChangeTextDocumentParams] = []
        self.tasks: dict[str, asyncio.Task[Any]] = {}
        """Background requests started by the test, by id (cancelled at teardown if still running)."""
        self.loop = asyncio.get_running_loop()
        self._flush_handle: asyncio.TimerHandle | None = None

    @property
    def protocol(self) -> EditorProtocol:
        protocol = self.client.protocol
        assert isinstance(protocol, EditorProtocol)
        return protocol

    # --- handlers (registered before initialize) ---

    def register(self) -> None:
        client = self.client

        @client.feature(SESSION_UPDATE)
        def session_update(_: LanguageClient, params: Any) -> None:
            self.session_updates.append(params)

        @client.feature(REQUEST_PERMISSION)
        async def request_permission(_: LanguageClient, params: Any) -> dict[str, Any]:
            choice = await self._prompt(REQUEST_PERMISSION, params)
            if choice in CHOICE_TITLES:
                return {"outcome": {"outcome": "selected", "optionId": choice}}
            return {"outcome": {"outcome": "cancelled"}}

        @client.feature(T.WINDOW_SHOW_MESSAGE_REQUEST)
        async def show_message_request(
            _: LanguageClient, params: T.ShowMessageRequestParams
        ) -> T.MessageActionItem | None:
            choice = await self._prompt(T.WINDOW_SHOW_MESSAGE_REQUEST, params)
            if isinstance(choice, str) and choice != "cancelled":
                title = CHOICE_TITLES.get(choice, choice)  # A permission choice, or an action's title.
                offered = [a.title for a in params.actions or []]
                if title not in offered:
                    self.errors.append(f"showMessageRequest does not offer {title!r}: {offered}")
                return T.MessageActionItem(title=title)
            return None

        @client.feature(T.WORKSPACE_APPLY_EDIT)
        async def apply_edit(
            _: LanguageClient, params: T.ApplyWorkspaceEditParams
        ) -> T.ApplyWorkspaceEditResult:
            return await self._apply_edit(params)

        @client.feature(SAVE_DOCUMENTS)
        async def save_documents(_: LanguageClient, params: Any) -> Any:
            uris = list(params.get("uris") or []) if isinstance(params, dict) else []
            self.saves.append(uris)
            for uri in uris:
                if uri in self.docs:
                    self.save(uri)
            return {"saved": uris}

    async def _prompt(self, method: str, params: Any) -> Any:
        prompt = PermissionPrompt(self.protocol._ctx_msg_id.get(), method, params)
        self.prompts.append(prompt)
        if not self.answers:
            self.errors.append(f"unexpected permission prompt: {prompt.title}")
            prompt.answered = True
            return None
        answer = self.answers.popleft()
        try:
            if isinstance(answer, asyncio.Future):
                answer = await answer
        except asyncio.CancelledError:
            prompt.withdrawn = True
            raise
        prompt.answer, prompt.answered = answer, True
        return answer

    # --- permission script ---

    def answer(self, *answers: Answer) -> None:
        """Queue answers for the next permission prompts, in order."""
        self.answers.extend(answers)

    def hold(self) -> asyncio.Future[Any]:
        """Queue a prompt that stays open until the test resolves the returned future (or never)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.answers.append(future)
        return future

    async def wait_for_prompt(self, count: int = 1) -> PermissionPrompt:
        await self.wait_until(lambda: len(self.prompts) >= count, what=f"{count} permission prompt(s)")
        return self.prompts[count - 1]

    # --- documents ---

    def uri(self, path: str | Path) -> str:
        p = Path(path)
        return (p if p.is_absolute() else self.root / p).as_uri()

    def path(self, uri: str) -> Path:
        fs_path = to_fs_path(uri)
        assert fs_path is not None, uri
        return Path(fs_path)

    def open(self, path: str | Path, text: str | None = None, language_id: str = "python") -> str:
        """didOpen a file (its disk content unless `text` is given: an unsaved buffer)."""
        uri = self.uri(path)
        p = self.path(uri)
        on_disk = p.read_text(encoding="utf-8") if p.exists() else None
        doc = Doc(uri, p, on_disk if text is None else text, 1, language_id, on_disk)
        self.docs[uri] = doc
        self._flush()
        self.client.text_document_did_open(
            T.DidOpenTextDocumentParams(
                text_document=T.TextDocumentItem(
                    uri=uri, language_id=language_id, version=doc.version, text=doc.text
                )
            )
        )
        return uri

    def text(self, uri: str) -> str:
        return self.docs[uri].text

    def version(self, uri: str) -> int:
        return self.docs[uri].version

    def type(self, uri: str, new_text: str) -> None:
        """The user edits the buffer to `new_text` (one ranged change, unsaved)."""
        doc = self.docs[uri]
        old = doc.text
        start = 0
        while start < min(len(old), len(new_text)) and old[start] == new_text[start]:
            start += 1
        end_old, end_new = len(old), len(new_text)
        while end_old > start and end_new > start and old[end_old - 1] == new_text[end_new - 1]:
            end_old -= 1
            end_new -= 1
        change = T.TextDocumentContentChangePartial(
            range=range_of(old, start, end_old, self.encoding), text=new_text[start:end_new]
        )
        doc.text = new_text
        doc.version += 1
        self._flush()
        self._send_change(doc, [change])

    def save(self, uri: str) -> None:
        doc = self.docs[uri]
        self._flush()
        doc.path.write_text(doc.text, encoding="utf-8")
        doc.saved_text = doc.text
        self.client.text_document_did_save(
            T.DidSaveTextDocumentParams(
                text_document=T.TextDocumentIdentifier(uri=uri),
                text=doc.text if self._save_includes_text() else None,
            )
        )

    def _save_includes_text(self) -> bool:
        sync = self.init_result.capabilities.text_document_sync if self.init_result else None
        save = sync.save if isinstance(sync, T.TextDocumentSyncOptions) else None
        return isinstance(save, T.SaveOptions) and bool(save.include_text)

    def close(self, uri: str) -> None:
        self._flush()
        self.docs.pop(uri)
        self.client.text_document_did_close(
            T.DidCloseTextDocumentParams(text_document=T.TextDocumentIdentifier(uri=uri))
        )

    def _send_change(self, doc: Doc, changes: Sequence[T.TextDocumentContentChangeEvent]) -> None:
        self.client.text_document_did_change(
            T.DidChangeTextDocumentParams(
                text_document=T.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
                content_changes=list(changes),
            )
        )

    def _flush(self) -> None:
        """Send debounced didChange notifications now (before anything else about documents)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        pending, self._pending_changes = self._pending_changes, []
        for params in pending:
            self.client.text_document_did_change(params)

    def _queue_change(self, doc: Doc, changes: list[T.TextDocumentContentChangeEvent]) -> None:
        params = T.DidChangeTextDocumentParams(
            text_document=T.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
            content_changes=changes,
        )
        if self.debounce_s <= 0:
            self._flush()
            self.client.text_document_did_change(params)
            return
        self._pending_changes.append(params)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(self.debounce_s, self._flush)

    # --- workspace/applyEdit ---

    async def _apply_edit(self, params: T.ApplyWorkspaceEditParams) -> T.ApplyWorkspaceEditResult:
        record = EditRecord(params)
        self.edits.append(record)
        if self.on_apply_edit is not None:
            await self.on_apply_edit(params)
        try:
            self._apply_workspace_edit(params.edit, record)
        except _EditRejected as err:
            record.applied, record.failure_reason = False, str(err)
            return T.ApplyWorkspaceEditResult(applied=False, failure_reason=str(err))
        record.applied = True
        return T.ApplyWorkspaceEditResult(applied=True)

    def _apply_workspace_edit(self, edit: T.WorkspaceEdit, record: EditRecord) -> None:
        vscode = self.preset.edit_style == "vscode"
        operations: list[Any] = list(edit.document_changes or [])
        if not operations and edit.changes:
            operations = [
                T.TextDocumentEdit(
                    text_document=T.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                    edits=list(edits),
                )
                for uri, edits in edit.changes.items()
            ]
        if vscode:
            # VS Code validates every version first and applies nothing if one is stale.
            for op in operations:
                if isinstance(op, T.TextDocumentEdit):
                    uri, version = op.text_document.uri, op.text_document.version
                    doc = self.docs.get(uri)
                    if version is not None and (doc is None or doc.version != version):
                        current = doc.version if doc else None
                        raise _EditRejected(
                            f"Cannot apply edit: {uri} has version {current}, the edit expects {version}"
                        )
        for op in operations:
            if isinstance(op, T.TextDocumentEdit):
                self._apply_text_document_edit(op, record)
            elif isinstance(op, T.CreateFile):
                self._create_file(op)
            elif isinstance(op, T.RenameFile):
                self._rename_file(op)
            elif isinstance(op, T.DeleteFile):
                self._delete_file(op)
            else:
                self.errors.append(f"unknown document change {op!r}")
                raise _EditRejected(f"unknown document change {type(op).__name__}")

    def _apply_text_document_edit(self, op: T.TextDocumentEdit, record: EditRecord) -> None:
        uri, version = op.text_document.uri, op.text_document.version
        record.versions[uri] = version
        doc = self.docs.get(uri)
        if doc is None:
            # Both editors load the file into a buffer (unsaved after the edit): didOpen first.
            self.open(self.path(uri))
            doc = self.docs[uri]
            if version is not None and version != doc.version:
                self.errors.append(f"edit of an unopened document names version {version}")
        elif version is not None and version != doc.version:
            # Only reached in Neovim style: "Buffer ... newer than edits", answered applied: true.
            record.dropped.append(uri)
            return
        spans: list[tuple[int, int, str]] = []
        for e in op.edits:
            if not isinstance(e, T.TextEdit | T.AnnotatedTextEdit):
                self.errors.append(f"unsupported edit {e!r}")
                raise _EditRejected(f"unsupported edit {type(e).__name__}")
            try:
                start = offset_at(doc.text, e.range.start, self.encoding)
                end = offset_at(doc.text, e.range.end, self.encoding)
            except PositionError as err:
                self.errors.append(f"bad position in an edit of {uri}: {err}")
                raise _EditRejected(str(err)) from None
            spans.append((start, end, e.new_text))
        spans.sort(key=lambda s: (s[0], s[1]))
        for (_, e1, _), (s2, _, _) in itertools.pairwise(spans):
            if s2 < e1:
                self.errors.append(f"overlapping edits in {uri}")
                raise _EditRejected("overlapping edits")
        old = doc.text
        text = old
        changes: list[T.TextDocumentContentChangeEvent] = []
        for start, end, new in reversed(spans):
            # Ranges of the original text stay valid when changes go last-to-first.
            changes.append(
                T.TextDocumentContentChangePartial(range=range_of(old, start, end, self.encoding), text=new)
            )
            text = text[:start] + new + text[end:]
        if text == old:
            return
        doc.text = text
        doc.version += 1
        record.changed.append(uri)
        self._queue_change(doc, changes)

    def _create_file(self, op: T.CreateFile) -> None:
        path = self.path(op.uri)
        options = op.options
        exists = path.exists()
        if exists and options is not None and options.ignore_if_exists:
            return
        if exists and not (options is not None and options.overwrite):
            if self.preset.edit_style == "vscode":
                raise _EditRejected(f"File {path} already exists")
            self.errors.append(f"CreateFile without ignoreIfExists/overwrite truncated {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")
        if op.uri in self.docs:
            doc = self.docs[op.uri]
            doc.saved_text = ""
            if doc.text:
                doc.text, doc.version = "", doc.version + 1
                self._queue_change(doc, [T.TextDocumentContentChangeWholeDocument(text="")])

    def _rename_file(self, op: T.RenameFile) -> None:
        old, new = self.path(op.old_uri), self.path(op.new_uri)
        if new.exists() and not (op.options and (op.options.overwrite or op.options.ignore_if_exists)):
            raise _EditRejected(f"File {new} already exists")
        new.parent.mkdir(parents=True, exist_ok=True)
        old.rename(new)
        if op.old_uri in self.docs:
            self.close(op.old_uri)
            self.open(new)

    def _delete_file(self, op: T.DeleteFile) -> None:
        path = self.path(op.uri)
        if op.uri in self.docs:
            self.close(op.uri)
        if path.exists():
            path.unlink()
        elif not (op.options and op.options.ignore_if_not_exists):
            raise _EditRejected(f"File {path} does not exist")

    # --- agentls/* requests ---

    async def request(
        self, method: str, params: Any, *, msg_id: str | None = None, within: float = TIMEOUT_S
    ) -> Any:
        """Send a request and wait for its answer; silence fails after `within` s."""
        return await asyncio.wait_for(self.protocol.send_request_async(method, params, msg_id=msg_id), within)

    async def new_session(self, cwd: str | Path | None = None) -> str:
        params: dict[str, Any] = {} if cwd is None else {"cwd": str(cwd)}
        result = await self.request("agentls/newSession", params)
        return str(result["sessionId"])

    async def prompt(self, session_id: str, text: str, *, within: float = TIMEOUT_S) -> dict[str, Any]:
        """Run a whole turn through `agentls/prompt`; returns `{stopReason, ...}`."""
        result = await self.request("agentls/prompt", prompt_params(session_id, text), within=within)
        assert isinstance(result, dict), result
        return result

    def start_prompt(self, session_id: str, text: str) -> tuple[str, asyncio.Task[Any]]:
        """Start a turn in the background; returns its request id (for `$/cancelRequest`) and task."""
        msg_id = f"prompt-{uuid.uuid4()}"
        task = asyncio.ensure_future(
            self.request("agentls/prompt", prompt_params(session_id, text), msg_id=msg_id)
        )
        self.tasks[msg_id] = task
        return msg_id, task

    def cancel_request(self, msg_id: str) -> None:
        self.client.cancel_request(T.CancelParams(id=msg_id))

    def cancel_session(self, session_id: str) -> None:
        self.protocol.notify("agentls/cancel", {"sessionId": session_id})

    async def code_actions(
        self,
        uri: str,
        rng: T.Range,
        diagnostics: Sequence[T.Diagnostic] = (),
        *,
        only: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """`textDocument/codeAction`, as plain JSON (see RawResponse)."""
        params = T.CodeActionParams(
            text_document=T.TextDocumentIdentifier(uri=uri),
            range=rng,
            context=T.CodeActionContext(
                diagnostics=list(diagnostics),
                only=[T.CodeActionKind(k) for k in only] if only else None,
                trigger_kind=T.CodeActionTriggerKind.Invoked,
            ),
        )
        result = await self.request(T.TEXT_DOCUMENT_CODE_ACTION, params)
        return list(result or [])

    async def execute_command(self, command: str, arguments: Sequence[Any] = ()) -> Any:
        return await asyncio.wait_for(
            self.client.workspace_execute_command_async(
                T.ExecuteCommandParams(command=command, arguments=list(arguments))
            ),
            TIMEOUT_S,
        )

    async def sync(self) -> None:
        """A request round trip: every notification sent before it has been handled."""
        await self.request("agentls/listSessions", {})

    def run_from_thread(self, fn: Callable[[], Awaitable[Any]], within: float = TIMEOUT_S) -> Any:
        """Run `fn()` on the editor's loop from another thread (e.g. a fake API step) and wait."""
        return asyncio.run_coroutine_threadsafe(_call(fn), self.loop).result(within)

    # --- positions in this editor's encoding ---

    def position(self, uri: str, offset: int) -> T.Position:
        return position_at(self.text(uri), offset, self.encoding)

    def range_of(self, uri: str, needle: str) -> T.Range:
        """The range of the first occurrence of `needle` in the buffer."""
        text = self.text(uri)
        start = text.index(needle)
        return range_of(text, start, start + len(needle), self.encoding)

    # --- what the server said ---

    def updates(self, kind: str | None = None, session_id: str | None = None) -> list[dict[str, Any]]:
        """`update` objects of the session updates received so far, optionally filtered."""
        return [
            n["update"]
            for n in self.session_updates
            if (session_id is None or n["sessionId"] == session_id)
            and (kind is None or n["update"]["sessionUpdate"] == kind)
        ]

    def agent_text(self, session_id: str | None = None) -> str:
        return "".join(u["content"]["text"] for u in self.updates("agent_message_chunk", session_id))

    def progress_runs(self) -> list[list[Any]]:
        """The `$/progress` values of every server-created token that began, in creation order."""
        return [
            values
            for values in self.client.progress_reports.values()
            if values and isinstance(values[0], T.WorkDoneProgressBegin)
        ]

    def error_popups(self) -> list[str]:
        """`window/showMessage` errors, e.g. pygls' "Error in server: ..."."""
        return [
            m.message
            for m in self.client.messages
            if m.type == T.MessageType.Error or "Error in server" in m.message
        ]

    async def wait_until(
        self, condition: Callable[[], Any], *, within: float = TIMEOUT_S, what: str = "condition"
    ) -> Any:
        return await wait_until(condition, within=within, what=what)


class _EditRejected(Exception):
    pass


async def _call(fn: Callable[[], Awaitable[Any]]) -> Any:
    return await fn()


def prompt_params(session_id: str, text: str) -> dict[str, Any]:
    return {"sessionId": session_id, "prompt": [{"type": "text", "text": text}]}


async def wait_until(
    condition: Callable[[], Any], *, within: float = TIMEOUT_S, what: str = "condition"
) -> Any:
    """Poll `condition` until it returns something truthy; return that, or fail after `within` s."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(0.01)


# --- Starting the server ---------------------------------------------------------------------------

DEFAULT_OPTIONS: dict[str, Any] = {"maxTurns": 8}


@contextlib.asynccontextmanager
async def running_editor(
    preset: Preset,
    root: Path,
    fake: FakeMessagesAPI,
    *,
    home: Path,
    options: dict[str, Any] | None = None,
    check_errors: bool = True,
    fd_limit: int | None = None,
) -> AsyncIterator[FakeEditor]:
    """Start `agentls` against `fake`, connect a `FakeEditor` with `preset`'s capabilities, and
    initialize it with `root` as the workspace folder. On exit: shutdown, exit, and stop.
    `fd_limit`: the server runs under `ulimit -n fd_limit`."""
    env = cli_env(home, fake.base_url)
    command = [sys.executable, "-m", "agentls"]
    if fd_limit is not None:
        command = ["/bin/sh", "-c", f'ulimit -n {int(fd_limit)} && exec "$0" "$@"', *command]
    config = ClientServerConfig(server_command=command, server_env=env, client_factory=make_client)
    client = await config.start()
    assert isinstance(client, LanguageClient)
    editor = FakeEditor(client, preset, root)
    editor.register()
    ok = False
    try:
        result = await asyncio.wait_for(
            client.initialize_session(
                T.InitializeParams(
                    capabilities=preset.capabilities(),
                    client_info=T.ClientInfo(name=f"fake-{preset.name}", version="0"),
                    root_uri=root.as_uri(),
                    workspace_folders=[T.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
                    initialization_options={**DEFAULT_OPTIONS, **(options or {})},
                )
            ),
            TIMEOUT_S,
        )
        editor.init_result = result
        encoding = result.capabilities.position_encoding
        editor.encoding = str(getattr(encoding, "value", encoding) or "utf-16")
        yield editor
        ok = True
    finally:
        editor._flush()
        # Requests still running: cancel them the LSP way, so the server's late answer does not
        # land on a locally cancelled future; then give up on them.
        running = {mid: t for mid, t in editor.tasks.items() if not t.done()}
        for mid in running:
            editor.cancel_request(mid)
        if running:
            await asyncio.wait(running.values(), timeout=10.0)
        for task in running.values():
            task.cancel()
        await asyncio.gather(*editor.tasks.values(), return_exceptions=True)
        try:
            await asyncio.wait_for(client.shutdown_session(), TIMEOUT_S)
        except Exception:
            server = client._server
            if server is not None and server.returncode is None:
                server.kill()
            if ok:
                raise
        finally:
            await asyncio.wait_for(client.stop(), TIMEOUT_S)
    if check_errors:
        assert not editor.errors, editor.errors
        assert not editor.error_popups(), editor.error_popups()


@dataclass
class Env:
    """Per-test paths: the project (workspace root) and a private AGENTLS_HOME."""

    root: Path
    home: Path

    def editor(
        self,
        preset: Preset,
        fake: FakeMessagesAPI,
        *,
        options: dict[str, Any] | None = None,
        check_errors: bool = True,
        fd_limit: int | None = None,
    ) -> contextlib.AbstractAsyncContextManager[FakeEditor]:
        return running_editor(
            preset,
            self.root,
            fake,
            home=self.home,
            options=options,
            check_errors=check_errors,
            fd_limit=fd_limit,
        )


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of the last user message of a Messages API request body."""
    message = body["messages"][-1]
    assert message["role"] == "user", message
    content = message["content"]
    if isinstance(content, str):
        return []
    return [b for b in content if b.get("type") == "tool_result"]


def result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    return "".join(c.get("text", "") for c in content or [] if isinstance(c, dict))

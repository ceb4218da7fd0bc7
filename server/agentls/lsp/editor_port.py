"""`EditorPort`: what the editor workspace needs from the connected editor, and its pygls version.

The port is deliberately small (capabilities, the open documents, two requests) so that
`EditorWorkspace` can be tested against a fake editor that behaves like VS Code, like Neovim or
like a client without `workspace/applyEdit`, with no JSON-RPC in between.
"""

from __future__ import annotations

from typing import Any, Protocol

from lsprotocol import types as T

from agentls.lsp.client_channel import ClientChannel
from agentls.lsp.client_features import ClientFeatures
from agentls.lsp.documents import DocumentTracker
from agentls.lsp.protocol import SAVE_DOCUMENTS


class EditorPort(Protocol):
    @property
    def features(self) -> ClientFeatures:
        """Read on every use: `initialize` may come after the workspace was made."""
        ...

    @property
    def documents(self) -> DocumentTracker:
        """The documents the client has open, updated by its didOpen/didChange/didClose/didSave."""
        ...

    async def apply_edit(self, params: T.ApplyWorkspaceEditParams) -> T.ApplyWorkspaceEditResult:
        """Send `workspace/applyEdit`; raises if the client answers with an error."""
        ...

    async def save_documents(self, uris: list[str]) -> None:
        """Send `agentls/saveDocuments {uris}` (rich clients only); raises on an error answer."""
        ...


class LspEditorPort:
    """The port over the server's client channel and document store."""

    def __init__(self, channel: ClientChannel, documents: DocumentTracker) -> None:
        self._channel = channel
        self._documents = documents

    @property
    def features(self) -> ClientFeatures:
        return self._channel.features

    @property
    def documents(self) -> DocumentTracker:
        return self._documents

    async def apply_edit(self, params: T.ApplyWorkspaceEditParams) -> T.ApplyWorkspaceEditResult:
        return edit_result(await self._channel.request(T.WORKSPACE_APPLY_EDIT, params))

    async def save_documents(self, uris: list[str]) -> None:
        await self._channel.request(SAVE_DOCUMENTS, {"uris": uris})


def edit_result(answer: Any) -> T.ApplyWorkspaceEditResult:
    """pygls structures the answer; accept a plain dict too, and treat nonsense as "not applied"."""
    if isinstance(answer, T.ApplyWorkspaceEditResult):
        return answer
    if isinstance(answer, dict):
        reason = answer.get("failureReason")
        return T.ApplyWorkspaceEditResult(
            applied=answer.get("applied") is True,
            failure_reason=reason if isinstance(reason, str) else None,
        )
    return T.ApplyWorkspaceEditResult(applied=False, failure_reason=f"unexpected answer {answer!r}")

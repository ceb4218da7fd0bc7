"""didOpen / didChange / didClose / didSave: the client's documents into the one store
(`documents.DocumentTracker`), and every change to the change listeners (findings follow edits).

Plain (not async) handlers: pygls runs them inline, right after its own handler, so the store
sees the changes in the order the client sent them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types as T

if TYPE_CHECKING:
    from agentls.lsp.state import ServerState

log = logging.getLogger(__name__)

SAVE_OPTIONS = T.SaveOptions(include_text=False)
"""What `initialize` announces for `didSave`: the store counts saves, it does not need the text."""


def did_open(state: ServerState, params: T.DidOpenTextDocumentParams) -> None:
    doc = params.text_document
    state.documents.did_open(doc.uri, doc.text, doc.version, doc.language_id)


def did_change(state: ServerState, params: T.DidChangeTextDocumentParams) -> None:
    doc = params.text_document
    state.documents.did_change(doc.uri, doc.version, params.content_changes, state.features.position_encoding)
    for listener in list(state.change_listeners):
        try:
            listener(doc.uri, params.content_changes)
        except Exception:  # One broken listener must not starve the others.
            log.exception("change listener %r failed", listener)


def did_close(state: ServerState, params: T.DidCloseTextDocumentParams) -> None:
    state.documents.did_close(params.text_document.uri)


def did_save(state: ServerState, params: T.DidSaveTextDocumentParams) -> None:
    state.documents.did_save(params.text_document.uri)

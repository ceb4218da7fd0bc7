"""The agent works on the editor's buffers: it reads unsaved text, edits through
`workspace/applyEdit` (with `documentChanges` and the buffer's version), checks that the edit
really landed, and saves agent-edited buffers before a command runs.

Edited lines hold non-ASCII text and an emoji before the edited text, so a range computed in the
wrong position encoding (utf-16 for VS Code and Neovim 0.7, utf-8 for Neovim 0.11) would corrupt
the line instead of passing unnoticed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as T

from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall
from tests.lsp.harness import (
    MAIN_PRESETS,
    NVIM011,
    NVIM07,
    VSCODE,
    Env,
    FakeEditor,
    Preset,
    presets,
    result_text,
    tool_results,
)

pytestmark = pytest.mark.slow

ON_DISK = 'def greet(name):\n    return "🎉 héllo " + name\n'
USER_NOTE = "# naïve note, not saved yet ✓\n"
OLD = "+ name\n"
NEW = '+ name.title() + "!"\n'
AFTER_AGENT = 'def greet(name):\n    return "🎉 héllo " + name.title() + "!"\n'


def read(path: Path) -> ToolCall:
    return ToolCall("Read", {"file_path": str(path)})


def edit(path: Path, old: str = OLD, new: str = NEW) -> ToolCall:
    return ToolCall("Edit", {"file_path": str(path), "old_string": old, "new_string": new})


def only_text_edit(editor: FakeEditor, index: int = 0) -> T.TextDocumentEdit:
    changes = editor.edits[index].params.edit.document_changes
    assert changes is not None and len(changes) == 1, changes
    (change,) = changes
    assert isinstance(change, T.TextDocumentEdit)
    return change


@presets(*MAIN_PRESETS)
async def test_agent_reads_the_unsaved_buffer_and_edits_it_through_the_editor(
    env: Env, preset: Preset
) -> None:
    app = env.root / "app.py"
    app.write_text(ON_DISK, encoding="utf-8")
    new_module = env.root / "pkg" / "extra.py"
    script = [
        Reply([read(app)]),
        Reply([edit(app)]),
        Reply([ToolCall("Write", {"file_path": str(new_module), "content": "VALUE = 'ünïcode'\n"})]),
        Reply([ToolCall("Bash", {"command": "cat app.py pkg/extra.py", "description": "Show the files"})]),
        Reply([Text("Greeting improved.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        # acceptEdits: the edits need no prompt; the command does.
        async with env.editor(preset, fake, options={"permissionMode": "acceptEdits"}) as editor:
            uri = editor.open(app, USER_NOTE + ON_DISK)  # The user typed a line and did not save.
            session_id = await editor.new_session()
            editor.answer("allow_once")
            result = await editor.prompt(session_id, "Make the greeting nicer")
            buffer = editor.text(uri)
            extra_uri = editor.uri(new_module)
            extra_buffer = editor.text(extra_uri) if extra_uri in editor.docs else None
        fake.assert_consumed()
    assert result["stopReason"] == "end_turn"
    assert editor.encoding == ("utf-8" if preset.name == "nvim011" else "utf-16")

    # Read saw the buffer, unsaved line included.
    (read_result,) = tool_results(fake.requests[1])
    assert "naïve note, not saved yet" in result_text(read_result)
    (edit_result,) = tool_results(fake.requests[2])
    assert not edit_result.get("is_error"), edit_result

    # The edit went to the editor, against the version the buffer had.
    change = only_text_edit(editor)
    assert change.text_document.uri == uri
    assert change.text_document.version == 1
    assert editor.edits[0].applied is True
    assert buffer == USER_NOTE + AFTER_AGENT

    # The new file went through the editor too, created without clobbering anything.
    create_ops = [
        op
        for record in editor.edits
        for op in record.params.edit.document_changes or []
        if isinstance(op, T.CreateFile)
    ]
    assert [op.uri for op in create_ops] == [editor.uri(new_module)]
    assert create_ops[0].options is not None
    assert create_ops[0].options.ignore_if_exists or create_ops[0].options.overwrite
    assert extra_buffer == "VALUE = 'ünïcode'\n"

    # Before the command ran, the agent-edited buffers were saved: `cat` saw the agent's edit.
    (cat_result,) = tool_results(fake.requests[4])
    assert not cat_result.get("is_error"), cat_result
    cat = result_text(cat_result)
    assert '"🎉 héllo " + name.title() + "!"' in cat
    assert "VALUE = 'ünïcode'" in cat
    assert app.read_text(encoding="utf-8") == USER_NOTE + AFTER_AGENT
    assert new_module.read_text(encoding="utf-8") == "VALUE = 'ünïcode'\n"
    if preset.save_documents:
        # A client that announces agentls/saveDocuments saves with its own machinery.
        assert editor.saves and uri in editor.saves[0]
    else:
        assert editor.saves == []


STALE_STYLES = [
    # VS Code refuses a stale edit with applied: false.
    pytest.param(VSCODE, id="vscode-applied-false"),
    # Neovim 0.11 (utf-8 positions) drops it silently and answers applied: true.
    pytest.param(NVIM011, id="nvim011-dropped-utf8"),
    # Neovim 0.7 (utf-16 positions) does the same.
    pytest.param(NVIM07, id="nvim07-dropped-utf16"),
]


@pytest.mark.parametrize("preset", STALE_STYLES)
async def test_stale_edits_are_reported_to_the_model(env: Env, preset: Preset) -> None:
    """Two ways an edit goes stale, each followed by the model re-reading and retrying:
    1. the user types between the agent's Read and its Edit: caught before any applyEdit;
    2. the user types while the editor handles the applyEdit: the editor refuses it (VS Code)
       or drops it while answering applied: true (Neovim); the server notices either way."""
    app = env.root / "app.py"
    app.write_text(ON_DISK, encoding="utf-8")
    typed_after_read = "# typed after the agent read the file\n"
    typed_in_flight = "# typed while the edit was in flight 😀\n"
    editor_ref: list[FakeEditor] = []

    def user_types_then_edit(body: dict[str, Any]) -> Reply:
        # Runs in the fake API's thread when the request after the first Read arrives.
        editor = editor_ref[0]
        uri = editor.uri(app)

        async def user_types() -> None:
            editor.type(uri, typed_after_read + editor.text(uri))
            await editor.sync()  # The server has handled the didChange.

        editor.run_from_thread(user_types)
        return Reply([edit(app)])

    script = [
        Reply([read(app)]),
        user_types_then_edit,  # 1. Stale before it is sent.
        Reply([read(app)]),
        Reply([edit(app)]),  # 2. Goes stale while the editor handles it.
        Reply([read(app)]),
        Reply([edit(app)]),  # Against the fresh buffer: lands.
        Reply([Text("Done, after two re-reads.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(preset, fake, options={"permissionMode": "acceptEdits"}) as editor:
            editor_ref.append(editor)
            uri = editor.open(app)
            typed_once: list[bool] = []

            async def user_types_meanwhile(params: T.ApplyWorkspaceEditParams) -> None:
                if not typed_once:
                    typed_once.append(True)
                    editor.type(uri, typed_in_flight + editor.text(uri))

            editor.on_apply_edit = user_types_meanwhile
            session_id = await editor.new_session()
            result = await editor.prompt(session_id, "Make the greeting nicer")
            buffer = editor.text(uri)
        fake.assert_consumed()
    assert result["stopReason"] == "end_turn"
    assert editor.encoding == ("utf-8" if preset.name == "nvim011" else "utf-16")

    # 1. Caught by the server before anything was sent to the editor.
    (stale_before,) = tool_results(fake.requests[2])
    assert stale_before["is_error"] is True
    assert "modified since it was read" in result_text(stale_before)

    # 2. Sent against version 2 (after the first typing); version 3 by the time it arrived.
    first, second = editor.edits
    assert only_text_edit(editor, 0).text_document.version == 2
    if preset.edit_style == "vscode":
        assert first.applied is False and first.failure_reason
    else:
        assert first.applied is True and first.dropped == [uri]  # What Neovim really does.
    (stale_in_flight,) = tool_results(fake.requests[4])
    assert stale_in_flight["is_error"] is True
    text = result_text(stale_in_flight).lower()
    assert "read" in text and "editor" in text, text

    # The buffer kept all the user's typing; the retry, based on a fresh Read, landed once.
    assert second.applied is True and second.dropped == []
    assert only_text_edit(editor, 1).text_document.version == 3
    assert buffer == typed_in_flight + typed_after_read + AFTER_AGENT
    (retry,) = tool_results(fake.requests[6])
    assert not retry.get("is_error"), retry
    assert app.read_text(encoding="utf-8") == ON_DISK  # No command ran: nothing was saved.

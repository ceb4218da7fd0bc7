"""Checkpoints and rewind from an editor: `agentls/listCheckpoints` lists what the agent changed
after each prompt; `agentls/rewind` puts an open buffer back through one `workspace/applyEdit`
(the editor's undo would bring the agent's version back) and closed files on disk, and rewinds
the conversation (a reloaded session no longer shows the turn); a plain client's
`agentls.rewind` command shows the plan in `window/showMessageRequest` and asks; errors are
JSON-RPC errors."""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types as T
from pygls.exceptions import JsonRpcException

from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall
from tests.lsp.harness import NVIM07, VSCODE, Env, Preset, presets

pytestmark = pytest.mark.slow

ORIGINAL = "def greet(name):\n    return 'hello ' + name\n"
EDITED = "def greet(name):\n    return 'HELLO ' + name\n"


def agent_turn(env: Env) -> list[Reply]:
    app = str(env.root / "app.py")
    return [
        Reply([ToolCall("Read", {"file_path": app})]),
        Reply([ToolCall("Edit", {"file_path": app, "old_string": "'hello '", "new_string": "'HELLO '"})]),
        Reply(
            [ToolCall("Bash", {"command": "printf 'made\\n' > made.txt && rm old.txt", "description": "x"})]
        ),
        Reply([Text("Done.")]),
    ]


def texts(result: dict[str, Any]) -> list[str]:
    return [
        u["content"]["text"]
        for u in result.get("updates", [])
        if u.get("sessionUpdate") == "user_message_chunk"
    ]


@presets(VSCODE)
async def test_the_panel_lists_checkpoints_and_rewinds_an_open_buffer_through_the_editor(
    env: Env, preset: Preset
) -> None:
    app = env.root / "app.py"
    app.write_text(ORIGINAL)
    (env.root / "old.txt").write_text("old\n")
    with FakeMessagesAPI([Reply([Text("Hello.")]), *agent_turn(env), Reply([Text("Hi again.")])]) as fake:
        async with env.editor(preset, fake, options={"permissionMode": "bypassPermissions"}) as editor:
            uri = editor.open(app)
            session_id = await editor.new_session()
            await editor.prompt(session_id, "Say hello first")
            await editor.prompt(session_id, "Shout the greeting")
            assert editor.text(uri) == EDITED
            live = editor.updates("checkpoint", session_id)
            mark = len(editor.session_updates)
            await editor.request("agentls/loadSession", {"sessionId": session_id})
            replayed = [u["update"] for u in editor.session_updates[mark:]]
            listed = await editor.request("agentls/listCheckpoints", {"sessionId": session_id})
            preview = await editor.request(
                "agentls/rewind", {"sessionId": session_id, "to": 2, "part": "both", "dryRun": True}
            )
            edits_before = len(editor.edits)
            done = await editor.request("agentls/rewind", {"sessionId": session_id, "to": 2, "part": "both"})
            restored_buffer = editor.text(uri)
            rewind_edits = editor.edits[edits_before:]
            loaded = await editor.request("agentls/loadSession", {"sessionId": session_id})
            await editor.prompt(session_id, "Say hi")
            last_request = fake.requests[-1]

    # Each prompt's checkpoint reached the panel as the turn started, and again, after its user
    # message, when the conversation was loaded.
    assert [(u["checkpoint"], u["kind"]) for u in live] == [(1, "prompt"), (2, "prompt")]
    shown = [
        f"#{u['checkpoint']}" if u["sessionUpdate"] == "checkpoint" else u["content"]["text"]
        for u in replayed
        if u["sessionUpdate"] in ("checkpoint", "user_message_chunk", "agent_message_chunk")
    ]
    assert shown[:4] == ["Say hello first", "#1", "Hello.", "Shout the greeting"], shown
    assert "#2" in shown
    hello, checkpoint = listed["checkpoints"]
    assert hello["files"] == [] and hello["prompt"] == "Say hello first"
    assert checkpoint["n"] == 2 and checkpoint["prompt"] == "Shout the greeting"
    assert {f["path"]: f["by"] for f in checkpoint["files"]} == {
        "app.py": "Edit",
        "made.txt": "Bash",
        "old.txt": "Bash",
    }
    assert {f["path"]: f["action"] for f in preview["files"]} == {
        "app.py": "restore",
        "made.txt": "delete",
        "old.txt": "create",
    }
    assert preview["dryRun"] is True and preview["conversation"] is False
    # The open buffer came back through one applyEdit (so the editor can undo it); the closed
    # files on disk.
    assert done["restored"] and done["conversation"] is True and done["undo"] == 3
    assert restored_buffer == ORIGINAL and len(rewind_edits) == 1
    assert not (env.root / "made.txt").exists() and (env.root / "old.txt").read_text() == "old\n"
    assert "Shout the greeting" not in str(loaded)
    assert "Say hello first" in str(last_request["messages"])
    assert "Shout the greeting" not in str(last_request["messages"])


@presets(NVIM07)
async def test_a_plain_client_is_shown_the_plan_and_asked(env: Env, preset: Preset) -> None:
    app = env.root / "app.py"
    app.write_text(ORIGINAL)
    (env.root / "old.txt").write_text("old\n")
    with FakeMessagesAPI(agent_turn(env)) as fake:
        async with env.editor(preset, fake, options={"permissionMode": "bypassPermissions"}) as editor:
            session_id = await editor.new_session()
            await editor.prompt(session_id, "Shout the greeting")
            (env.root / "made.txt").write_text("the user's own\n")  # A conflict now.
            editor.answer("Cancel")
            cancelled = await editor.execute_command("agentls.rewind", [{"sessionId": session_id}])
            untouched = (env.root / "old.txt").exists()
            editor.answer("Rewind")
            done = await editor.execute_command("agentls.rewind", [{"sessionId": session_id}])
            asked = [p.params.message for p in editor.prompts]
            # Neovim loads a file an applyEdit names into a buffer: the agent's edit and the
            # rewind both land there (unsaved, as the agent's edits are).
            app_now = editor.text(editor.uri(app)) if editor.uri(app) in editor.docs else app.read_text()
            await editor.wait_until(
                lambda: any("rewound to checkpoint 1" in m.message for m in editor.client.messages),
                what="the outcome message",
            )
            with pytest.raises(JsonRpcException, match="no checkpoint 7"):
                await editor.execute_command("agentls.rewind", [{"sessionId": session_id, "to": 7}])
            with pytest.raises(JsonRpcException, match="no session 'nope'"):
                await editor.request("agentls/listCheckpoints", {"sessionId": "nope"})

    assert cancelled["rewound"] is False and not untouched  # Cancel: nothing came back.
    assert "restore app.py" in asked[0] and "bring back old.txt" in asked[0]
    assert "CONFLICT made.txt" in asked[0]
    assert done["rewound"] is True and done["kept"] == ["made.txt"]
    assert app_now == ORIGINAL and (env.root / "made.txt").read_text() == "the user's own\n"
    assert T.MessageType.Info in [m.type for m in editor.client.messages]


@presets(VSCODE)
async def test_an_earlier_turns_unsaved_edit_stays_when_a_later_turn_is_rewound(
    env: Env, preset: Preset
) -> None:
    """The agent's edit of an open buffer is not on disk until a command runs; the next prompt's
    checkpoint takes the buffer as the agent left it, so rewinding that prompt keeps the edit."""
    app = env.root / "app.py"
    app.write_text(ORIGINAL)
    path = str(app)
    script = [
        Reply([ToolCall("Read", {"file_path": path})]),
        Reply([ToolCall("Edit", {"file_path": path, "old_string": "'hello '", "new_string": "'HELLO '"})]),
        Reply([Text("Shouted.")]),
        Reply([ToolCall("Bash", {"command": "printf 'x\\n' > other.txt", "description": "x"})]),
        Reply([Text("Other written.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(preset, fake, options={"permissionMode": "bypassPermissions"}) as editor:
            uri = editor.open(app)
            session_id = await editor.new_session()
            await editor.prompt(session_id, "Shout")
            unsaved = app.read_text() == ORIGINAL and editor.text(uri) == EDITED
            await editor.prompt(session_id, "Write other")
            later = await editor.request("agentls/rewind", {"sessionId": session_id, "to": 2, "part": "code"})
            after_later = editor.text(uri)
            earlier = await editor.request(
                "agentls/rewind", {"sessionId": session_id, "to": 1, "part": "code"}
            )
            after_earlier = editor.text(uri)
    assert unsaved  # The edit was in the buffer only when the second prompt came.
    assert later["restored"] == ["other.txt"] and after_later == EDITED
    assert not (env.root / "other.txt").exists()
    assert earlier["restored"] == ["app.py"] and after_earlier == ORIGINAL

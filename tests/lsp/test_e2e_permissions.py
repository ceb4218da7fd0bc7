"""Permission prompts through the language server, on both paths: the ACP-shaped
`agentls/requestPermission` for rich clients and `window/showMessageRequest` for plain ones.

Every test drives whole turns against the fake Messages API and checks what actually happened
(marker files made by the Bash tool) and what the model was told (the next request's body).
"""

from __future__ import annotations

import asyncio
import json

import pytest
from lsprotocol import types as T
from pygls.exceptions import JsonRpcRequestCancelled

from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall
from tests.lsp.harness import (
    NVIM011,
    NVIM07,
    REQUEST_PERMISSION,
    VSCODE,
    Env,
    FakeEditor,
    PermissionPrompt,
    Preset,
    presets,
    result_text,
    tool_results,
    wait_until,
)

pytestmark = pytest.mark.slow

BOTH_PATHS = (VSCODE, NVIM07)
"""VS Code with our extension (custom request) and a plain Neovim 0.7 (showMessageRequest)."""


def bash(command: str) -> ToolCall:
    return ToolCall("Bash", {"command": command})


def check_prompt(editor: FakeEditor, prompt: PermissionPrompt, command: str) -> None:
    """The prompt went the right way for the client and names the command."""
    if editor.preset.rich:
        assert prompt.method == REQUEST_PERMISSION
        params = prompt.params
        assert params["toolCall"]["kind"] == "execute"
        assert params["toolCall"]["rawInput"]["command"] == command
        assert [o["optionId"] for o in params["options"]] == [
            "allow_once",
            "allow_always",
            "reject_once",
            "reject_always",
        ]
        assert [o["kind"] for o in params["options"]] == [o["optionId"] for o in params["options"]]
    else:
        assert prompt.method == T.WINDOW_SHOW_MESSAGE_REQUEST
        assert command in prompt.params.message
        assert [a.title for a in prompt.params.actions] == [
            "Allow once",
            "Always allow",
            "Reject",
            "Always reject",
        ]


@presets(*BOTH_PATHS)
async def test_allow_deny_and_always_allow(env: Env, preset: Preset) -> None:
    allow_cmd, deny_cmd, always_cmd = (
        "touch allowed.marker",
        "touch denied.marker",
        "echo hi >> always.marker",
    )
    script = [
        Reply([bash(allow_cmd)]),
        Reply([Text("Made it.")]),
        Reply([bash(deny_cmd)]),
        Reply([Text("Understood, I will not.")]),
        Reply([bash(always_cmd)]),
        Reply([Text("Done once.")]),
        # In a new session: the same command again.
        Reply([bash(always_cmd)]),
        Reply([Text("Done twice.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(preset, fake) as editor:
            session_id = await editor.new_session()
            editor.answer("allow_once", "reject_once", "allow_always")
            for prompt in ("make the first marker", "make the second marker", "append a line"):
                assert (await editor.prompt(session_id, prompt))["stopReason"] == "end_turn"
            settings = json.loads((env.root / ".agentls" / "settings.local.json").read_text())

            second = await editor.new_session()
            assert (await editor.prompt(second, "append it again"))["stopReason"] == "end_turn"
        fake.assert_consumed()

    assert len(editor.prompts) == 3  # The last, identical call did not ask.
    for prompt, command in zip(editor.prompts, (allow_cmd, deny_cmd, always_cmd), strict=True):
        check_prompt(editor, prompt, command)

    # Allowed: it ran, and the model got its (successful) result.
    assert (env.root / "allowed.marker").exists()
    (allowed,) = tool_results(fake.requests[1])
    assert not allowed.get("is_error")
    # Denied: it did not run, and the model was told the user rejected it.
    assert not (env.root / "denied.marker").exists()
    (denied,) = tool_results(fake.requests[3])
    assert denied["is_error"] is True
    assert "rejected" in result_text(denied)
    # Always allowed: a rule in the project's local settings, honoured by the next session.
    assert f"Bash({always_cmd})" in settings["permissions"]["allow"]
    assert (env.root / "always.marker").read_text() == "hi\nhi\n"
    (again,) = tool_results(fake.requests[7])
    assert not again.get("is_error")


CANCEL_WAYS = [
    pytest.param(VSCODE, "cancelRequest", id="vscode-cancelRequest"),
    pytest.param(NVIM011, "agentls/cancel", id="nvim011-agentls/cancel"),
    pytest.param(NVIM07, "workDoneProgress/cancel", id="nvim07-workDoneProgress/cancel"),
]


@pytest.mark.parametrize(("preset", "how"), CANCEL_WAYS)
async def test_cancel_while_a_permission_prompt_is_pending(env: Env, preset: Preset, how: str) -> None:
    script = [
        Reply([bash("touch cancelled.marker")]),
        # The session is usable afterwards; its history answers the cancelled call.
        Reply([Text("Fresh start.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(preset, fake) as editor:
            session_id = await editor.new_session()
            editor.hold()  # Never answered: only the cancellation ends the prompt.
            msg_id, turn = editor.start_prompt(session_id, "touch the marker")
            prompt = await editor.wait_for_prompt()

            if how == "cancelRequest":
                editor.cancel_request(msg_id)
                with pytest.raises(JsonRpcRequestCancelled):
                    await asyncio.wait_for(turn, 30.0)
            elif how == "agentls/cancel":
                editor.cancel_session(session_id)
                assert (await asyncio.wait_for(turn, 30.0))["stopReason"] == "cancelled"
            else:
                (token,) = [t for t, v in editor.client.progress_reports.items() if v]
                editor.client.window_work_done_progress_cancel(T.WorkDoneProgressCancelParams(token=token))
                assert (await asyncio.wait_for(turn, 30.0))["stopReason"] == "cancelled"

            # The pending prompt was withdrawn with $/cancelRequest naming it.
            await wait_until(
                lambda: prompt.msg_id in editor.protocol.cancel_requests,
                what="$/cancelRequest for the prompt",
            )
            await wait_until(lambda: prompt.withdrawn, what="the prompt handler to be cancelled")
            # The progress ended as cancelled.
            (run,) = editor.progress_runs()
            await wait_until(lambda: isinstance(run[-1], T.WorkDoneProgressEnd), what="progress end")
            assert run[-1].message == "cancelled"

            result = await editor.prompt(session_id, "never mind")
            assert result["stopReason"] == "end_turn"
        fake.assert_consumed()

    # `running_editor` checked that no "Error in server" popup appeared, even though the client
    # answered the withdrawn prompt late (with a RequestCancelled error).
    assert not (env.root / "cancelled.marker").exists()
    (cancelled,) = tool_results(fake.requests[1])
    assert cancelled["is_error"] is True
    assert "cancel" in result_text(cancelled).lower()

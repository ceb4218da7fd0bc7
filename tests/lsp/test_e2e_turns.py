"""Whole turns through the language server: progress, session updates, errors, sessions, cancel.

`agentls` runs as a subprocess on stdio; its model is the fake Messages API; the editor is
`FakeEditor` with the capabilities of VS Code, Neovim 0.7 or Neovim 0.11.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lsprotocol import types as T
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled

from tests.e2e.helpers import file_lines, host_pids, kill_pids, process_gone
from tests.fakeapi import Delay, FakeMessagesAPI, Reply, Text, ToolCall
from tests.lsp.harness import (
    MAIN_PRESETS,
    NVIM011,
    NVIM07,
    VSCODE,
    Env,
    FakeEditor,
    Preset,
    presets,
    prompt_params,
    result_text,
    tool_results,
    wait_until,
)

pytestmark = pytest.mark.slow

LONG_TEXT = " ".join(f"word{i}" for i in range(80)) + "."
"""Streamed in 3-character deltas: about 150 `text_delta` events."""


@presets(*MAIN_PRESETS)
async def test_turn_with_a_tool_call_reports_progress_and_session_updates(env: Env, preset: Preset) -> None:
    (env.root / "notes.txt").write_text("remember the milk\n", encoding="utf-8")
    script = [
        Reply([Text("Let me look."), ToolCall("Read", {"file_path": str(env.root / "notes.txt")})]),
        # A small delay between SSE events, as a real stream has: the server must coalesce.
        Delay(Reply([Text(LONG_TEXT)], chunk_size=3), 0.0, 0.001),
    ]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(preset, fake) as editor:
            session_id = await editor.new_session()
            result = await editor.prompt(session_id, "What do my notes say?")
            runs = editor.progress_runs()
        fake.assert_consumed()

    assert result["stopReason"] == "end_turn"
    (read_result,) = tool_results(fake.requests[1])
    assert "remember the milk" in result_text(read_result)
    assert not read_result.get("is_error")

    # Every preset supports work done progress: one token per turn, begin / report / end.
    assert len(runs) == 1, runs
    begin, *reports, end = runs[0]
    assert isinstance(begin, T.WorkDoneProgressBegin)
    assert begin.cancellable is True
    assert all(isinstance(r, T.WorkDoneProgressReport) for r in reports)
    messages = [r.message for r in reports]
    assert "thinking" in messages
    assert any(m and "Read notes.txt" in m for m in messages), messages
    assert isinstance(end, T.WorkDoneProgressEnd)
    assert end.message == "end_turn"

    if not preset.rich:
        assert editor.session_updates == []  # Plain clients get no custom notifications.
        return

    assert {n["sessionId"] for n in editor.session_updates} == {session_id}
    assert editor.agent_text() == "Let me look." + LONG_TEXT
    kinds = [u["sessionUpdate"] for u in editor.updates()]
    (call,) = editor.updates("tool_call")
    assert call["kind"] == "read"
    assert call["title"] == "Read notes.txt"
    assert call["rawInput"] == {"file_path": str(env.root / "notes.txt")}
    assert call["locations"] == [{"path": str(env.root / "notes.txt")}]
    updates = [u for u in editor.updates("tool_call_update") if u["toolCallId"] == call["toolCallId"]]
    assert updates[-1]["status"] == "completed"
    assert "remember the milk" in updates[-1]["content"][-1]["content"]["text"]
    # Order: the first text, then the call and its updates, then the long text.
    first_text = kinds.index("agent_message_chunk")
    call_at = kinds.index("tool_call")
    done_at = max(i for i, u in enumerate(editor.updates()) if u is updates[-1])
    assert first_text < call_at < done_at
    long_chunks = [u for u in editor.updates()[done_at:] if u["sessionUpdate"] == "agent_message_chunk"]
    assert "".join(u["content"]["text"] for u in long_chunks) == LONG_TEXT
    deltas = -(-len(LONG_TEXT) // 3)
    assert 1 <= len(long_chunks) < deltas / 3, f"{len(long_chunks)} chunks for {deltas} deltas"


@presets(VSCODE)
async def test_bad_params_get_an_error_response_never_silence(env: Env, preset: Preset) -> None:
    with FakeMessagesAPI([]) as fake:
        async with env.editor(preset, fake) as editor:
            session_id = await editor.new_session()
            bad: list[tuple[str, Any, int]] = [
                ("agentls/prompt", {}, -32602),
                ("agentls/prompt", {"sessionId": session_id, "prompt": "not a list"}, -32602),
                ("agentls/prompt", {"sessionId": 42, "prompt": [{"type": "text", "text": "x"}]}, -32602),
                ("agentls/prompt", {"sessionId": session_id, "prompt": []}, -32602),
                ("agentls/prompt", {"sessionId": session_id, "prompt": [{"type": "text"}]}, -32602),
                ("agentls/prompt", prompt_params("no-such-session", "hi"), -32002),
                ("agentls/newSession", {"cwd": 5}, -32602),
                ("agentls/newSession", {"cwd": "relative/dir"}, -32602),
                ("agentls/loadSession", {}, -32602),
                ("agentls/loadSession", {"sessionId": "no-such-session"}, -32002),
            ]
            for method, params, code in bad:
                with pytest.raises(JsonRpcException) as info:
                    await editor.request(method, params, within=10.0)
                assert info.value.code == code, (method, params, info.value)
            # The commands validate their argument object the same way.
            bad_commands: list[tuple[str, list[Any]]] = [
                ("agentls.ask", [{}]),
                ("agentls.ask", ["just a string"]),
                ("agentls.ask", [{"prompt": "x"}, {"prompt": "y"}]),
                ("agentls.ask", [{"prompt": "x", "range": {"start": {"line": 0, "character": 0}}}]),
                ("agentls.review", [{"uri": (env.root / "missing.py").as_uri()}]),
            ]
            for command, arguments in bad_commands:
                with pytest.raises(JsonRpcException) as info:
                    await asyncio.wait_for(editor.execute_command(command, arguments), 10.0)
                assert info.value.code == -32602, (command, arguments, info.value)
            with pytest.raises(JsonRpcException):
                await asyncio.wait_for(editor.execute_command("agentls.noSuchCommand", []), 10.0)
            # A bad notification is dropped quietly, and the server still answers.
            editor.protocol.notify("agentls/cancel", {"sessionId": 7})
            editor.protocol.notify("agentls/cancel", {"sessionId": "no-such-session"})
            listed = await editor.request("agentls/listSessions", {})
            assert session_id in [s["sessionId"] for s in listed["sessions"]]
    assert fake.requests == []


@presets(*MAIN_PRESETS)
async def test_while_a_turn_waits_for_permission_the_server_answers_and_refuses_a_second_prompt(
    env: Env, preset: Preset
) -> None:
    (env.root / "app.py").write_text("def main():\n    return 1\n", encoding="utf-8")
    script = [
        Reply([ToolCall("Bash", {"command": "touch never.marker", "description": "Touch a marker"})]),
        Reply([Text("Not allowed, fine.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(preset, fake) as editor:
            uri = editor.open("app.py")
            session_id = await editor.new_session()
            answer = editor.hold()
            _, turn = editor.start_prompt(session_id, "touch the marker")
            await editor.wait_for_prompt()

            # Other requests are served while the turn is parked on the permission prompt.
            actions = await editor.code_actions(uri, editor.range_of(uri, "return 1"))
            assert isinstance(actions, list)
            if editor.init_result is not None and editor.init_result.capabilities.hover_provider:
                await asyncio.wait_for(
                    editor.client.text_document_hover_async(
                        T.HoverParams(
                            text_document=T.TextDocumentIdentifier(uri=uri),
                            position=T.Position(line=0, character=4),
                        )
                    ),
                    10.0,
                )
            # So are the session requests.
            assert session_id in await list_sessions(editor)
            # A second prompt on the busy session is refused at once (not queued, not silent).
            with pytest.raises(JsonRpcException) as info:
                await editor.prompt(session_id, "and another thing", within=10.0)
            assert info.value.code == -32001
            assert "busy" in info.value.message.lower(), info.value.message

            answer.set_result("reject_once")
            result = await asyncio.wait_for(turn, 30.0)
        fake.assert_consumed()
    assert result["stopReason"] == "end_turn"
    assert not (env.root / "never.marker").exists()


async def test_sessions_round_trip_and_a_loaded_session_replays_its_history(env: Env) -> None:
    (env.root / "notes.txt").write_text("buy bread\n", encoding="utf-8")
    script = [
        Reply([Text("Reading."), ToolCall("Read", {"file_path": str(env.root / "notes.txt")})]),
        Reply([Text("Your notes say: buy bread.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(NVIM011, fake) as editor:
            session_id = await editor.new_session()
            other_id = await editor.new_session()
            result = await editor.prompt(session_id, "Summarise my notes\nplease")
            assert result["stopReason"] == "end_turn"
            listed = await list_sessions(editor)
            assert {session_id, other_id} <= set(listed)
            assert listed[session_id]["title"] == "Summarise my notes"
            assert listed[session_id]["loaded"] is True
            assert listed[session_id]["cwd"] == str(env.root)
            transcript = env.home / "sessions" / f"{session_id}.jsonl"
            assert listed[session_id]["updatedAt"] == transcript.stat().st_mtime  # Open sessions too.
        fake.assert_consumed()

    # A new server (a restarted editor) finds the session on disk and replays it on load.
    with FakeMessagesAPI([Reply([Text("Still here.")])]) as fake:
        async with env.editor(NVIM011, fake) as editor:
            listed = await list_sessions(editor)
            assert listed[session_id]["loaded"] is False
            loaded = await editor.request("agentls/loadSession", {"sessionId": session_id})
            assert loaded["sessionId"] == session_id
            await wait_until(lambda: editor.updates(session_id=session_id), what="replayed updates")
            replay = editor.updates(session_id=session_id)
            kinds = [u["sessionUpdate"] for u in replay]
            assert kinds == [
                "user_message_chunk",
                "checkpoint",  # The prompt's checkpoint, right after its message (to rewind to).
                "agent_message_chunk",
                "tool_call",
                "tool_call_update",
                "agent_message_chunk",
                "usage_update",
            ], kinds
            assert replay[0]["content"]["text"] == "Summarise my notes\nplease"
            assert replay[1]["checkpoint"] == 1 and replay[1]["label"] == "Summarise my notes"
            # The context meter and the cost come back with the session.
            meter = replay[6]
            assert 0 < meter["used"] < meter["size"] and meter["cost"]["currency"] == "USD"
            assert replay[2]["content"]["text"] == "Reading."
            assert replay[3]["kind"] == "read"
            assert replay[4]["status"] == "completed"
            assert replay[4]["toolCallId"] == replay[3]["toolCallId"]
            assert replay[5]["content"]["text"] == "Your notes say: buy bread."
            # The loaded session goes on with its history.
            result = await editor.prompt(session_id, "Thanks")
            assert result["stopReason"] == "end_turn"
        fake.assert_consumed()
    history = fake.requests[0]["messages"]
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant", "user"]


async def list_sessions(editor: FakeEditor) -> dict[str, dict[str, Any]]:
    listed = await editor.request("agentls/listSessions", {})
    return {s["sessionId"]: s for s in listed["sessions"]}


# Two background sleeps and the shell itself; each writes a line to pids.txt as soon as it exists.
# Their pids there are the sandbox's own: the host's are found by the sleep duration (SLEEP_MARKER).
SLEEP_MARKER = "sleep 3012"
SLEEPERS = (
    f"{SLEEP_MARKER} & echo $! >> pids.txt; {SLEEP_MARKER} & echo $! >> pids.txt; echo $$ >> pids.txt; wait"
)


CANCEL_WAYS = [
    pytest.param(VSCODE, "cancelRequest", id="vscode-cancelRequest"),
    pytest.param(NVIM011, "agentls/cancel", id="nvim011-agentls/cancel"),
    pytest.param(NVIM07, "workDoneProgress/cancel", id="nvim07-workDoneProgress/cancel"),
]


@pytest.mark.parametrize(("preset", "how"), CANCEL_WAYS)
async def test_cancel_while_bash_runs_kills_its_processes(env: Env, preset: Preset, how: str) -> None:
    pids_file = env.root / "pids.txt"
    script = [Reply([ToolCall("Bash", {"command": SLEEPERS, "description": "Sleep in the background"})])]
    try:
        with FakeMessagesAPI(script) as fake:
            async with env.editor(preset, fake, options={"permissionMode": "bypassPermissions"}) as editor:
                session_id = await editor.new_session()
                msg_id, turn = editor.start_prompt(session_id, "wait a while")
                await wait_until(lambda: len(file_lines(pids_file)) == 3, what="the sleeps to start")
                pids = host_pids(SLEEP_MARKER)
                assert len(pids) >= 3, pids
                if how == "cancelRequest":
                    editor.cancel_request(msg_id)
                    with pytest.raises(JsonRpcRequestCancelled):
                        await asyncio.wait_for(turn, 30.0)
                else:
                    if how == "agentls/cancel":
                        editor.cancel_session(session_id)
                    else:
                        (token,) = [t for t, v in editor.client.progress_reports.items() if v]
                        editor.client.window_work_done_progress_cancel(
                            T.WorkDoneProgressCancelParams(token=token)
                        )
                    assert (await asyncio.wait_for(turn, 30.0))["stopReason"] == "cancelled"
                if preset.rich:
                    (done,) = [u for u in editor.updates("tool_call_update") if u["status"] == "failed"]
                    assert "Cancelled" in done["content"][-1]["content"]["text"]
                await wait_until(
                    lambda: all(process_gone(pid) for pid in pids), within=10.0, what=f"pids {pids} to exit"
                )
                (run,) = editor.progress_runs()
                assert isinstance(run[-1], T.WorkDoneProgressEnd)
                assert run[-1].message == "cancelled"
            fake.assert_consumed()
    finally:
        kill_pids(host_pids(SLEEP_MARKER))

"""Slash commands through the language server: `agentls/listCommands`, a `/cost` prompt (a
`command_output` update, no model request), an unknown command's error, a custom command's
prompt, and `agentls.command` for plain clients."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from agentls.policy.loader import SettingsSources
from tests.fakeapi import FakeMessagesAPI, Reply, Text
from tests.lsp.harness import NVIM07, VSCODE, Env, Preset, presets

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / ".claude" / "commands").mkdir(parents=True)
    (home / ".claude" / "commands" / "standup.md").write_text("---\ndescription: Daily notes\n---\nNotes.")
    monkeypatch.setenv("HOME", str(home))
    return home


def _project_command(root: Path) -> None:
    folder = root / ".claude" / "commands"
    folder.mkdir(parents=True)
    (folder / "fix-issue.md").write_text(
        "---\ndescription: Fix an issue\nargument-hint: <number>\n---\nFix issue #$1 now. ($ARGUMENTS)\n"
    )
    SettingsSources(project=root).trust_store.trust(root)


@presets(VSCODE)
async def test_list_commands_and_a_custom_command(env: Env, preset: Preset) -> None:
    _project_command(env.root)
    with FakeMessagesAPI([Reply([Text("Fixed.")])]) as fake:
        async with env.editor(preset, fake) as editor:
            caps = editor.init_result.capabilities.experimental
            assert caps["agentls"]["listCommands"] is True
            listed = await editor.request("agentls/listCommands", {})
            session_id = await editor.new_session()
            in_session = await editor.request("agentls/listCommands", {"sessionId": session_id})
            result = await editor.prompt(session_id, "/fix-issue 123 please")
        fake.assert_consumed()

    for answer in (listed, in_session):
        by_name = {c["name"]: c for c in answer["commands"]}
        assert {"compact", "clear", "cost", "context", "model", "review", "init"} <= by_name.keys()
        assert by_name["fix-issue"]["argumentHint"] == "<number>"
        assert by_name["fix-issue"]["source"] == "project"
        assert by_name["standup"]["source"] == "user"
        assert by_name["cost"] == {
            "name": "cost",
            "description": by_name["cost"]["description"],
            "argumentHint": None,
            "source": "builtin",
            "label": "built-in",
            "callsModel": False,
            "path": None,
        }
        assert answer["warnings"] == []
    assert result["stopReason"] == "end_turn"
    sent = fake.requests[0]["messages"][-1]["content"]
    text = sent if isinstance(sent, str) else "".join(b.get("text", "") for b in sent)
    assert "Fix issue #123 now. (123 please)" in text


@presets(VSCODE)
async def test_cost_prompt_reports_without_asking_the_model(env: Env, preset: Preset) -> None:
    with FakeMessagesAPI([Reply([Text("Hello.")])]) as fake:
        async with env.editor(preset, fake) as editor:
            session_id = await editor.new_session()
            await editor.prompt(session_id, "hi")
            before = len(editor.updates())
            result = await editor.prompt(session_id, "/cost")
            after = editor.updates()[before:]
            with pytest.raises(JsonRpcException) as err:
                await editor.prompt(session_id, "/cots")
        fake.assert_consumed()

    assert result == {"stopReason": "end_turn"}
    assert len(fake.requests) == 1
    (output,) = [u for u in after if u["sessionUpdate"] == "command_output"]
    assert output["command"] == "cost" and output["level"] == "info"
    assert "Session cost: $" in output["text"]
    assert output["data"]["usage"]["output_tokens"] > 0
    assert [u["sessionUpdate"] for u in after][-1] == "usage_update"  # The meter after a command.
    assert "Unknown command /cots" in str(err.value) and "/cost" in str(err.value)


@presets(NVIM07)
async def test_agentls_command_for_plain_clients(env: Env, preset: Preset) -> None:
    with FakeMessagesAPI([]) as fake:
        async with env.editor(preset, fake) as editor:
            answer = await editor.execute_command("agentls.command", [{"name": "/context"}])
            shown = [m.message for m in editor.client.messages if "/context" in m.message]
            with pytest.raises(JsonRpcException):
                await editor.execute_command("agentls.command", [{"name": "nope"}])
            with pytest.raises(JsonRpcException):  # Only a command's name: never a prompt.
                await editor.execute_command("agentls.command", [{"name": "usr/bin/env"}])
    assert answer["command"] == "context" and answer["stopReason"] == "end_turn"
    assert "System prompt" in answer["text"] and answer["sessionId"]
    assert shown and "System prompt" in shown[0]
    assert editor.session_updates == []  # A plain client gets no custom notifications.

"""Permission settings seen from an editor: reloaded when a file changes (watchfiles), shown by the
`agentls.permissions` command with their sources and the recent decisions, and a repository's allow
rules applied only after `agentls.trustWorkspace`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lsprotocol import types as T

from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall
from tests.lsp.harness import VSCODE, Env, result_text, tool_results, wait_until

pytestmark = pytest.mark.slow


def write_settings(root: Path, data: dict[str, object]) -> Path:
    path = root / ".agentls" / "settings.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(data))
    return path


async def test_settings_reload_report_and_trust(env: Env) -> None:
    (env.root / ".agentls").mkdir()
    script = [
        Reply([ToolCall("Bash", {"command": "touch first.marker"})]),
        Reply([Text("Not allowed.")]),
        Reply([ToolCall("Bash", {"command": "make -v"})]),
        Reply([Text("Asked.")]),
        Reply([ToolCall("Bash", {"command": "make -v"})]),
        Reply([Text("Ran.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(VSCODE, fake) as editor:
            session_id = await editor.new_session()
            # A deny rule added while the session is open: reloaded and announced, then enforced.
            settings = write_settings(env.root, {"permissions": {"deny": ["Bash(touch *)"]}})
            await wait_until(
                lambda: any("permission settings reloaded" in m.message for m in editor.client.log_messages),
                what="the reload to be announced",
            )
            assert (await editor.prompt(session_id, "make a marker"))["stopReason"] == "end_turn"
            assert editor.prompts == []
            assert not (env.root / "first.marker").exists()
            (denied,) = tool_results(fake.requests[1])
            assert denied["is_error"] is True
            assert "denied by the rule Bash(touch *)" in result_text(denied)

            report = await editor.execute_command("agentls.permissions", [{"show": False}])
            assert {
                "list": "deny",
                "rule": "Bash(touch *)",
                "level": "project",
                "file": str(settings),
            } in report["rules"]
            assert report["trusted"] is False
            latest = report["recentDecisions"][0]
            assert (latest["tool"], latest["outcome"], latest["stage"]) == ("Bash", "deny", "deny")
            assert "Bash(touch *)" in latest["rule"] and str(settings) in latest["rule"]

            # The repository's allow rule is ignored (with a warning) until the folder is trusted.
            write_settings(env.root, {"permissions": {"allow": ["Bash(make *)"]}})
            editor.answer("allow_once")
            assert (await editor.prompt(session_id, "make version"))["stopReason"] == "end_turn"
            assert len(editor.prompts) == 1
            report = await editor.execute_command("agentls.permissions", [{"show": False}])
            assert any("not trusted" in w for w in report["warnings"]), report["warnings"]

            trusted = await editor.execute_command("agentls.trustWorkspace", [{}])
            assert trusted == {"folder": str(env.root), "trusted": True, "changed": True}
            assert (await editor.prompt(session_id, "make version again"))["stopReason"] == "end_turn"
            assert len(editor.prompts) == 1  # Allowed by the now-trusted rule: no second prompt.
            report = await editor.execute_command("agentls.permissions", [{"show": False}])
            assert report["trusted"] is True
            assert report["recentDecisions"][0]["stage"] == "allow"
        fake.assert_consumed()


async def test_permissions_command_opens_a_report_and_rejects_bad_arguments(env: Env) -> None:
    with FakeMessagesAPI([]) as fake:
        async with env.editor(VSCODE, fake) as editor:
            report = await editor.execute_command("agentls.permissions", [{}])
            assert report["project"] == str(env.root)
            await wait_until(lambda: editor.client.shown_documents, what="the report to be opened")
            (shown,) = editor.client.shown_documents
            assert isinstance(shown, T.ShowDocumentParams)
            assert shown.uri.endswith("permissions.md")
            with pytest.raises(Exception, match="cwd"):
                await editor.execute_command("agentls.permissions", [{"cwd": "relative/dir"}])

"""Hooks in the language server: a session's SessionStart hooks run when it is created, its
SessionEnd hooks when `agentls/closeSession` closes it."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest

from tests.fakeapi import FakeMessagesAPI, Reply, Text
from tests.lsp.harness import VSCODE, Env

pytestmark = pytest.mark.slow


async def test_session_start_and_end_hooks_run_in_the_server(env: Env, tmp_path: Path) -> None:
    log = tmp_path / "hooks.log"
    record = {
        "type": "command",
        "command": f"cat >> {shlex.quote(str(log))}; echo >> {shlex.quote(str(log))}",
    }
    settings = Path(os.environ["XDG_CONFIG_HOME"]) / "agentls" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(
        json.dumps({"hooks": {"SessionStart": [{"hooks": [record]}], "SessionEnd": [{"hooks": [record]}]}})
    )
    with FakeMessagesAPI([Reply([Text("hi")])]) as fake:
        async with env.editor(VSCODE, fake) as editor:
            session_id = await editor.new_session()
            await editor.prompt(session_id, "hello")
            assert await editor.request("agentls/closeSession", {"sessionId": session_id}) == {"closed": True}
    ran = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert [(r["hook_event_name"], r.get("source"), r.get("reason")) for r in ran] == [
        ("SessionStart", "startup", None),
        ("SessionEnd", None, "other"),
    ]
    assert {r["session_id"] for r in ran} == {session_id}
    assert ran[0]["cwd"] == str(env.root)

"""One session factory (issue 11, item 1): the three ways the language server's own copy of the
session set-up had drifted from the CLI's, each through a real server and the fake API."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentls.core.defaults import DEFAULT_MAX_TURNS
from agentls.store.jsonl import read_jsonl
from tests.fakeapi import FakeMessagesAPI, Reply, Text
from tests.lsp.harness import VSCODE, Env

pytestmark = pytest.mark.slow


def header(env: Env, session_id: str) -> dict:  # type: ignore[type-arg]
    records = read_jsonl(env.home / "sessions" / f"{session_id}.jsonl").records
    assert records[0]["type"] == "session"
    return records[0]


async def test_a_thinking_budget_from_the_editor_leaves_room_to_answer(env: Env) -> None:
    """`thinking: 20000` made every editor session fail: only the CLI raised max_tokens."""
    with FakeMessagesAPI([Reply([Text("thought it through")])]) as fake:
        async with env.editor(VSCODE, fake, options={"thinking": 20000}) as editor:
            session_id = await editor.new_session()
            result = await editor.prompt(session_id, "think")
    assert result["stopReason"] == "end_turn"
    body = fake.requests[0]
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 20000}
    assert body["max_tokens"] >= 20000 + 16000


async def test_the_turn_limit_is_the_cores_unless_the_editor_sets_one(env: Env) -> None:
    """The server used to pass its own literal 50 whether or not the editor set `maxTurns`; now an
    unset option leaves the core's default (whatever it becomes) and a set one wins."""
    with FakeMessagesAPI([]) as fake:
        async with env.editor(VSCODE, fake, options={"maxTurns": None}) as editor:
            unset = await editor.new_session()
        async with env.editor(VSCODE, fake, options={"maxTurns": 7}) as editor:
            chosen = await editor.new_session()
    assert header(env, unset)["config"]["max_turns"] == DEFAULT_MAX_TURNS
    assert header(env, chosen)["config"]["max_turns"] == 7


async def test_a_resumed_session_keeps_its_own_directory(env: Env, tmp_path: Path) -> None:
    """A session resumed from the editor ran in the server's root, not where it was started."""
    other = tmp_path / "other-project"
    other.mkdir()
    (other / "where.txt").write_text("the other project\n")
    with FakeMessagesAPI([Reply([Text("first")]), Reply([Text("second")])]) as fake:
        async with env.editor(VSCODE, fake) as editor:
            session_id = await editor.new_session(other)
            await editor.prompt(session_id, "one")
        async with env.editor(VSCODE, fake) as editor:  # A new server, rooted at env.root.
            await editor.request("agentls/loadSession", {"sessionId": session_id})
            listed = (await editor.request("agentls/listSessions", {}))["sessions"]
            await editor.prompt(session_id, "two")
    (entry,) = [s for s in listed if s["sessionId"] == session_id]
    assert entry["loaded"] and Path(entry["cwd"]) == other.resolve()
    system = "".join(block["text"] for block in fake.requests[-1]["system"])
    assert str(other.resolve()) in system and str(env.root) not in system


async def test_an_invalid_editor_option_names_itself(env: Env) -> None:
    with FakeMessagesAPI([]) as fake:
        async with env.editor(VSCODE, fake, options={"maxTurns": 0}, check_errors=False) as editor:
            with pytest.raises(Exception, match="max_turns"):
                await editor.new_session()

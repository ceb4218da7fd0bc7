"""Sessions in a long-lived server (issue 10, item 12): `agentls/closeSession`, the idle limit, and
thousands of sessions under a low descriptor limit.

Before, each session kept its transcript open and no session was ever closed, so after about a
thousand asks every tool failed with "Too many open files".

    AGENTLS_LIFECYCLE_SESSIONS=5000 .venv/bin/pytest tests/lsp/test_e2e_session_lifecycle.py

runs the long version (the default is 2,000).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from tests.fakeapi import Delay, FakeMessagesAPI, Reply, Text, ToolCall
from tests.lsp.harness import VSCODE, Env, wait_until

pytestmark = pytest.mark.slow

SESSIONS = int(os.environ.get("AGENTLS_LIFECYCLE_SESSIONS", "2000"))
FD_LIMIT = 256
WARM = min(200, SESSIONS // 4)
"""Sessions after which the server's memory is measured the first time (imports and caches done)."""


def server_pid(editor: Any) -> int:
    server = editor.client._server
    assert server is not None
    return int(server.pid)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def replies(count: int, notes: Path) -> list[Reply]:
    """Each tenth session reads a file (a tool, a transcript write between two API calls)."""
    out: list[Reply] = []
    for i in range(count):
        if i % 10 == 0:
            out.append(Reply([ToolCall("Read", {"file_path": str(notes)})]))
        out.append(Reply([Text(f"answer {i}")]))
    return out


@pytest.mark.timeout(120 + SESSIONS // 5)
async def test_thousands_of_sessions_under_a_low_descriptor_limit_all_work(env: Env) -> None:
    notes = env.root / "notes.txt"
    notes.write_text("remember the milk\n")
    with FakeMessagesAPI(replies(SESSIONS, notes)) as fake:
        async with env.editor(VSCODE, fake, fd_limit=FD_LIMIT, options={"maxOpenSessions": 16}) as editor:
            pid = server_pid(editor)
            start_fds = open_fds(pid)
            highest = start_fds
            warm_rss = 0.0
            for i in range(SESSIONS):
                session_id = await editor.new_session()
                result = await editor.prompt(session_id, f"question {i}")
                assert result["stopReason"] == "end_turn", (i, result)
                if i % 100 == 0:
                    highest = max(highest, open_fds(pid))
                if i == WARM:
                    warm_rss = rss_mib(pid)
            listed = await editor.request("agentls/listSessions", {})
            end_fds = open_fds(pid)
            end_rss = rss_mib(pid)
    sessions = listed["sessions"]
    assert len(sessions) == SESSIONS
    assert sum(1 for s in sessions if s["loaded"]) <= 16
    assert highest < FD_LIMIT and end_fds <= start_fds + 8, (start_fds, highest, end_fds)
    # Closed sessions are let go: memory after the warm-up does not grow with the session count.
    print(f"RSS {warm_rss:.0f} MiB after {WARM} sessions, {end_rss:.0f} MiB after {SESSIONS}")
    assert end_rss - warm_rss < 0.02 * (SESSIONS - WARM) + 40, (warm_rss, end_rss)
    results = [m for m in fake.requests if m["messages"][-1]["role"] == "user"]
    assert len(results) >= SESSIONS


async def test_close_session_closes_and_a_prompt_opens_it_again(env: Env) -> None:
    with FakeMessagesAPI([Reply([Text("first")]), Reply([Text("second")])]) as fake:
        async with env.editor(VSCODE, fake) as editor:
            session_id = await editor.new_session()
            await editor.prompt(session_id, "one")
            assert await editor.request("agentls/closeSession", {"sessionId": session_id}) == {"closed": True}
            assert await editor.request("agentls/closeSession", {"sessionId": session_id}) == {
                "closed": False
            }
            listed = (await editor.request("agentls/listSessions", {}))["sessions"]
            assert [s["loaded"] for s in listed if s["sessionId"] == session_id] == [False]
            # Closing frees the session's resources; a prompt opens it again from its transcript.
            result = await editor.prompt(session_id, "two")
            with pytest.raises(JsonRpcException, match="no session"):
                await editor.prompt(session_id[:10], "a prefix is not a session id")
    assert result["stopReason"] == "end_turn"
    second = fake.requests[-1]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]  # The history came back.


async def test_closing_a_running_session_cancels_its_turn(env: Env) -> None:
    with FakeMessagesAPI([Delay(Reply([Text("slow")]), before_s=30.0)]) as fake:
        async with env.editor(VSCODE, fake) as editor:
            session_id = await editor.new_session()
            _msg_id, task = editor.start_prompt(session_id, "take your time")
            await wait_until(lambda: fake.requests, what="the turn's request")
            assert await editor.request("agentls/closeSession", {"sessionId": session_id}) == {"closed": True}
            result = await task
    assert result["stopReason"] == "cancelled"


async def test_idle_sessions_are_closed_after_the_idle_limit(env: Env) -> None:
    with FakeMessagesAPI([Reply([Text("a")]), Reply([Text("b")])]) as fake:
        async with env.editor(VSCODE, fake, options={"sessionIdleMinutes": 0}) as editor:
            first = await editor.new_session()
            await editor.prompt(first, "one")
            second = await editor.new_session()  # Opening one closes those idle past the limit.
            listed = {
                s["sessionId"]: s["loaded"]
                for s in (await editor.request("agentls/listSessions", {}))["sessions"]
            }
            await editor.prompt(second, "two")
    assert listed == {first: False, second: True}

"""`agentls acp` driven by the official ACP TypeScript SDK (`@agentclientprotocol/sdk`, from npm;
tests/acp_frontend/ts/drive.mjs), as an editor would, against the fake Messages API: a turn that reads a
file through the client's `fs/read_text_file` (its unsaved text wins), asks permission, edits
through `fs/write_text_file`, writes a plan and runs Bash, streaming chunks, tool calls and the
plan, ends with `end_turn`; `session/load` replays it; a second session's long command is
cancelled (`cancelled`, no process left). The same without the client's fs edits the disk."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import cli_env
from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent / "ts"
ON_DISK = "def greet(name):\n    return 'hello ' + name\n"
UNSAVED = "# the user's unsaved line\n" + ON_DISK
SLOW = "sleep 60 # acp-ts-cancel"


@pytest.fixture(scope="module")
def sdk() -> Path:
    """The SDK installed from the lockfile (npm ci; reused while the lockfile is unchanged)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed for the ACP TypeScript client test (Node 20 is part of the set-up)")
    stamp = HERE / "node_modules" / ".lock-stamp"
    lock = (HERE / "package-lock.json").read_text()
    if not stamp.is_file() or stamp.read_text() != lock:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, f"npm ci failed:\n{done.stderr}"
        stamp.write_text(lock)
    return HERE


def script(project: Path) -> list[Any]:
    app = str(project / "app.py")
    todos = [{"content": "Shout", "status": "completed", "activeForm": "Shouting"}]

    def route(body: dict[str, Any]) -> Reply:
        said = json.dumps(body["messages"])
        if "Wait for the slow job" in said:
            return Reply([ToolCall("Bash", {"command": SLOW, "description": "slow"})])
        turn = [m for m in body["messages"] if m["role"] == "assistant"]
        steps = [
            Reply([Text("Reading it."), ToolCall("Read", {"file_path": app})]),
            Reply([ToolCall("Edit", {"file_path": app, "old_string": "'hello '", "new_string": "'HELLO '"})]),
            Reply([ToolCall("TodoWrite", {"todos": todos})]),
            Reply([ToolCall("Bash", {"command": "echo ran > ran.txt", "description": "mark"})]),
            Reply([Text("Done.")]),
        ]
        return steps[len(turn)]

    return [route] * 6


def drive(sdk: Path, project: Path, tmp_path: Path, *, fs: bool) -> tuple[dict[str, Any], FakeMessagesAPI]:
    app = project / "app.py"
    app.write_text(ON_DISK)
    out = tmp_path / "out.json"
    with FakeMessagesAPI(script(project)) as fake:
        env = cli_env(tmp_path / "home", fake.base_url)
        env.update(
            {
                "ACP_AGENT": json.dumps([sys.executable, "-m", "agentls", "acp"]),
                "ACP_PROJECT": str(project),
                "ACP_FS": "1" if fs else "0",
                "ACP_BUFFER_PATH": str(app),
                "ACP_BUFFER_TEXT": UNSAVED,
                "ACP_TEST_OUT": str(out),
            }
        )
        done = subprocess.run(
            ["node", str(sdk / "drive.mjs")],
            env=env,
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0 and out.is_file(), f"{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(out.read_text())
    assert "error" not in result, f"{result.get('error')}\n{done.stderr}"
    return result, fake


@pytest.mark.parametrize("fs", [True, False], ids=["client-fs", "disk"])
def test_an_editor_on_the_typescript_sdk(sdk: Path, project: Path, tmp_path: Path, fs: bool) -> None:
    result, fake = drive(sdk, project, tmp_path, fs=fs)
    app = project / "app.py"
    assert result["initialize"]["agentCapabilities"]["loadSession"] is True
    assert result["modes"]["currentModeId"] == "default"
    assert result["stopReason"] == "end_turn" and result["cancelStopReason"] == "cancelled"
    assert result["exit"]["code"] == 0  # It ends when its input closes.
    seen = [u["sessionUpdate"] for u in result["live"]]
    for kind in ("agent_message_chunk", "tool_call", "tool_call_update", "plan", "usage_update"):
        assert kind in seen, (kind, seen)
    first = next(u["update"] for u in result["updates"] if u["sessionId"] == result["sessionId"])
    assert first["sessionUpdate"] == "available_commands_update"  # Sent with session/new.
    assert {"compact", "rewind", "cost"} <= {c["name"] for c in first["availableCommands"]}
    calls = [u for u in result["live"] if u["sessionUpdate"] == "tool_call"]
    assert [c["kind"] for c in calls] == ["read", "edit", "think", "execute"]
    assert [p["kind"] for p in result["permissions"][:2]] == ["edit", "execute"]
    assert result["permissions"][0]["options"] == [
        "allow_once",
        "allow_always",
        "reject_once",
        "reject_always",
    ]
    assert (project / "ran.txt").read_text() == "ran\n"
    read_result = json.dumps(fake.requests[1]["messages"][-1])
    if fs:  # The editor's unsaved text is what the agent read, and its edit went to the editor.
        assert "the user's unsaved line" in read_result and result["reads"][0] == str(app)
        assert result["writes"] == [{"path": str(app), "content": UNSAVED.replace("'hello '", "'HELLO '")}]
        assert app.read_text() == ON_DISK
    else:
        assert "the user's unsaved line" not in read_result and not result["reads"] and not result["writes"]
        assert app.read_text() == ON_DISK.replace("'hello '", "'HELLO '")
    # session/load replayed the conversation: the prompt, the agent's text and its tool calls.
    replayed = [u["sessionUpdate"] for u in result["replayed"]]
    assert replayed[0] == "user_message_chunk", result["replayed"][:4]
    assert result["replayed"][0]["content"]["text"] == "Shout the greeting"
    assert replayed.count("tool_call") == 4
    # Cancelled: the slow command is gone.
    procs = [p for p in Path("/proc").iterdir() if p.name.isdigit()]
    alive = []
    for p in procs:
        try:
            if b"acp-ts-cancel" in (p / "cmdline").read_bytes():
                alive.append(p.name)
        except OSError:
            pass
    assert not alive, f"the cancelled command is still running: {alive}"

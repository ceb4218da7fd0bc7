"""`agentls acp` as a subprocess, driven by the ACP SDK's client side, against the fake Messages
API: a turn that reads a file through the client (its unsaved text wins), asks permission, edits
through the client, runs Bash and ends with end_turn, streaming chunks and tool calls; the same
without the client's fs (the disk is edited); cancel mid-turn; session/load replays the history;
modes and errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from acp import PROTOCOL_VERSION, RequestError, connect_to_agent, text_block
from acp.schema import (
    AllowedOutcome,
    ClientCapabilities,
    CreateTerminalResponse,
    FileSystemCapabilities,
    KillTerminalResponse,
    ReadTextFileResponse,
    ReleaseTerminalResponse,
    RequestPermissionResponse,
    TerminalOutputResponse,
    WaitForTerminalExitResponse,
    WriteTextFileResponse,
)

from tests.e2e.helpers import cli_env
from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall

pytestmark = pytest.mark.slow

TIMEOUT_S = 30.0
ON_DISK = "def greet(name):\n    return 'hello ' + name\n"
UNSAVED = "# the user's unsaved line\n" + ON_DISK


class Editor:
    """An ACP client: it shows updates, answers permission prompts, and holds open buffers."""

    def __init__(self, buffers: dict[str, str], answer: str = "allow_once") -> None:
        self.buffers = buffers
        self.answer = answer
        self.updates: list[dict[str, Any]] = []
        self.extensions: list[dict[str, Any]] = []
        self.permissions: list[Any] = []
        self.reads: list[str] = []
        self.writes: list[tuple[str, str]] = []

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates.append(update.model_dump(by_alias=True, exclude_none=True))

    async def request_permission(self, session_id: str, tool_call: Any, options: Any, **kwargs: Any) -> Any:
        self.permissions.append(tool_call)
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected", option_id=self.answer))

    async def read_text_file(self, session_id: str, path: str, **kwargs: Any) -> Any:
        self.reads.append(path)
        if path in self.buffers:
            return ReadTextFileResponse(content=self.buffers[path])
        try:
            return ReadTextFileResponse(content=Path(path).read_text())
        except OSError:
            raise RequestError.invalid_params({"message": f"no such file: {path}"}) from None

    async def write_text_file(self, session_id: str, path: str, content: str, **kwargs: Any) -> Any:
        self.writes.append((path, content))
        self.buffers[path] = content
        return WriteTextFileResponse()

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        self.extensions.append({"method": method, **params})

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return {}

    def on_connect(self, conn: Any) -> None:
        pass

    def kinds(self) -> list[str]:
        return [u["sessionUpdate"] for u in self.updates]


@contextlib.asynccontextmanager
async def agent(
    editor: Editor, home: Path, base_url: str, fs: bool, terminal: bool = False
) -> AsyncIterator[Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agentls",
        "acp",
        "--permission-mode",
        "default",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=cli_env(home, base_url),
    )
    assert proc.stdin is not None and proc.stdout is not None
    conn = connect_to_agent(editor, proc.stdin, proc.stdout)
    try:
        caps = ClientCapabilities(
            fs=FileSystemCapabilities(read_text_file=fs, write_text_file=fs), terminal=terminal
        )
        init = await asyncio.wait_for(
            conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=caps), TIMEOUT_S
        )
        assert init.agent_capabilities.load_session is True
        yield conn
    finally:
        await conn.close()
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            raise AssertionError("agentls acp did not exit when its input closed") from None


def turn(project: Path) -> list[Reply]:
    app = str(project / "app.py")
    return [
        Reply([Text("Reading it."), ToolCall("Read", {"file_path": app})]),
        Reply([ToolCall("Edit", {"file_path": app, "old_string": "'hello '", "new_string": "'HELLO '"})]),
        Reply(
            [
                ToolCall(
                    "TodoWrite",
                    {"todos": [{"content": "Shout", "status": "completed", "activeForm": "Shouting"}]},
                )
            ]
        ),
        Reply([ToolCall("Bash", {"command": "echo ran > ran.txt", "description": "mark"})]),
        Reply([Text("Done.")]),
    ]


@pytest.mark.parametrize("fs", [True, False], ids=["client-fs", "disk"])
async def test_a_turn_through_the_client(project: Path, tmp_path: Path, fs: bool) -> None:
    app = project / "app.py"
    app.write_text(ON_DISK)
    editor = Editor({str(app): UNSAVED})
    with FakeMessagesAPI([*turn(project), Reply([Text("Loaded fine.")])]) as fake:
        async with agent(editor, tmp_path / "home", fake.base_url, fs) as conn:
            new = await conn.new_session(cwd=str(project), mcp_servers=[])
            assert new.modes.current_mode_id == "default"
            result = await asyncio.wait_for(
                conn.prompt(session_id=new.session_id, prompt=[text_block("Shout the greeting")]), TIMEOUT_S
            )
            assert result.stop_reason == "end_turn"
            live = list(editor.updates)
            editor.updates.clear()
            await conn.load_session(cwd=str(project), session_id=new.session_id, mcp_servers=[])
            replayed = list(editor.updates)

    kinds = [u["sessionUpdate"] for u in live]
    assert "available_commands_update" in kinds and "agent_message_chunk" in kinds
    assert "tool_call" in kinds and "tool_call_update" in kinds and "plan" in kinds
    calls = [u for u in live if u["sessionUpdate"] == "tool_call"]
    assert [c["kind"] for c in calls] == ["read", "edit", "think", "execute"]
    assert len(editor.permissions) == 2  # The edit and the command (default mode asks).
    assert (project / "ran.txt").read_text() == "ran\n"
    read_result = fake.requests[1]["messages"][-1]["content"][0]["content"]
    if fs:
        assert "the user's unsaved line" in str(read_result)  # The client's buffer won.
        assert editor.writes == [(str(app), UNSAVED.replace("'hello '", "'HELLO '"))]
        assert app.read_text() == ON_DISK  # The client decides when to save.
    else:
        assert "the user's unsaved line" not in str(read_result) and not editor.reads
        assert app.read_text() == ON_DISK.replace("'hello '", "'HELLO '")
    texts = [u["content"]["text"] for u in replayed if u["sessionUpdate"] == "user_message_chunk"]
    assert texts == ["Shout the greeting"]


async def test_cancel_mid_turn_ends_cancelled_and_leaves_no_process(project: Path, tmp_path: Path) -> None:
    token = f"acp-cancel-{uuid.uuid4().hex}"
    command = f"echo started > pid.txt; sleep 60; echo {token}"
    script = [Reply([ToolCall("Bash", {"command": command, "description": "long"})])]
    editor = Editor({}, answer="allow_once")
    with FakeMessagesAPI(script) as fake:
        async with agent(editor, tmp_path / "home", fake.base_url, fs=False) as conn:
            new = await conn.new_session(cwd=str(project), mcp_servers=[])
            prompt = asyncio.ensure_future(
                conn.prompt(session_id=new.session_id, prompt=[text_block("wait")])
            )
            for _ in range(300):
                if (project / "pid.txt").exists() and (project / "pid.txt").read_text().strip():
                    break
                await asyncio.sleep(0.05)
            await conn.cancel(session_id=new.session_id)
            result = await asyncio.wait_for(prompt, TIMEOUT_S)
    assert result.stop_reason == "cancelled"
    for _ in range(100):
        if not running(token):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"the command outlived the cancel: {running(token)}")


def running(token: str) -> list[str]:
    """Processes whose command line holds `token` (the shell of the test's command)."""
    found: list[str] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if token.encode() in (entry / "cmdline").read_bytes():
                    found.append(entry.name)
    return found


async def test_modes_commands_and_errors(project: Path, tmp_path: Path) -> None:
    editor = Editor({})
    with FakeMessagesAPI([]) as fake:
        async with agent(editor, tmp_path / "home", fake.base_url, fs=False) as conn:
            new = await conn.new_session(cwd=str(project), mcp_servers=[])
            await conn.set_session_mode(session_id=new.session_id, mode_id="plan")
            with pytest.raises(RequestError):
                await conn.set_session_mode(session_id=new.session_id, mode_id="yolo")
            with pytest.raises(RequestError):
                await conn.prompt(session_id="no-such-session", prompt=[text_block("hi")])
            with pytest.raises(RequestError):
                await conn.new_session(cwd="relative/dir", mcp_servers=[])
            cost = await conn.prompt(session_id=new.session_id, prompt=[text_block("/cost")])
    assert cost.stop_reason == "end_turn"
    assert {"sessionUpdate": "current_mode_update", "currentModeId": "plan"} in editor.updates
    (commands,) = [u for u in editor.updates if u["sessionUpdate"] == "available_commands_update"]
    assert {"compact", "rewind", "cost"} <= {c["name"] for c in commands["availableCommands"]}
    outputs = [e for e in editor.extensions if e["update"]["sessionUpdate"] == "command_output"]
    assert (
        outputs
        and outputs[0]["method"] == "agentls/sessionUpdate"
        and "Tokens" in outputs[0]["update"]["text"]
    )


class TerminalEditor(Editor):
    """An editor that runs commands in its own terminals (it offers `terminal`)."""

    def __init__(self) -> None:
        super().__init__({})
        self.terminals: dict[str, Any] = {}
        self.created: list[dict[str, Any]] = []
        self.killed: list[str] = []
        self.released: list[str] = []

    async def create_terminal(self, session_id: str, command: str, args: Any = None, **kwargs: Any) -> Any:
        env = {e.name: e.value for e in kwargs.get("env") or []}
        proc = await asyncio.create_subprocess_exec(
            command,
            *(args or []),
            cwd=kwargs.get("cwd"),
            env=env or None,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        terminal_id = f"term-{len(self.terminals) + 1}"
        self.terminals[terminal_id] = {"proc": proc, "output": b""}
        self.created.append({"command": command, "args": args, "cwd": kwargs.get("cwd")})
        return CreateTerminalResponse(terminal_id=terminal_id)

    async def wait_for_terminal_exit(self, session_id: str, terminal_id: str, **kwargs: Any) -> Any:
        term = self.terminals[terminal_id]
        out, _ = await term["proc"].communicate()
        term["output"] += out or b""
        return WaitForTerminalExitResponse(exit_code=term["proc"].returncode)

    async def terminal_output(self, session_id: str, terminal_id: str, **kwargs: Any) -> Any:
        return TerminalOutputResponse(output=self.terminals[terminal_id]["output"].decode(), truncated=False)

    async def kill_terminal(self, session_id: str, terminal_id: str, **kwargs: Any) -> Any:
        self.killed.append(terminal_id)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.terminals[terminal_id]["proc"].pid, signal.SIGKILL)
        return KillTerminalResponse()

    async def release_terminal(self, session_id: str, terminal_id: str, **kwargs: Any) -> Any:
        self.released.append(terminal_id)
        return ReleaseTerminalResponse()


async def test_commands_run_in_the_clients_terminal(project: Path, tmp_path: Path) -> None:
    editor = TerminalEditor()
    script = [
        Reply(
            [
                ToolCall(
                    "Bash", {"command": "echo from-the-terminal; echo made > made.txt", "description": "x"}
                )
            ]
        ),
        Reply([Text("Done.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        async with agent(editor, tmp_path / "home", fake.base_url, fs=False, terminal=True) as conn:
            new = await conn.new_session(cwd=str(project), mcp_servers=[])
            await conn.set_session_mode(session_id=new.session_id, mode_id="bypassPermissions")
            result = await asyncio.wait_for(
                conn.prompt(session_id=new.session_id, prompt=[text_block("go")]), TIMEOUT_S
            )
    assert result.stop_reason == "end_turn"
    (created,) = editor.created
    assert "echo from-the-terminal" in " ".join([created["command"], *created["args"]])
    assert created["cwd"] == str(project)
    assert editor.released == ["term-1"] and not editor.killed
    assert (project / "made.txt").read_text() == "made\n"
    # The tool call showed the live terminal, and its output reached the model.
    shown = [u for u in editor.updates if u["sessionUpdate"] == "tool_call_update" and u.get("content")]
    assert any(c.get("terminalId") == "term-1" for u in shown for c in u["content"]), shown
    assert "from-the-terminal" in json.dumps(fake.requests[1]["messages"][-1])


async def test_a_cancel_kills_the_clients_terminal(project: Path, tmp_path: Path) -> None:
    editor = TerminalEditor()
    script = [Reply([ToolCall("Bash", {"command": "sleep 60", "description": "slow"})])]
    with FakeMessagesAPI(script) as fake:
        async with agent(editor, tmp_path / "home", fake.base_url, fs=False, terminal=True) as conn:
            new = await conn.new_session(cwd=str(project), mcp_servers=[])
            await conn.set_session_mode(session_id=new.session_id, mode_id="bypassPermissions")
            prompt = asyncio.ensure_future(
                conn.prompt(session_id=new.session_id, prompt=[text_block("wait")])
            )
            for _ in range(400):
                if editor.created:
                    break
                await asyncio.sleep(0.05)
            await conn.cancel(session_id=new.session_id)
            result = await asyncio.wait_for(prompt, TIMEOUT_S)
    assert result.stop_reason == "cancelled"
    assert editor.killed == ["term-1"] and editor.released == ["term-1"]
    assert editor.terminals["term-1"]["proc"].returncode is not None

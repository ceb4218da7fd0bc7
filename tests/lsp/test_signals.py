"""SIGTERM and SIGHUP shut the language server down cleanly (issue 10, item 13): the running command
is killed, the sandbox's placeholders are removed, the signal is in the session's black box, and
the server exits at once instead of being killed mid-work."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from agentls.core import blackbox
from tests.e2e.helpers import cli_env
from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall
from tests.lsp.wire import Server, initialize, notification, request

pytestmark = pytest.mark.slow

RICH = {"experimental": {"agentls": {"requestPermission": True, "sessionUpdate": True}}}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_winds_down_the_running_turn_and_exits(tmp_path: Path, sig: signal.Signals) -> None:
    project, home = tmp_path / "p", tmp_path / "h"
    project.mkdir()
    command = "echo $$ > pid.txt; sleep 60"
    script = [Reply([ToolCall("Bash", {"command": command})]), Reply([Text("never")])]
    with FakeMessagesAPI(script) as fake:
        server = Server(tmp_path, cli_env(home, fake.base_url))
        try:
            server.send(
                initialize(
                    RICH,
                    rootUri=project.as_uri(),
                    initializationOptions={"permissionMode": "bypassPermissions"},
                )
            )
            server.response(1)
            server.send(notification("initialized", {}))
            server.send(request(2, "agentls/newSession", {}))
            session_id = server.response(2)["result"]["sessionId"]
            server.send(
                request(
                    3, "agentls/prompt", {"sessionId": session_id, "prompt": [{"type": "text", "text": "go"}]}
                )
            )
            deadline = time.monotonic() + 30
            while not (project / "pid.txt").exists() or not (project / "pid.txt").read_text().strip():
                assert time.monotonic() < deadline, server.stderr()
                time.sleep(0.05)
            assert (project / ".vscode").exists()  # The sandbox's placeholders are there now.
            server.proc.send_signal(sig)
            code = server.proc.wait(timeout=20)
        finally:
            server.close()
    assert code == 0, server.stderr()
    assert sorted(p.name for p in project.iterdir()) == ["pid.txt"], "placeholders were left behind"
    records = blackbox.read(blackbox.path_for(home / "sessions" / f"{session_id}.jsonl"))
    kinds = [r["kind"] for r in records]
    assert {"kind": "signal", "signal": sig.name, "busy": True}.items() <= records[
        kinds.index("signal")
    ].items()
    assert kinds[-1] == "turn_ended" and records[-1]["stop"] == {"kind": "cancelled"}
    transcript = [
        json.loads(line) for line in (home / "sessions" / f"{session_id}.jsonl").read_text().splitlines()
    ]
    assert transcript[-1] == {"seq": transcript[-1]["seq"], "type": "turn_end", "stop": {"kind": "cancelled"}}

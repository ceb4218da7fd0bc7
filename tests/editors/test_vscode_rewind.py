"""The VS Code chat panel's "Restore to here", in a real VS Code: code-server in headless
Chromium, driven by Playwright (tests/editors/vscode/drive_rewind.js), against the real `agentls`
and the fake Messages API on loopback.

app.py is open in the editor. A first prompt gets a plain answer; the second prompt's scripted
model Reads and Edits app.py (the open buffer) and runs a Bash command that creates made.txt
and notes.txt; while that turn runs, "Restore to here" is disabled. The user then changes
notes.txt. "Restore to here" on the second prompt's message shows the server's dry run as a
preview in the panel (app.py: restore, made.txt: remove, notes.txt: a conflict with its
"overwrite" box unticked; screenshot tests/editors/artifacts/vscode-rewind-preview.png), and
"Restore code and conversation" must put the buffer back to the original text (through the
editor, so VS Code's undo works), remove made.txt, keep the user's notes.txt, drop the prompt
from the conversation and put its text back in the composer. Ctrl+Z in the app.py editor then
brings the agent's version back.

Uses the code-server install cached by tests/editors/vscode/install.sh (see
test_vscode_codeserver.py: the first run installs it, which takes a few minutes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.editors.vscode.codeserver import (
    CLIENT_DIR,
    RunDirs,
    Tools,
    code_server_env,
    extension_logs,
    install_extension,
    read_log,
    running_code_server,
    write_settings,
)
from tests.fakeapi import Delay, FakeMessagesAPI, Reply, Step, Text, ToolCall
from tests.lsp.harness import result_text, tool_results

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "vscode" / "drive_rewind.js"
ARTIFACTS = HERE / "artifacts"
AGENTLS = Path(sys.executable).parent / "agentls"
DRIVE_TIMEOUT_S = 600

ORIGINAL = 'def greet(name):\n    return "hello " + name\n\n\nprint(greet("world"))\n'
OLD = 'return "hello " + name'
NEW = 'return "HELLO " + name'
FIRST_PROMPT = "Say hello first"
FIRST_REPLY = "Hello! FIRST-REPLY-DONE"
PROMPT = "Shout the greeting and note it in made.txt"
REPLY = "Done: greet() shouts and made.txt says so. SHOUT-DONE"
CREATED = "made.txt"
CONFLICT = "notes.txt"
MINE = "the user's own notes\n"


def script(app: Path) -> list[Step]:
    return [
        Reply([Text(FIRST_REPLY)]),
        Reply([Text("Reading app.py."), ToolCall("Read", {"file_path": str(app)})]),
        Reply([ToolCall("Edit", {"file_path": str(app), "old_string": OLD, "new_string": NEW})]),
        Reply(
            [
                ToolCall(
                    "Bash",
                    {
                        "command": f"printf 'shouted\\n' > {CREATED} && printf 'agent\\n' > {CONFLICT}",
                        "description": f"Write {CREATED}",
                    },
                )
            ]
        ),
        # Slow: the turn still runs while the driver checks "Restore to here" is disabled.
        Delay(Reply([Text(REPLY)]), before_s=3.0),
    ]


def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ignore = ARTIFACTS / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    return ARTIFACTS


def test_restore_to_here_in_code_server(tools: Tools, vsix: Path, tmp_path: Path) -> None:
    assert AGENTLS.exists(), f"the agentls console script is not next to {sys.executable}"
    workspace = (tmp_path / "ws").resolve()
    workspace.mkdir()
    app = workspace / "app.py"
    app.write_text(ORIGINAL, encoding="utf-8")
    home = tmp_path / "agentls-home"
    dirs = RunDirs.under(tmp_path / "run")
    artifacts = artifacts_dir()
    for old in artifacts.glob("vscode-rewind-*.png"):
        old.unlink()
    result_path = tmp_path / "drive-result.json"

    with FakeMessagesAPI(script(app)) as fake:
        env = code_server_env(
            dirs,
            {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": fake.base_url, "AGENTLS_HOME": str(home)},
        )
        install_extension(tools, dirs, vsix, env)
        write_settings(
            dirs,
            {
                "agentls.server.command": [str(AGENTLS)],
                "agentls.maxTurns": 8,
                "agentls.permissionMode": "bypassPermissions",
            },
        )
        with running_code_server(tools, dirs, workspace, env) as url:
            config = {
                "url": url,
                "workspace": str(workspace),
                "file": "app.py",
                "originalNeedle": OLD,
                "editedNeedle": NEW,
                "firstPrompt": FIRST_PROMPT,
                "firstReplyNeedle": "FIRST-REPLY-DONE",
                "prompt": PROMPT,
                "replyNeedle": "SHOUT-DONE",
                "createdFile": CREATED,
                "conflictFile": CONFLICT,
                "conflictText": MINE,
                "artifacts": str(artifacts),
                "result": str(result_path),
                "playwright": str(tools.playwright),
                "chromium": str(tools.chromium),
                "tmp": str(tmp_path),
                "timeoutMs": 120_000,
            }
            config_path = tmp_path / "drive-config.json"
            config_path.write_text(json.dumps(config), encoding="utf-8")
            drive = subprocess.run(
                [str(tools.node), str(DRIVER), str(config_path)],
                capture_output=True,
                text=True,
                timeout=DRIVE_TIMEOUT_S,
                check=False,
                stdin=subprocess.DEVNULL,
                cwd=CLIENT_DIR,
            )
            logs = extension_logs(dirs)
        requests = list(fake.requests)
        remaining = fake.remaining

    result = json.loads(result_path.read_text(encoding="utf-8")) if result_path.exists() else {}
    context = (
        f"driver rc={drive.returncode}\nsteps: {result.get('steps')}\nerror: {result.get('error')}\n"
        f"driver stderr:\n{drive.stderr[-3000:]}\ncode-server log:\n{read_log(dirs)[-3000:]}\n{logs[-6000:]}"
    )
    assert drive.returncode == 0 and result.get("ok"), context
    report = json.dumps({k: v for k, v in result.items() if k != "steps"}, indent=1)

    # The turn did what the script says: the Edit reached the open buffer, the command ran.
    assert remaining == 0 and len(requests) == 5, f"{remaining} replies unused; {len(requests)} requests"
    for body in requests[2:5]:
        (tool_result,) = tool_results(body)
        assert not tool_result.get("is_error"), result_text(tool_result)
    assert NEW in result["editorAfterTurn"] and result["createdAfterTurn"], report

    # Each message has its checkpoint's "Restore to here": disabled while the turn ran, shown on
    # hover (hidden otherwise).
    assert result["firstCheckpoint"] == "1", report
    assert result["stopVisibleWhenChecked"] and result["restoreDisabledDuringTurn"] is True, report
    assert result["restoreEnabledAfterTurn"] is True, report
    assert result["restoreButtons"] == 2, report
    assert result["restoreButton"]["checkpoint"] == "2" and not result["restoreButton"]["disabled"], report
    assert "Restore to here" in result["restoreButton"]["text"], report
    assert float(result["restoreOpacityIdle"]) == 0 and float(result["restoreOpacityHover"]) == 1, report

    # The preview: the server's dry run, file by file, and the three choices and Cancel.
    assert result["previewTitle"] == "Restore to checkpoint 2", report
    assert PROMPT in result["previewSubtitle"], report
    assert sorted(result["previewFiles"]) == [["remove", CREATED], ["restore", "app.py"]], report
    assert result["previewSummary"] == "2 files will change · 1 conflict", report
    (conflict,) = result["previewConflicts"]
    assert conflict["path"] == CONFLICT and conflict["label"] == "overwrite", report
    assert conflict["checked"] is False and conflict["why"], report
    assert result["previewChoices"] == [
        "Restore code and conversation",
        "Restore code only",
        "Restore conversation only",
        "Cancel",
    ], report
    assert result["previewChoicesDisabled"] == [False, False, False], report

    # Restore code and conversation: the open buffer is back to the original text (unsaved: the
    # agent's version is on disk, saved before its command ran), the created file is gone, the
    # prompt left the conversation and waits in the composer; the earlier prompt stays.
    assert OLD in result["editorAfterRewind"] and NEW not in result["editorAfterRewind"], report
    assert result["createdAfterRewind"] is False and not (workspace / CREATED).exists(), report
    # The conflict was not ticked: the user's change stays, and the outcome says so.
    assert result["conflictAfterRewind"] == MINE and (workspace / CONFLICT).read_text() == MINE, report
    assert result["notice"].startswith("Rewound to checkpoint 2: 2 file(s) restored"), report
    assert f"1 conflicting file(s) kept: {CONFLICT}" in result["notice"], report
    assert "notice-warning" in result["noticeClass"], report
    assert "the conversation continues from before that prompt" in result["notice"], report
    assert PROMPT not in result["panelTextAfterRewind"], report
    assert (
        FIRST_PROMPT in result["panelTextAfterRewind"]
        and "FIRST-REPLY-DONE" in result["panelTextAfterRewind"]
    )
    assert "SHOUT-DONE" not in result["panelTextAfterRewind"], report
    assert len(result["userMessagesAfterRewind"]) == 1 and result["restoreButtonsAfterRewind"] == 1, report
    assert result["composerAfterRewind"] == PROMPT, report
    assert result["previewsAfterRewind"] == 0, report

    # The buffer came back through one workspace edit: VS Code's undo brings the agent's version.
    assert NEW in result["editorAfterUndo"], report
    assert result["createdAfterUndo"] is False, report

    for name in ("vscode-rewind-preview.png", "vscode-rewind-preview-box.png", "vscode-rewind-done.png"):
        assert (artifacts / name).stat().st_size > 5_000, name

"""The VS Code extension (client-vscode/) in a real VS Code: code-server in headless Chromium,
driven by Playwright, against the real `agentls` and the fake Messages API on loopback.

One whole turn as a user would do it (tests/editors/vscode/drive.js): open app.py, run
"agentls: Open Chat", type a prompt and press Enter; the scripted model reads the file, sets a
plan and asks to Edit it; the "Allow once" button in the chat panel approves it; the edit must
appear in the open editor and the reply in the panel. Then the window is reloaded and the panel
must show the session again, replayed by the server. Screenshots of the panel while the
permission buttons are shown, after the turn and after the reload go to tests/editors/artifacts/.

The first run installs Node 24, code-server and playwright-core from the npm registry (and
Debian's chromium) into a cache (tests/editors/vscode/install.sh), which takes a few minutes;
later runs reuse it. Nothing but the package registries is reached, and only while installing.
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
    Unavailable,
    build_vsix,
    code_server_env,
    ensure_tools,
    extension_logs,
    install_extension,
    read_log,
    running_code_server,
    write_settings,
)
from tests.fakeapi import FakeMessagesAPI, Reply, Text, Thinking, ToolCall
from tests.lsp.harness import result_text, tool_results

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2700)]

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "vscode" / "drive.js"
ARTIFACTS = HERE / "artifacts"
AGENTLS = Path(sys.executable).parent / "agentls"
DRIVE_TIMEOUT_S = 900

APP = 'def greet(name):\n    return "hello " + name\n\n\nprint(greet("world"))\n'
OLD = '"hello " + name'
NEW = 'f"Hello, {name.title()}!"'
PROMPT = "Make the greeting friendlier"
REPLY = (
    "Done: `greet` now title-cases the name and adds an exclamation mark.\n\n"
    '```python\ndef greet(name):\n    return f"Hello, {name.title()}!"\n```\n\n'
    "VSCODE-TURN-DONE"
)
TODOS = [
    {"content": "Read app.py", "status": "completed", "activeForm": "Reading app.py"},
    {"content": "Make the greeting friendlier", "status": "in_progress", "activeForm": "Editing greet"},
    {"content": "Summarise the change", "status": "pending", "activeForm": "Summarising"},
]


@pytest.fixture(scope="session")
def tools() -> Tools:
    try:
        return ensure_tools()
    except Unavailable as err:
        pytest.skip(f"code-server cannot be installed here: {err}")


@pytest.fixture(scope="session")
def vsix(tools: Tools) -> Path:
    return build_vsix()


def turn_script(app: Path) -> list[Reply]:
    return [
        Reply(
            [
                Thinking("The user wants a friendlier greeting; read app.py before changing it."),
                Text("Let me read the file first."),
                ToolCall("Read", {"file_path": str(app)}),
            ]
        ),
        Reply(
            [
                Text("I'll make `greet` title-case the name."),
                ToolCall("TodoWrite", {"todos": TODOS}),
                ToolCall("Edit", {"file_path": str(app), "old_string": OLD, "new_string": NEW}),
            ]
        ),
        Reply([Text(REPLY)]),
    ]


def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ignore = ARTIFACTS / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    return ARTIFACTS


def test_chat_turn_with_permission_in_code_server(tools: Tools, vsix: Path, tmp_path: Path) -> None:
    assert AGENTLS.exists(), f"the agentls console script is not next to {sys.executable}"
    workspace = (tmp_path / "ws").resolve()
    workspace.mkdir()
    app = workspace / "app.py"
    app.write_text(APP, encoding="utf-8")
    home = tmp_path / "agentls-home"
    dirs = RunDirs.under(tmp_path / "run")
    artifacts = artifacts_dir()
    for old in artifacts.glob("vscode-*.png"):
        old.unlink()
    result_path = tmp_path / "drive-result.json"

    with FakeMessagesAPI(turn_script(app)) as fake:
        env = code_server_env(
            dirs,
            {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": fake.base_url, "AGENTLS_HOME": str(home)},
        )
        install_extension(tools, dirs, vsix, env)
        write_settings(
            dirs,
            {"agentls.server.command": [str(AGENTLS)], "agentls.maxTurns": 8, "agentls.thinking": "adaptive"},
        )
        with running_code_server(tools, dirs, workspace, env) as url:
            config = {
                "url": url,
                "workspace": str(workspace),
                "file": "app.py",
                "fileNeedle": 'return "hello " + name',
                "prompt": PROMPT,
                "promptNeedle": PROMPT,
                "editNeedle": 'return f"Hello, {name.title()}!"',
                "replyNeedle": "VSCODE-TURN-DONE",
                "artifacts": str(artifacts),
                "result": str(result_path),
                "playwright": str(tools.playwright),
                "chromium": str(tools.chromium),
                "tmp": str(tmp_path),
                "timeoutMs": 180_000,
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

    # The selection and the @-mentioned file went with the prompt, as the server received them.
    assert result["selectionChip"].startswith("✂ app.py:1-"), result["selectionChip"]
    assert result["fileChip"].startswith("@app.py"), result["fileChip"]
    first_prompt = json.dumps(requests[0]["messages"][0])
    assert PROMPT in first_prompt
    assert "app.py#L1-L" in first_prompt
    assert 'return \\"hello \\" + name' in first_prompt

    # The permission request reached the panel as buttons, with the edit's diff.
    assert result["permissionButtons"] == ["Allow once", "Always allow", "Reject", "Always reject"], context
    assert "Edit" in result["permissionCard"], result["permissionCard"]
    status = result["statusBarDuringPermission"]
    assert "waiting for permission" in status, status

    # The edit landed in the open editor (a buffer change; nothing ran that would save it).
    assert 'return f"Hello, {name.title()}!"' in result["editorText"]
    assert app.read_text(encoding="utf-8") == APP

    # The panel shows the reply, the tool calls (with the diff of the edit), the plan and usage.
    assert "VSCODE-TURN-DONE" in result["panelText"]
    assert result["toolCards"] >= 3, result["panelText"]
    assert result["diffCount"] >= 1, result["panelText"]
    assert "Make the greeting friendlier" in result["planText"]
    assert result["thoughts"] == 1, result["panelText"]
    assert "in " in result["usageText"] and "out " in result["usageText"], result["usageText"]
    assert "agentls" in result["statusBarAfter"] and "waiting" not in result["statusBarAfter"]

    # After a reload the panel shows the same session, replayed by the server.
    assert PROMPT in result["panelTextAfterReload"]
    assert "VSCODE-TURN-DONE" in result["panelTextAfterReload"]
    assert PROMPT in result["sessionMenu"], result["sessionMenu"]

    # The model was asked three times; the Edit succeeded (the user allowed it).
    assert remaining == 0, f"{remaining} scripted replies unused; {len(requests)} requests"
    assert len(requests) == 3
    todo_result, edit_result = tool_results(requests[2])
    assert not todo_result.get("is_error"), result_text(todo_result)
    assert not edit_result.get("is_error"), result_text(edit_result)

    for name in ("vscode-chat-permission.png", "vscode-chat-after-turn.png", "vscode-chat-after-reload.png"):
        assert (artifacts / name).stat().st_size > 10_000, name

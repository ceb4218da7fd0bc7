"""`:AgentlsRewind` in real Neovims (0.7.2 and 0.12-dev) against the real server and the fake
Messages API (tests/editors/nvim/rewind_driver.lua): a turn edits the open file and creates one
with Bash; from the file's window :AgentlsRewind lists the checkpoints, shows the picked one's plan
and "Cancel" changes nothing; with the cursor on the prompt's message, :AgentlsRewind shows the
plan and "Code and conversation" puts the buffer and the disk back, replays the chat without the
prompt and gives the prompt back; `u` in the file's buffer brings the agent's version back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.editors.nvim.runner import NVIM_BUILDS, new_project, nvim_env, run_driver
from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DRIVER = Path(__file__).parent / "nvim" / "rewind_driver.lua"
APP = 'def greet(name):\n    return "hello " + name\n'
PROMPT = "Shout the greeting and note it"


@pytest.mark.parametrize("which", NVIM_BUILDS)
def test_rewind_puts_the_buffer_back_and_undo_brings_the_agents_version(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    nvim: Path = request.getfixturevalue(which)
    project = new_project(tmp_path, {"app.py": APP})
    app = project / "app.py"
    script = [
        Reply([ToolCall("Read", {"file_path": str(app)})]),
        Reply(
            [ToolCall("Edit", {"file_path": str(app), "old_string": '"hello "', "new_string": '"HELLO "'})]
        ),
        Reply([ToolCall("Bash", {"command": "echo noted > made.txt", "description": "note"})]),
        Reply([Text("Shouted. REWIND-TURN-DONE")]),
    ]
    with FakeMessagesAPI(script) as fake:
        run = run_driver(
            nvim,
            DRIVER,
            cwd=project,
            env=nvim_env(tmp_path, tmp_path / "agentls-home", fake.base_url),
            extra_env={
                "AGENTLS_TEST_FILE": str(app),
                "AGENTLS_TEST_MADE": str(project / "made.txt"),
                "AGENTLS_TEST_PROMPT": PROMPT,
            },
            out=tmp_path / "result.json",
        )
    r = run.result
    assert r.get("ok") is True, f"the driver did not finish\n{run.report()}"
    assert not r["errors"], run.report()
    assert r["after_turn"][1] == '    return "HELLO " + name', run.report()
    # Without a message under the cursor: a pick among the checkpoints (number, local time, what,
    # files changed after it).
    (picker,) = [a for a in r["asked"] if a["kind"] == "agentls_checkpoint"]
    assert len(picker["labels"]) == 1, run.report()
    assert re.fullmatch(
        rf"1  \d\d:\d\d  prompt: {PROMPT}  \(2 file\(s\) changed after it\)", picker["labels"][0]
    ), run.report()
    # "Cancel" after the plan: nothing changed.
    assert r["after_cancel"] == r["after_turn"] and r["made_after_cancel"] is True, run.report()
    assert r["checkpoint_at_cursor"] == 1, run.report()
    # The plan was shown before anything changed, with the choices (once after the pick, once for
    # the message under the cursor).
    plans = [a for a in r["asked"] if a["kind"] == "agentls_rewind"]
    assert len(plans) == 2, run.report()
    for plan in plans:
        assert plan["prompt"].startswith("Rewind to checkpoint 1 ("), run.report()
        assert "restore app.py" in plan["prompt"] and "remove made.txt" in plan["prompt"], run.report()
        assert plan["labels"] == ["Code and conversation", "Code only", "Conversation only", "Cancel"], (
            run.report()
        )
    # The open buffer came back through the editor; the created file is gone.
    assert r["after_rewind"] == r["before"], run.report()
    assert not (project / "made.txt").exists(), run.report()
    # The conversation no longer holds the prompt, which is back in the prompt area.
    assert (
        PROMPT
        not in r["chat_after"][
            : r["chat_after"].index(next(x for x in r["chat_after"] if x.startswith("────")))
        ]
    ), run.report()
    assert r["prompt_area"] == [PROMPT], run.report()
    assert any("rewound to checkpoint 1" in n for n in r["notifications"]), run.report()
    # Undo in the file's buffer brings the agent's version back: the rewind was one edit.
    assert r["after_undo"] == r["after_turn"], run.report()

"""Emacs 28 + eglot 1.9, with no agentls plugin, against the real `agentls` and the fake
Messages API: a whole turn started from the server's instruction-comment code action.

The user's part is typed into a real `emacs -nw` under a pseudo-terminal: `M-x
eglot-code-actions` on a `# agent: ...` comment, RET on the offered "Run agent instruction"
action, "Allow once" in eglot's `window/showMessageRequest` prompt for the Edit, and "y" to
eglot's own "Server wants to edit ... Proceed?" confirmations (its default setting). The edit must
land in the buffer, the instruction comment must be gone, and the answer must be shown.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.helpers import cli_env
from tests.editors.emacs.pty_run import EmacsSession
from tests.editors.nvim.runner import AGENTLS, write_project
from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

DRIVER = Path(__file__).parent / "emacs" / "turn_driver.el"

INSTRUCTION = "# agent: make the greeting friendlier"
APP = f'def greet(name):\n    {INSTRUCTION}\n    return "hello " + name\n'
OLD = '"hello " + name'
NEW = 'f"Hello, {name.title()}!"'
EXPECTED = 'def greet(name):\n    return f"Hello, {name.title()}!"\n'
REPLY = "Greeting updated: names are now title-cased. EMACS-TURN-DONE"
NUDGE = "\x1b[15~"
"""F5, typed twice a second while the agent works: the driver reports the editor's state on it (and
finishes once the turn is done). It also stands for a user who keeps working: eglot 1.9 sends
the didChange of an edit applied from a server request on an idle timer that only starts once
Emacs reads input again, so an Emacs left untouched reports the edit at the next keypress, after
the server's 3 s wait for it (the agent would be told the edit did not land)."""


def is_prompt(*needles: str):  # type: ignore[no-untyped-def]
    def match(event: dict[str, object]) -> bool:
        prompt = str(event.get("prompt", ""))
        return event.get("event") == "prompt" and all(n in prompt for n in needles)

    return match


def test_emacs_eglot_instruction_code_action_turn(emacs: Path, tmp_path: Path) -> None:
    project = (tmp_path / "project").resolve()
    project.mkdir()
    write_project(project, {"app.py": APP})
    app = project / "app.py"
    events = tmp_path / "events.jsonl"
    script = [
        Reply([ToolCall("Read", {"file_path": str(app)})]),
        Reply([ToolCall("Edit", {"file_path": str(app), "old_string": OLD, "new_string": NEW})]),
        Reply([Text(REPLY)]),
    ]
    with FakeMessagesAPI(script) as fake:
        env = cli_env(tmp_path / "agentls-home", fake.base_url)
        env.update(
            HOME=str(tmp_path / "home"),
            TERM="xterm",
            AGENTLS_CMD=str(AGENTLS),
            AGENTLS_TEST_EVENTS=str(events),
            AGENTLS_TEST_FILE=str(app),
            AGENTLS_TEST_EXPECTED=EXPECTED,
            AGENTLS_TEST_REPLY=REPLY,
            AGENTLS_TEST_TIMEOUT_S="150",
        )
        os.makedirs(env["HOME"], exist_ok=True)
        session = EmacsSession(
            [str(emacs), "-nw", "-q", "-l", str(DRIVER)], cwd=project, env=env, events=events
        )
        try:
            at, _ = session.wait_event(lambda e: e.get("event") == "ready", "eglot to connect")
            # The user: M-x eglot-code-actions with point on the instruction comment.
            session.type("\x1bxeglot-code-actions\r")
            at, pick = session.wait_event(is_prompt("Pick an action"), "the code-action menu", start=at)
            assert "Run agent instruction" in pick["prompt"], session.report()
            session.type("\r")  # The default: the instruction's action.
            at, ask = session.wait_event(
                is_prompt("Server reports", "Choose an option"), "the permission prompt", start=at
            )
            assert "Edit" in ask["prompt"], session.report()
            # SPC completes a word in this prompt, so type a prefix, complete it, confirm.
            session.type("\x01\x0bAllow\t\r")  # C-a C-k: the prompt starts filled with the first choice.
            # eglot asks before applying any server edit (eglot-confirm-server-initiated-edits):
            # once for the agent's Edit, once for removing the instruction comment. Meanwhile the
            # user presses C-l now and then: eglot 1.9 sends the didChange of an edit applied from
            # a server request only once Emacs reads input again (see NUDGE).
            for what in ("the agent's edit", "removing the instruction comment"):
                at, _ = session.wait_event(
                    is_prompt("Server wants to edit", "Proceed?"), what, start=at + 1, nudge=NUDGE
                )
                session.type("y")
            done = session.wait_event(
                lambda e: e.get("event") == "done", "the turn to finish", start=at, nudge=NUDGE
            )[1]
        finally:
            session.close()
        report = session.report()
        assert done["ok"] is True, report
        fake.assert_consumed()

    assert done["buffer"] == EXPECTED, report
    assert done["modified"] is True, report  # In the buffer, unsaved: the editor applied the edits.
    assert app.read_text(encoding="utf-8") == APP, "the file on disk changed: edits bypassed the editor"
    assert REPLY in done["messages"], report
    assert done["emacs"].startswith("28."), report
    # Exactly one permission prompt (the Edit; Read needs none), through showMessageRequest.
    asked = [e for e in session.seen if is_prompt("Server reports", "Choose an option")(e)]
    assert len(asked) == 1, report
    # The model saw the instruction and a successful Edit.
    assert "make the greeting friendlier" in str(fake.requests[0]["messages"]), report
    edit_result = fake.requests[2]["messages"][-1]["content"][0]
    assert edit_result["type"] == "tool_result" and not edit_result.get("is_error"), (
        f"{edit_result}\n{report}"
    )

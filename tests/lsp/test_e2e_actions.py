"""Code actions and commands: the standard-LSP ways to start a turn, for editors without a chat
panel. The answer comes back as `window/showMessage` and, where supported, `window/showDocument`
of a Markdown transcript.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as T
from pygls.uris import to_fs_path

from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall
from tests.lsp.harness import MAIN_PRESETS, NVIM011_PLAIN, NVIM07, Env, Preset, presets, wait_until

pytestmark = pytest.mark.slow

SOURCE = "def first_word(text):\n    # agent: handle empty input\n    return text.split()[0]\n"


SELECTION_TITLES = ("Explain with agent", "Fix with agent", "Refactor with agent", "Write tests with agent")


def user_text(body: dict[str, Any]) -> str:
    """The text of the first user message of a Messages API request."""
    content = body["messages"][0]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


@presets(*MAIN_PRESETS)
async def test_selection_actions_and_an_instruction_comment_that_runs_and_disappears(
    env: Env, preset: Preset
) -> None:
    app = env.root / "words.py"
    app.write_text(SOURCE, encoding="utf-8")
    script = [
        Reply([ToolCall("Read", {"file_path": str(app)})]),
        Reply(
            [
                ToolCall(
                    "Edit",
                    {
                        "file_path": str(app),
                        "old_string": "    return text.split()[0]\n",
                        "new_string": "    words = text.split()\n    return words[0] if words else ''\n",
                    },
                )
            ]
        ),
        Reply([Text("Empty input now gives ''.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(preset, fake, options={"permissionMode": "acceptEdits"}) as editor:
            uri = editor.open(app)
            selection = T.Range(start=T.Position(line=0, character=0), end=T.Position(line=3, character=0))
            actions = await editor.code_actions(uri, selection)
            titles = [a["title"] for a in actions]
            for expected in (
                "Explain with agent",
                "Fix with agent",
                "Refactor with agent",
                "Write tests with agent",
            ):
                assert expected in titles, titles
            (run,) = [a for a in actions if a["title"].startswith("Run agent instruction")]
            assert run["title"] == "Run agent instruction: handle empty input"
            assert all(a["command"]["command"] == "agentls.ask" for a in actions)
            # No selection, only a cursor on the comment: just the instruction.
            cursor = T.Range(start=T.Position(line=1, character=4), end=T.Position(line=1, character=4))
            assert [a["title"] for a in await editor.code_actions(uri, cursor)] == [run["title"]]

            started = await editor.execute_command(run["command"]["command"], run["command"]["arguments"])
            assert started["sessionId"]
            await wait_until(lambda: "# agent:" not in editor.text(uri), what="the comment to be removed")
            await wait_until(
                lambda: any("Empty input now gives" in m.message for m in editor.client.messages),
                what="the final message",
            )
            buffer = editor.text(uri)
            shown = list(editor.client.shown_documents)
            messages = list(editor.client.messages)
        fake.assert_consumed()

    assert buffer == "def first_word(text):\n    words = text.split()\n    return words[0] if words else ''\n"
    assert "handle empty input" in user_text(fake.requests[0])
    if preset.name == "nvim07":
        assert shown == []  # Neovim 0.7 has no showDocument: the message says where the transcript is.
    else:
        assert [d.uri.endswith(".md") for d in shown] == [True]
    assert any("Full transcript:" in m.message for m in messages)


@presets(NVIM011_PLAIN)
async def test_ask_from_a_plain_client_answers_with_a_message_and_a_transcript(
    env: Env, preset: Preset
) -> None:
    app = env.root / "words.py"
    app.write_text(SOURCE, encoding="utf-8")
    answer = "It returns the first whitespace-separated word, and fails on empty input."
    script = [Reply([Text(answer)])]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(preset, fake) as editor:
            uri = editor.open(app)
            selection = editor.range_of(uri, "return text.split()[0]")
            argument = {
                "prompt": "What does this line do?",
                "uri": uri,
                "range": {
                    "start": {"line": selection.start.line, "character": selection.start.character},
                    "end": {"line": selection.end.line, "character": selection.end.character},
                },
            }
            started = await editor.execute_command("agentls.ask", [argument])
            assert started["sessionId"]
            await wait_until(lambda: editor.client.shown_documents, what="the transcript to be shown")
            message = await wait_until(
                lambda: [m for m in editor.client.messages if answer in m.message], what="the final message"
            )
        fake.assert_consumed()

    assert message[0].type == T.MessageType.Info
    prompt = user_text(fake.requests[0])
    assert "What does this line do?" in prompt
    assert "return text.split()[0]" in prompt  # The selected text went with the question.
    (shown,) = editor.client.shown_documents
    path = Path(to_fs_path(shown.uri) or "")
    transcript = path.read_text(encoding="utf-8")
    assert "What does this line do?" in transcript
    assert answer in transcript
    assert str(path) in message[0].message


@presets(NVIM07)
async def test_an_instruction_typed_after_a_form_feed_is_offered_on_its_line(
    env: Env, preset: Preset
) -> None:
    app = env.root / "paged.py"
    # A form feed (a page break, common in Emacs-edited and GNU-style files) ends the first line's
    # content. str.splitlines() breaks a line there, the LSP does not: an incremental change after
    # it must still land on the right line of the server's copy.
    app.write_text(
        "x = 1  # page one\x0c\ndef first_word(text):\n    return text.split()[0]\n", encoding="utf-8"
    )
    with FakeMessagesAPI([]) as fake:
        async with env.editor(preset, fake) as editor:
            uri = editor.open(app)
            # The user types an instruction above the return statement (an incremental change).
            text = editor.text(uri)
            at = text.index("    return")
            editor.type(uri, text[:at] + "    # agent: handle empty input\n" + text[at:])
            comment_line = editor.text(uri).split("\n").index("    # agent: handle empty input")
            cursor = T.Range(
                start=T.Position(line=comment_line, character=4),
                end=T.Position(line=comment_line, character=4),
            )
            titles = [a["title"] for a in await editor.code_actions(uri, cursor)]
    assert titles == ["Run agent instruction: handle empty input"]

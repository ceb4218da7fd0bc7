"""Skills through the language server: `agentls/listCommands` lists a user-invocable skill (source
`skill`) next to the commands, and leaves out one that is for the model only."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakeapi import FakeMessagesAPI
from tests.lsp.harness import VSCODE, Env, Preset, presets

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    skills = home / ".claude" / "skills"
    (skills / "release-notes").mkdir(parents=True)
    (skills / "release-notes" / "SKILL.md").write_text(
        "---\ndescription: Drafts release notes\nargument-hint: '[since-tag]'\n---\nRead the log since $1."
    )
    (skills / "model-only").mkdir()
    (skills / "model-only" / "SKILL.md").write_text("---\nuser-invocable: false\n---\nFor the model.")
    monkeypatch.setenv("HOME", str(home))
    return home


@presets(VSCODE)
async def test_list_commands_lists_a_user_invocable_skill(
    env: Env, preset: Preset, private_home: Path
) -> None:
    with FakeMessagesAPI([]) as fake:
        async with env.editor(preset, fake) as editor:
            listed = await editor.request("agentls/listCommands", {})
            session_id = await editor.new_session()
            in_session = await editor.request("agentls/listCommands", {"sessionId": session_id})

    for answer in (listed, in_session):
        by_name = {c["name"]: c for c in answer["commands"]}
        assert by_name["release-notes"] == {
            "name": "release-notes",
            "description": "Drafts release notes",
            "argumentHint": "[since-tag]",
            "source": "skill",
            "label": "skill:user",
            "callsModel": True,
            "path": str(private_home / ".claude" / "skills" / "release-notes" / "SKILL.md"),
        }
        assert "model-only" not in by_name and "cost" in by_name
        assert answer["warnings"] == []

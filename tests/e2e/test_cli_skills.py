"""Skills from `agentls run`, a real subprocess against the fake Messages API: the first request
lists a skill's description and not its body, the `Skill` call's result is the body, its
`allowed-tools: Read` blocks Edit for the rest of that turn; `/skill-name args` sends the skill's
text; a project's skill in an untrusted folder is not offered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentls.core.scripted import Reply, Text, ToolCall
from agentls.policy.loader import SettingsSources
from tests.e2e.helpers import parse_events, run_cli
from tests.fakeapi import FakeMessagesAPI

pytestmark = pytest.mark.slow

RUN_JSON = ("run", "--output-format", "stream-json", "--permission-mode", "bypassPermissions")
BODY = "To tidy a module: read it, then list what to rename ($ARGUMENTS). (BODY-MARKER)"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """AGENTLS_HOME; HOME is private too, so the user's own ~/.claude/skills stay out."""
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    return tmp_path / "agentls-home"


def project_skill(project: Path, frontmatter: str) -> Path:
    folder = project / ".claude" / "skills" / "tidy"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(f"---\n{frontmatter}\n---\n{BODY}\n", encoding="utf-8")
    return folder


def tool_named(request: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((t for t in request.get("tools", []) if t["name"] == name), None)


def tool_results(request: dict[str, Any]) -> list[dict[str, Any]]:
    content = request["messages"][-1]["content"]
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def result_text(block: dict[str, Any]) -> str:
    content = block["content"]
    return content if isinstance(content, str) else "".join(c.get("text", "") for c in content)


def test_the_model_loads_a_skill_and_its_allowed_tools_hold_for_the_turn(project: Path, home: Path) -> None:
    project_skill(project, "description: Tidies a module's names.\nallowed-tools: Read")
    SettingsSources(project=project).trust_store.trust(project)
    target = project / "m.py"
    target.write_text("x = 1\n")
    edit = {"file_path": str(target), "old_string": "x = 1", "new_string": "y = 1"}
    script = [
        Reply([ToolCall("Read", {"file_path": str(target)})]),
        Reply([ToolCall("Skill", {"skill": "tidy", "args": "m.py"})]),
        Reply([ToolCall("Edit", edit)]),
        Reply([Text("The skill only lets me read.")]),
        # A resumed session has read nothing yet: Edit wants a Read first.
        Reply([ToolCall("Read", {"file_path": str(target)})]),
        Reply([ToolCall("Edit", edit)]),
        Reply([Text("Renamed.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        first = run_cli([*RUN_JSON, "Tidy m.py"], home=home, base_url=fake.base_url, cwd=project)
        assert first.returncode == 0, first.stderr
        session_id = str(parse_events(first.stdout)[0]["session_id"])
        assert target.read_text() == "x = 1\n"
        second = run_cli(
            [*RUN_JSON, "--resume", session_id, "Now rename x to y."],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        assert second.returncode == 0, second.stderr
        fake.assert_consumed()
        requests = fake.requests

    listed = tool_named(requests[0], "Skill")
    assert listed is not None and "- tidy: Tidies a module's names." in listed["description"]
    assert "BODY-MARKER" not in json.dumps(requests[0])
    (loaded,) = tool_results(requests[2])
    assert "read it, then list what to rename (m.py). (BODY-MARKER)" in result_text(loaded)
    assert tool_named(requests[2], "Edit") is None  # Hidden while the skill is active.
    (blocked,) = tool_results(requests[3])
    assert blocked.get("is_error") and "the skill tidy (allowed-tools) allows only Read" in result_text(
        blocked
    )
    denied = [e for e in parse_events(first.stdout) if e["kind"] == "permission_decided"]
    assert [(d["name"], d["outcome"]) for d in denied] == [("Edit", "deny")]
    # The next turn has every tool again, and the edit goes through.
    assert tool_named(requests[4], "Edit") is not None
    assert target.read_text() == "y = 1\n"


def test_a_skill_runs_as_a_slash_command(project: Path, home: Path) -> None:
    project_skill(project, "description: Tidies a module's names.\nargument-hint: <module>")
    SettingsSources(project=project).trust_store.trust(project)
    with FakeMessagesAPI([Reply([Text("Tidied.")])]) as fake:
        result = run_cli(["run", "/tidy src/app.py quickly"], home=home, base_url=fake.base_url, cwd=project)
        (request,) = fake.requests
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Tidied."
    content = request["messages"][-1]["content"]
    text = content if isinstance(content, str) else "".join(b.get("text", "") for b in content)
    assert "read it, then list what to rename (src/app.py quickly). (BODY-MARKER)" in text
    assert f"Base directory for this skill: {project / '.claude' / 'skills' / 'tidy'}" in text


def test_a_project_skill_in_an_untrusted_folder_is_not_offered(project: Path, home: Path) -> None:
    project_skill(project, "description: Tidies a module's names.")
    with FakeMessagesAPI([Reply([Text("Hello.")])]) as fake:
        result = run_cli([*RUN_JSON, "hello"], home=home, base_url=fake.base_url, cwd=project)
        (request,) = fake.requests
        command = run_cli(["run", "/tidy m.py"], home=home, base_url=fake.base_url, cwd=project)
    assert result.returncode == 0, result.stderr
    assert tool_named(request, "Skill") is None
    assert "tidy" not in json.dumps(request.get("tools", []))
    notices = [e["message"] for e in parse_events(result.stdout) if e["kind"] == "notice"]
    assert any("skills" in n and "not trusted" in n for n in notices)
    assert command.returncode == 2 and "Unknown command /tidy" in command.stderr

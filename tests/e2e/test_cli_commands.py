"""Slash commands from `agentls run`, a real subprocess against the fake Messages API: `/cost` and
`/context` report without a request, `/compact` summarises with the user's instructions, a custom
`.claude/commands/fix-issue.md` sends its prompt with the arguments substituted, and an unknown
command is a usage error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentls.core.context.summary import SUMMARY_INSTRUCTIONS
from agentls.core.scripted import Reply, Text, ToolCall
from agentls.policy.loader import SettingsSources
from tests.e2e.helpers import parse_events, run_cli
from tests.fakeapi import FakeMessagesAPI

pytestmark = pytest.mark.slow

RUN_JSON = ("run", "--output-format", "stream-json", "--permission-mode", "bypassPermissions")
SUMMARY_MARK = SUMMARY_INSTRUCTIONS.splitlines()[0]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """AGENTLS_HOME; HOME is private too, so the user's own ~/.claude/commands stay out."""
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    return tmp_path / "agentls-home"


def _text(body: dict[str, Any], index: int) -> str:
    content = body["messages"][index]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


def _first_session(project: Path, home: Path) -> str:
    """A session that read two files, so there is something to report and to compact."""
    for n in range(2):
        (project / f"m{n}.py").write_text("".join(f"value_{n}_{i} = {i}\n" for i in range(300)))
    script = [
        Reply([ToolCall("Read", {"file_path": str(project / "m0.py")})]),
        Reply([ToolCall("Read", {"file_path": str(project / "m1.py")})]),
        Reply([Text("Both modules hold plain values.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        first = run_cli([*RUN_JSON, "Read m0.py and m1.py."], home=home, base_url=fake.base_url, cwd=project)
    assert first.returncode == 0, first.stderr
    return str(parse_events(first.stdout)[0]["session_id"])


def test_cost_context_and_compact_from_agentls_run(project: Path, home: Path) -> None:
    session_id = _first_session(project, home)

    with FakeMessagesAPI([]) as fake:
        cost = run_cli(
            ["run", "--resume", session_id, "/cost"], home=home, base_url=fake.base_url, cwd=project
        )
        context = run_cli(
            ["run", "--output-format", "stream-json", "--resume", session_id, "/context"],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        assert fake.requests == []  # Neither asked the model anything.
    assert cost.returncode == 0, cost.stderr
    assert cost.stdout.startswith("Session cost: $"), cost.stdout
    assert "Tokens out:" in cost.stdout
    assert context.returncode == 0, context.stderr
    events = parse_events(context.stdout)
    (output,) = [e for e in events if e["kind"] == "command_output"]
    assert output["command"] == "context"
    assert output["data"]["byKind"]["toolResults"] > 0 and output["data"]["tokens"] > 0
    assert not any(e["kind"] == "turn_ended" for e in events)

    summary = Reply([Text("<summary>Read m0.py and m1.py; both hold plain value_* assignments.</summary>")])
    with FakeMessagesAPI([summary]) as fake:
        compact = run_cli(
            ["run", "--resume", session_id, "/compact keep the module names"],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        (request,) = fake.requests
    assert compact.returncode == 0, compact.stderr
    assert SUMMARY_MARK in _text(request, -1) and "keep the module names" in _text(request, -1)
    assert compact.stdout.startswith("Context compacted"), compact.stdout
    assert "(context summary:" in compact.stderr


def test_custom_command_sends_its_prompt_with_the_arguments(project: Path, home: Path) -> None:
    folder = project / ".claude" / "commands"
    folder.mkdir(parents=True)
    (folder / "fix-issue.md").write_text(
        "---\n"
        "description: Fix a GitHub issue\n"
        "argument-hint: <number>\n"
        "---\n"
        "Please fix GitHub issue $ARGUMENTS. Start with issue number $1.\n"
    )
    with FakeMessagesAPI([Reply([Text("On it.")])]) as fake:
        untrusted = run_cli(
            ["run", "/fix-issue 1234 quickly"], home=home, base_url=fake.base_url, cwd=project
        )
        assert fake.requests == []
    assert untrusted.returncode == 2
    assert "Unknown command /fix-issue" in untrusted.stderr and "not trusted" in untrusted.stderr

    SettingsSources(project=project).trust_store.trust(project)
    with FakeMessagesAPI([Reply([Text("On it.")])]) as fake:
        result = run_cli(["run", "/fix-issue 1234 quickly"], home=home, base_url=fake.base_url, cwd=project)
        (request,) = fake.requests
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "On it."
    assert _text(request, -1).endswith("Please fix GitHub issue 1234 quickly. Start with issue number 1234.")


def test_unknown_command_is_a_usage_error(project: Path, home: Path) -> None:
    with FakeMessagesAPI([]) as fake:
        result = run_cli(["run", "/cots"], home=home, base_url=fake.base_url, cwd=project)
        assert fake.requests == []
    assert result.returncode == 2
    assert "Unknown command /cots. Did you mean /cost?" in result.stderr

"""Read-only Bash calls of one response run at once; mutating ones keep their place in call order.

The commands stamp their own start and end (`$EPOCHREALTIME`, bash's wall clock) around a wait
that is itself read-only (`timeout 0.5 tail -f /dev/null`), so the line is read-only by the policy's
shell analysis. Only the order of the stamps is asserted, never a duration.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agentls.core.checkpoints.timeline import timeline
from agentls.core.config import AgentConfig
from agentls.core.events import ToolCallStarted
from agentls.core.messages import ToolResultBlock
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.core.session import Session, SessionDeps
from agentls.policy.decision import CallFacts, PermissionMode
from agentls.policy.engine import PermissionEngine
from agentls.policy.loader import SettingsSources
from agentls.policy.settings_levels import merge
from agentls.store.jsonl import read_jsonl
from agentls.store.sessions import SessionStore
from agentls.tools.bash import BashInput, BashTool
from agentls.tools.read import ReadInput, ReadTool
from agentls.workspace.disk import DiskWorkspace
from tests.core.fakes import ScriptedApprover, collect, make_session

Span = tuple[float, float]


def reading(label: str, wait: float = 0.5) -> str:
    """A read-only line that says when it started and ended."""
    return (
        f'echo "{label} start $EPOCHREALTIME"; timeout {wait} tail -f /dev/null; '
        f'echo "{label} end $EPOCHREALTIME"'
    )


def writing(label: str, file: str) -> str:
    """The same with a redirection into a file: mutating."""
    return (
        f'echo "{label} start $EPOCHREALTIME"; timeout 0.2 tail -f /dev/null; echo {label} > {file}; '
        f'echo "{label} end $EPOCHREALTIME"'
    )


def stamps(label: str, result: ToolResultBlock) -> Span:
    assert not result.is_error, result.content
    lines = result.content.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{label} start ") and lines[1].startswith(f"{label} end ")
    return float(lines[0].split()[-1]), float(lines[1].split()[-1])


def overlap(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


async def run_calls(project: Path, commands: list[str]) -> tuple[list[ToolResultBlock], list[bool]]:
    """One response with these Bash calls; the results sent back and each call's read-only flag."""
    calls = [ToolCall("Bash", {"command": c}) for c in commands]
    model = ScriptedModel([Reply(calls), Reply([Text("done")])])
    session = await make_session(project, model, tools=[BashTool()], mode="bypassPermissions")
    events = await collect(session, "go")
    last = model.requests[1].messages[-1]
    results = [b for b in last.content if isinstance(b, ToolResultBlock)]
    ids = [u.id for u in model.requests[1].messages[-2].tool_uses()]
    assert [r.tool_use_id for r in results] == ids  # In call order.
    started = {e.call_id: e.read_only for e in events if isinstance(e, ToolCallStarted)}
    return results, [started[i] for i in ids]


async def test_read_only_bash_calls_overlap_and_answer_in_call_order(project: Path) -> None:
    labels = ["r0", "r1", "r2"]
    results, read_only = await run_calls(project, [reading(label) for label in labels])
    assert read_only == [True, True, True]
    spans = [stamps(label, r) for label, r in zip(labels, results, strict=True)]
    for i, span in enumerate(spans):
        others = [s for j, s in enumerate(spans) if j != i]
        assert any(overlap(span, other) for other in others), spans


async def test_a_mutating_bash_call_is_not_overlapped(project: Path) -> None:
    results, read_only = await run_calls(
        project, [reading("r0"), reading("r1"), writing("w", "f.txt"), reading("r2", 0.1)]
    )
    assert read_only == [True, True, False, True]
    r0, r1, w, r2 = (stamps(label, r) for label, r in zip(["r0", "r1", "w", "r2"], results, strict=True))
    assert overlap(r0, r1)
    assert w[0] >= max(r0[1], r1[1])  # The write waited for every earlier call...
    assert r2[0] >= w[1]  # ...and the read after it waited for the write.
    assert (project / "f.txt").read_text() == "w\n"


async def test_concurrent_bash_calls_keep_the_checkpoint_record_right(tmp_path: Path, project: Path) -> None:
    """Each Bash process is followed by a post-scan; concurrent ones queue theirs. The write is
    recorded once, as the mutating call's, and rewinds; the reads record nothing."""
    (project / "a.txt").write_text("alpha\n")
    config = tmp_path / "config"
    config.mkdir()  # Default settings: the sandbox is on where it is available.
    calls = [
        ToolCall("Bash", {"command": reading("r0")}, id="r0"),
        ToolCall("Bash", {"command": reading("r1")}, id="r1"),
        ToolCall("Bash", {"command": writing("w", "f.txt")}, id="w"),
        ToolCall("Bash", {"command": reading("r2", 0.1) + " && cat f.txt a.txt"}, id="r2"),
    ]
    model = ScriptedModel([Reply(calls), Reply([Text("done")])])
    deps = SessionDeps(
        config=AgentConfig(model="m", retry_base_delay_s=0.0, permission_mode="bypassPermissions"),
        model=model,
        workspace=DiskWorkspace(project),
        approver=ScriptedApprover([]),
        settings=SettingsSources(project=project, home=tmp_path / "home", config=config, managed=()),
        store=SessionStore(tmp_path / "sessions"),
    )
    session = await Session.start(deps)
    await collect(session, "go")
    results = [b for b in model.requests[1].messages[-1].content if isinstance(b, ToolResultBlock)]
    assert [r.tool_use_id for r in results] == ["r0", "r1", "w", "r2"]
    assert overlap(stamps("r0", results[0]), stamps("r1", results[1]))
    assert results[3].content.splitlines()[2:] == ["w", "alpha"]  # The read after the write sees it.

    assert session.transcript is not None
    (checkpoint,) = timeline(read_jsonl(session.transcript).records)
    assert [(c.path, c.by, c.call_id) for c in checkpoint.changes] == [("f.txt", "Bash", "w")]
    await session.rewind(None, "code")
    assert not (project / "f.txt").exists() and (project / "a.txt").read_text() == "alpha\n"


TOOL = BashTool()


@pytest.mark.parametrize(
    "command",
    [
        "ls",
        "ls -la src",
        "git status",
        "git diff HEAD~1 -- src",
        "grep -rn TODO . | sort | head -20",
        "cat a.txt >&2",
        "ls > /dev/null 2>&1",
        "LC_ALL=C sort a.txt",
        reading("r"),
    ],
)
def test_reading_lines_are_read_only(command: str) -> None:
    assert TOOL.is_read_only(BashInput(command=command))


@pytest.mark.parametrize(
    "command",
    [
        # A redirection into a file, or another writer in the line.
        "ls > out.txt",
        "ls 2> err.log",
        "cat a.txt >> b.txt",
        "ls | tee listing.txt",
        "touch f",
        "echo x > f.txt",
        writing("w", "f.txt"),
        # Unparsable (the parser cannot vouch for it).
        'ls "unterminated',
        "ls && && ls",
        # Dangerous forms.
        "find . -delete",
        "sed -i s/a/b/ a.txt",
        "FOO=1 ls",
        "ls $(cat list)",
        "eval ls",
        "bash -c 'ls'",
        "git -c core.pager=x log",
        "git branch new-branch",
        # Outside the read-only set, or a directory change.
        "cd src && ls",
        "sleep 1",
        "",
    ],
)
def test_other_lines_are_mutating(command: str) -> None:
    assert not TOOL.is_read_only(BashInput(command=command))


def test_other_tools_answer_with_their_class() -> None:
    assert ReadTool().is_read_only(ReadInput(file_path="/x"))
    assert not BashTool.read_only  # The class default stays: only a call's input can make it read-only.


@pytest.mark.parametrize("mode", ["default", "plan", "acceptEdits", "dontAsk", "bypassPermissions"])
@pytest.mark.parametrize(
    "command", ["ls", "cat /etc/passwd", "git status", "ls > out.txt", "touch f", "cd src && ls", 'ls "']
)
def test_the_permission_decision_ignores_the_calls_read_only_flag(
    tmp_path: Path, command: str, mode: PermissionMode
) -> None:
    """The runner now tells the policy a read-only Bash call is read-only; the engine judges Bash
    lines by its own analysis, so no decision changes with that flag."""
    root = tmp_path.resolve()
    engine = PermissionEngine(merge([], trusted=True, cwd=root, home=root / "home"), root=root, mode=mode)

    def decided(read_only: bool) -> object:
        facts = CallFacts("Bash", {"command": command}, read_only, False, (), f"Bash: {command}")
        return engine.settle(engine.decide(facts))

    assert decided(True) == decided(False)

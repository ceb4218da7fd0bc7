"""Checkpoints and rewind in the core, with the scripted model on a real project on disk: a turn
that edits with Edit, creates with Write and changes and removes files with a shell command (and
a script writing several) is rewound byte for byte, in a git repository and in a plain folder;
ignored files are left alone; a subagent's changes go with its parent's prompt; a file the user
changed after the agent is a conflict, kept unless chosen; the conversation rewinds with the code
(and a resumed session continues from there); a rewind can itself be undone; size caps."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agentls.core.checkpoints.rewind import RewindError
from agentls.core.checkpoints.timeline import timeline
from agentls.core.checkpoints.tracker import CheckpointLimits
from agentls.core.config import AgentConfig
from agentls.core.events import CommandOutput, TurnEnded
from agentls.core.messages import TextBlock
from agentls.core.model import ModelRequest
from agentls.core.records import NOT_KEPT
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.core.session import Session, SessionDeps
from agentls.policy.loader import SettingsSources
from agentls.store.jsonl import read_jsonl
from agentls.store.sessions import SessionStore
from agentls.workspace.disk import DiskWorkspace
from tests.core.fakes import ScriptedApprover, collect

GIT = ["git", "-c", "user.email=t@example.com", "-c", "user.name=T", "-c", "commit.gpgsign=false"]

SCRIPT = """\
printf 'one\\n' > gen/one.txt
printf 'two\\n' > gen/two.txt
printf 'changed by the script\\n' > untracked.txt
printf 'and again\\n' >> dirty.txt
printf 'ignored output\\n' > build/out.bin
"""


def tree_digest(root: Path, *, skip: tuple[str, ...] = (".git", "build")) -> dict[str, str]:
    """Every file under `root` (but `skip`) and the sha256 of its bytes."""
    out: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            path = Path(folder) / name
            out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def make_project(project: Path, *, git: bool) -> None:
    (project / "lib").mkdir()
    (project / "gen").mkdir()
    (project / "build").mkdir()
    (project / "a.txt").write_text("alpha\nbeta\n")
    (project / "b.txt").write_text("x marks the spot\n")
    (project / "lib" / "c.txt").write_text("to be removed\n")
    (project / "crlf.txt").write_bytes(b"\xef\xbb\xbfwindows x\r\nline\r\n")
    (project / "gen.sh").write_text(SCRIPT)
    (project / ".gitignore").write_text("build/\n")
    (project / "build" / "out.bin").write_text("old build\n")
    (project / "dirty.txt").write_text("committed\n")
    if git:
        subprocess.run(["git", "init", "-q"], cwd=project, check=True)
        subprocess.run([*GIT, "add", "-A"], cwd=project, check=True)
        subprocess.run([*GIT, "commit", "-qm", "start"], cwd=project, check=True)
    (project / "dirty.txt").write_text("committed\nnot yet committed\n")
    (project / "untracked.txt").write_text("untracked\n")


class World:
    def __init__(self, tmp_path: Path, project: Path) -> None:
        self.project = project
        config = tmp_path / "config"
        config.mkdir()
        settings = {"sandbox": {"enabled": False}, "permissions": {"allow": ["Bash", "Edit", "Write"]}}
        (config / "settings.json").write_text(json.dumps(settings))
        self.sources = SettingsSources(project=project, home=tmp_path / "home", config=config, managed=())
        self.store = SessionStore(tmp_path / "sessions")

    def deps(self, model: ScriptedModel) -> SessionDeps:
        return SessionDeps(
            config=AgentConfig(
                model="scripted-model", retry_base_delay_s=0.0, permission_mode="bypassPermissions"
            ),
            model=model,
            workspace=DiskWorkspace(self.project),
            approver=ScriptedApprover([]),
            settings=self.sources,
            store=self.store,
        )


@pytest.fixture
def world(tmp_path: Path, project: Path) -> World:
    return World(tmp_path, project)


def agent_turn(project: Path) -> list[Reply]:
    """Edit, Write and a shell command that changes, removes and writes several files."""
    return [
        Reply([ToolCall("Read", {"file_path": str(project / "a.txt")})]),
        Reply(
            [
                ToolCall(
                    "Edit", {"file_path": str(project / "a.txt"), "old_string": "beta", "new_string": "BETA"}
                ),
                ToolCall("Write", {"file_path": str(project / "new" / "made.txt"), "content": "made\n"}),
            ]
        ),
        Reply([ToolCall("Bash", {"command": "sed -i s/x/y/ b.txt crlf.txt && rm lib/c.txt && sh gen.sh"})]),
        Reply([Text("done")]),
    ]


def ended(events: list[Any]) -> TurnEnded:
    end = events[-1]
    assert isinstance(end, TurnEnded), events[-3:]
    return end


@pytest.mark.parametrize("git", [True, False], ids=["git", "plain"])
async def test_a_turn_of_edits_writes_and_shell_changes_rewinds_byte_for_byte(
    world: World, git: bool
) -> None:
    make_project(world.project, git=git)
    before = tree_digest(world.project)
    session = await Session.start(world.deps(ScriptedModel(agent_turn(world.project))))
    assert ended(await collect(session, "change things")).stop.kind == "end_turn"
    after = tree_digest(world.project)
    assert after != before and "lib/c.txt" not in after and "gen/one.txt" in after
    assert (world.project / "build" / "out.bin").read_text() == "ignored output\n"

    # Every change is on record under the prompt's checkpoint, with the tool that made it.
    assert session.transcript is not None
    (checkpoint,) = timeline(read_jsonl(session.transcript).records)
    by = {c.path: c.by for c in checkpoint.changes}
    assert by["a.txt"] == "Edit" and by["new/made.txt"] == "Write"
    shell = {"b.txt", "crlf.txt", "lib/c.txt", "gen/one.txt", "gen/two.txt", "untracked.txt", "dirty.txt"}
    if git:  # Ignored: not tracked, and the checkpoint says so.
        assert any("ignore" in note for note in checkpoint.notes)
    else:  # Without git every file is.
        shell.add("build/out.bin")
    assert {p for p, tool in by.items() if tool == "Bash"} == shell

    outcome = await session.rewind(None, "code")
    assert not outcome.kept and not outcome.plan.not_restorable
    assert tree_digest(world.project) == before
    if git:
        assert (world.project / "build" / "out.bin").read_text() == "ignored output\n"
    assert not (world.project / "new").exists() or not any((world.project / "new").iterdir())


async def test_a_subagents_changes_go_with_its_parents_prompt(world: World) -> None:
    make_project(world.project, git=True)
    before = tree_digest(world.project)
    task = {"description": "Fix b", "prompt": "change b.txt", "subagent_type": "general-purpose"}

    def route(request: ModelRequest) -> Reply:
        sub = "subagent" in request.system[0].text[:400]
        last = request.messages[-1]
        answered = any(getattr(b, "type", "") == "tool_result" for b in last.content)
        if sub:
            if answered:
                return Reply([Text("sub done")])
            return Reply([ToolCall("Bash", {"command": "echo sub >> b.txt && printf n > sub-new.txt"})])
        if answered:
            return Reply([Text("parent done")])
        return Reply([ToolCall("Agent", task)])

    model = ScriptedModel([route] * 4)
    session = await Session.start(world.deps(model))
    assert ended(await collect(session, "delegate")).stop.kind == "end_turn"
    assert (world.project / "sub-new.txt").exists()
    assert session.transcript is not None
    prompt, sub = timeline(read_jsonl(session.transcript).records)
    assert (prompt.kind, sub.kind) == ("prompt", "subagent")
    assert {c.path for c in sub.changes} == {"b.txt", "sub-new.txt"}
    assert all(c.agent for c in sub.changes)  # Made by the subagent, on record as such.
    await session.rewind(prompt.n, "code")
    assert tree_digest(world.project) == before


async def test_a_file_the_user_changed_after_the_agent_is_a_conflict_kept_unless_chosen(world: World) -> None:
    make_project(world.project, git=True)
    session = await Session.start(world.deps(ScriptedModel(agent_turn(world.project))))
    await collect(session, "change things")
    (world.project / "b.txt").write_text("the user's own work\n")
    plan = (await session.rewind(None, "code", dry_run=True)).plan
    assert [s.path for s in plan.conflicts] == ["b.txt"]
    assert "changed after the agent" in plan.conflicts[0].why
    outcome = await session.rewind(None, "code")
    assert [s.path for s in outcome.kept] == ["b.txt"]
    assert (world.project / "b.txt").read_text() == "the user's own work\n"
    assert (world.project / "a.txt").read_text() == "alpha\nbeta\n"  # The rest is rewound.
    # Chosen: the conflict is put back too (the undo checkpoint keeps the user's text).
    outcome = await session.rewind(1, "code", overwrite=frozenset({"b.txt"}))
    assert (world.project / "b.txt").read_text() == "x marks the spot\n"
    with pytest.raises(RewindError, match="not conflicts"):
        await session.rewind(1, "code", overwrite=frozenset({"a.txt"}))


async def test_the_conversation_rewinds_and_a_rewind_can_be_undone(world: World) -> None:
    make_project(world.project, git=True)
    first = [Reply([Text("hello there")])]
    model = ScriptedModel([*first, *agent_turn(world.project), Reply([Text("after the rewind")])])
    session = await Session.start(world.deps(model))
    await collect(session, "say hello")
    history_then = list(session.state.history)
    before = tree_digest(world.project)
    await collect(session, "change things")
    changed = tree_digest(world.project)

    outcome = await session.rewind(2, "both")
    assert outcome.checkpoint.prompt == "change things"
    assert session.state.history == history_then
    assert tree_digest(world.project) == before
    await collect(session, "go on")
    seen = [b.text for m in model.requests[-1].messages for b in m.content if isinstance(b, TextBlock)]
    assert "change things" not in seen and seen[:2] == ["say hello", "hello there"]

    # A resumed session continues from the rewound conversation.
    session.close()
    resumed = await Session.resume(world.deps(ScriptedModel([])), session.id)
    assert [m.role for m in resumed.state.history] == ["user", "assistant", "user", "assistant"]

    # Undo: rewinding to the checkpoint the rewind took brings the agent's files and the
    # conversation back (the turn after the rewind goes, as any turn after a checkpoint).
    assert outcome.undo is not None
    await resumed.rewind(outcome.undo, "both")
    assert tree_digest(world.project) == changed
    said = [b.text for m in resumed.state.history for b in m.content if isinstance(b, TextBlock)]
    assert "change things" in said and "go on" not in said


async def test_a_subagents_checkpoint_is_code_only(world: World) -> None:
    make_project(world.project, git=False)
    task = {"description": "Look", "prompt": "look around", "subagent_type": "explore"}
    model = ScriptedModel(
        [Reply([ToolCall("Agent", task)]), Reply([Text("sub done")]), Reply([Text("parent done")])]
    )
    session = await Session.start(world.deps(model))
    await collect(session, "delegate")
    with pytest.raises(RewindError, match="only the code"):
        await session.rewind(2, "conversation")
    assert (await session.rewind(2, "code")).plan.steps == ()
    with pytest.raises(RewindError, match="no checkpoint 99"):
        await session.rewind(99, "code")


async def test_files_over_the_cap_are_listed_as_not_restorable(world: World) -> None:
    make_project(world.project, git=False)
    (world.project / "big.dat").write_bytes(b"B" * 5000)
    turn = [
        Reply([ToolCall("Bash", {"command": "printf small > big.dat && printf x >> a.txt"})]),
        Reply([Text("done")]),
    ]
    session = await Session.start(world.deps(ScriptedModel(turn)))
    assert session.state.checkpoints is not None
    session.state.checkpoints.limits = CheckpointLimits(max_file_bytes=1000)
    await collect(session, "shrink it")
    assert session.transcript is not None
    (checkpoint,) = timeline(read_jsonl(session.transcript).records)
    big = next(c for c in checkpoint.changes if c.path == "big.dat")
    assert big.before == NOT_KEPT
    outcome = await session.rewind(None, "code")
    assert [s.path for s in outcome.plan.not_restorable] == ["big.dat"]
    assert (world.project / "a.txt").read_text() == "alpha\nbeta\n"
    assert (world.project / "big.dat").read_bytes() == b"small"


async def test_the_rewind_command_lists_and_rewinds_from_the_prompt_box(world: World) -> None:
    make_project(world.project, git=True)
    before = tree_digest(world.project)
    session = await Session.start(world.deps(ScriptedModel(agent_turn(world.project))))
    await collect(session, "change things")

    async def command(text: str) -> CommandOutput:
        outputs = [e async for e in (await session.submit(text)).events() if isinstance(e, CommandOutput)]
        assert len(outputs) == 1, outputs
        return outputs[0]

    listed = await command("/rewind")
    assert "1. prompt: change things (9 file(s) changed after it)" in listed.text
    assert listed.data["checkpoints"][0]["n"] == 1
    bad = await command("/rewind one")
    assert bad.level == "error" and bad.text.startswith("usage: /rewind")
    missing = await command("/rewind 9")
    assert missing.level == "error" and "no checkpoint 9" in missing.text
    done = await command("/rewind 1")
    assert done.level == "info" and done.text.startswith("rewound to checkpoint 1: 9 file(s) restored")
    assert tree_digest(world.project) == before
    assert done.data["undo"] == 2 and done.data["conversation"] is False

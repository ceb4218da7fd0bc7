"""A symlink swapped in between the permission check and the read or write (issue 10, item 1).

`Edit(<ws>/**)` allows editing files of the workspace. Another process keeps replacing
`race_x.txt` by a symlink to a file outside (with the same bytes, so the content check cannot
tell them apart) and back, while the agent reads and edits it hundreds of times. Whatever each
call ends in, the file outside is never written, and what the model is shown never comes from it.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import pytest

from agentls.core.config import AgentConfig
from agentls.core.events import ToolCallFinished
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.core.session import Session, SessionDeps
from agentls.policy.decision import CallFacts, Deny
from agentls.policy.loader import ReloadingEngine, SettingsSources
from agentls.workspace.disk import DiskWorkspace
from agentls.workspace.port import EditFile, Replacement, StaleFileError, WriteFile
from agentls.workspace.text import content_version
from tests.core.fakes import ScriptedApprover, collect

SAME = b"shared text\n"
ROUNDS = int(os.environ.get("AGENTLS_RACE_ROUNDS", "300"))


class Swapper:
    """Flips `path` between a regular file and a link to `outside`, as fast as it can."""

    def __init__(self, path: Path, outside: Path) -> None:
        self._path, self._outside = path, outside
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.swaps = 0

    def _run(self) -> None:
        tmp_link = self._path.with_name(".swap-link")
        tmp_file = self._path.with_name(".swap-file")
        pause = random.Random(10)
        while not self._stop.is_set():
            for make in (self._make_link, self._make_file):
                try:
                    make(tmp_link, tmp_file)
                except OSError:
                    continue
                self.swaps += 1
                # Uneven pauses: some calls run between two swaps, others straddle one.
                time.sleep(pause.choice((0.0, 0.0, 0.0005, 0.002)))

    def _make_link(self, tmp_link: Path, _tmp_file: Path) -> None:
        tmp_link.unlink(missing_ok=True)
        tmp_link.symlink_to(self._outside)
        os.replace(tmp_link, self._path)

    def _make_file(self, _tmp_link: Path, tmp_file: Path) -> None:
        tmp_file.write_bytes(self._path.read_bytes() if not self._path.is_symlink() else SAME)
        os.replace(tmp_file, self._path)

    def __enter__(self) -> Swapper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path, Path]:
    project = tmp_path / "ws"
    project.mkdir()
    outside = tmp_path / "outside" / "secret.txt"
    outside.parent.mkdir()
    outside.write_bytes(SAME)
    home = tmp_path / "home"
    home.mkdir()
    return project, outside, home


async def test_swaps_during_hundreds_of_reads_and_edits_never_reach_outside(
    world: tuple[Path, Path, Path],
) -> None:
    project, outside, home = world
    target = project / "race_x.txt"
    target.write_bytes(SAME)
    settings = {"permissions": {"allow": [f"Edit(/{project}/**)"]}}  # `//abs`: an absolute path
    calls: list[Reply] = []
    for i in range(ROUNDS):
        calls.append(Reply([ToolCall("Read", {"file_path": str(target)})]))
        write = {"file_path": str(target), "content": f"shared text\nround {i}\n"}
        calls.append(Reply([ToolCall("Write", write)]))
    calls.append(Reply([Text("done")]))
    deps = SessionDeps(
        config=AgentConfig(
            model="m", permission_mode="dontAsk", retry_base_delay_s=0.0, max_turns=len(calls) + 5
        ),
        model=ScriptedModel(calls),
        workspace=DiskWorkspace(project),
        approver=ScriptedApprover([]),
        settings=SettingsSources(
            project=project, home=home, config=home / "config", managed=(), cli=settings
        ),
    )
    session = await Session.start(deps)
    with Swapper(target, outside) as swapper:
        events = await collect(session, "race")
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert len(finished) == 2 * ROUNDS
    assert swapper.swaps > ROUNDS // 2  # The race really ran during the calls.
    assert outside.read_bytes() == SAME, "a write went through the swapped-in symlink"
    written = [e for e in finished if e.name == "Write" and not e.is_error]
    assert written, "no write got through at all: the test would prove nothing"


def _flip_to_link(path: Path, outside: Path) -> None:
    path.unlink()
    path.symlink_to(outside)


async def test_a_link_swapped_in_after_the_check_is_refused(world: tuple[Path, Path, Path]) -> None:
    project, outside, _home = world
    path = project / "race_x.txt"
    path.write_bytes(SAME)
    checked = Path(os.path.realpath(path))
    _flip_to_link(path, outside)
    ws = DiskWorkspace(project)
    v = content_version(SAME)
    for change in (
        EditFile(path, v, (Replacement(0, 6, "CHANGED"),), checked_target=checked),
        WriteFile(path, "CHANGED", v, checked_target=checked),
    ):
        with pytest.raises(StaleFileError, match=r"not to .* as when permission was checked"):
            await ws.apply([change])
    with pytest.raises(StaleFileError, match="permission was checked"):
        await ws.read(path, checked_target=checked)
    assert outside.read_bytes() == SAME


async def test_a_link_swapped_in_between_validation_and_write_is_replaced_not_followed(
    world: tuple[Path, Path, Path],
) -> None:
    project, outside, _home = world
    path = project / "race_x.txt"
    path.write_bytes(SAME)
    ws = DiskWorkspace(project)
    plan = ws._plan(WriteFile(path, "CHANGED", content_version(SAME), checked_target=path))
    try:
        _flip_to_link(path, outside)
        with pytest.raises(StaleFileError, match="replaced, moved or turned into a symlink"):
            ws._write_all([plan])
    finally:
        os.close(plan.dir_fd)
    assert outside.read_bytes() == SAME
    assert path.is_symlink()  # Left as the other process made it; nothing written anywhere.


async def test_a_directory_swapped_for_a_link_is_not_followed(world: tuple[Path, Path, Path]) -> None:
    project, outside, _home = world
    sub = project / "sub"
    sub.mkdir()
    (sub / "secret.txt").write_bytes(SAME)
    ws = DiskWorkspace(project)
    plan = ws._plan(WriteFile(sub / "secret.txt", "CHANGED", content_version(SAME)))
    try:
        # The directory the plan holds open is moved away and a link to the outside put in its
        # place: the write lands in the directory that was checked (now `moved`), never outside.
        sub.rename(project / "moved")
        sub.symlink_to(outside.parent)
        ws._write_all([plan])
    finally:
        os.close(plan.dir_fd)
    assert outside.read_bytes() == SAME
    assert (project / "moved" / "secret.txt").read_bytes() == b"CHANGED"


async def test_a_new_file_whose_parent_turns_into_a_link_is_refused(world: tuple[Path, Path, Path]) -> None:
    project, outside, _home = world
    ws = DiskWorkspace(project)
    (project / "a").mkdir()
    plan = ws._plan(WriteFile(project / "a" / "b" / "new.txt", "x", None))
    try:
        (project / "a" / "b").symlink_to(outside.parent)
        with pytest.raises(StaleFileError):
            ws._write_all([plan])
    finally:
        os.close(plan.dir_fd)
    assert sorted(p.name for p in outside.parent.iterdir()) == ["secret.txt"]


def test_realpath_racing_a_swap_does_not_crash_the_policy(
    world: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`os.path.realpath` raised EINVAL when a link became a file mid-call; now a clear refusal."""
    project, _outside, home = world
    path = project / "x.txt"
    path.write_bytes(SAME)
    engine = ReloadingEngine(SettingsSources(project=project, home=home, config=home / "config", managed=()))

    def flaky_realpath(_path: object, *_a: object, **_k: object) -> str:
        raise OSError(22, "Invalid argument")

    facts = CallFacts(
        tool="Edit", input={}, read_only=False, edits_files=True, paths=(path,), summary="Edit x.txt"
    )
    monkeypatch.setattr(os.path, "realpath", flaky_realpath)
    decision = engine.decide(facts)
    assert isinstance(decision, Deny)
    assert "kept changing" in decision.reason

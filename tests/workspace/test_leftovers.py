"""Nothing agentls creates in a project for a moment outlives a process killed meanwhile (issue 10,
items 10 and 11): sandbox placeholders and atomic-write temp files are journalled before they are
created and removed at the next start; inside the sandbox, `git status` does not show them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agentls.workspace import leftovers
from agentls.workspace.port import ProcessSpec
from agentls.workspace.sandbox import SandboxPolicy, check_sandbox, run_sandboxed, sweep_leftovers
from tests.workspace.test_sandbox import BASE_ENV, needs_bwrap

PY = sys.executable


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "state"
    monkeypatch.setenv("AGENTLS_HOME", str(home))
    return home


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "app.py").write_text("print('hi')\n")
    subprocess.run(["git", "-C", str(root), "add", "app.py"], check=True)
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"],
        check=True,
    )
    return root


def git_status(root: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def spawn(code: str, state: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AGENTLS_HOME": str(state)}
    return subprocess.Popen([PY, "-c", textwrap.dedent(code)], env=env)


def wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_a_dead_process_journal_is_swept_and_the_users_files_are_kept(state: Path, project: Path) -> None:
    proc = spawn(
        f"""
        import os, signal
        from pathlib import Path
        from agentls.workspace.leftovers import journal
        root = Path({str(project)!r})
        made = [root / ".envrc", root / ".vscode", root / ".app.py.1234abcd.agentls-tmp", root / ".mcp.json"]
        journal().add("placeholder", made[:2])
        journal().add("temp", made[2:3])
        journal().add("placeholder", made[3:])
        (root / ".envrc").touch()
        (root / ".vscode").mkdir()
        (root / ".app.py.1234abcd.agentls-tmp").write_text("half")
        (root / ".mcp.json").write_text('{{"mcpServers": {{}}}}')  # the user's by now: it has content
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        state,
    )
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert len(list((state / "leftovers").glob("*.jsonl"))) == 1
    removed = leftovers.sweep()
    assert sorted(p.name for p in removed) == [".app.py.1234abcd.agentls-tmp", ".envrc", ".vscode"]
    assert sorted(p.name for p in project.iterdir()) == [".git", ".mcp.json", "app.py"]
    assert not list((state / "leftovers").glob("*.jsonl")), "a fully swept journal is deleted"


def test_a_live_process_journal_is_left_alone(state: Path, project: Path) -> None:
    proc = spawn(
        f"""
        import time
        from pathlib import Path
        from agentls.workspace.leftovers import journal
        p = Path({str(project)!r}) / ".envrc"
        journal().add("placeholder", [p])
        p.touch()
        time.sleep(60)
        """,
        state,
    )
    try:
        wait_for(lambda: (project / ".envrc").exists())
        assert leftovers.sweep() == []
        assert (project / ".envrc").exists()
    finally:
        kill(proc)
    assert [p.name for p in leftovers.sweep()] == [".envrc"]


def test_a_normal_exit_removes_its_own_journal(state: Path, project: Path) -> None:
    proc = spawn(
        f"""
        from pathlib import Path
        from agentls.workspace.leftovers import journal
        p = Path({str(project)!r}) / ".envrc"
        journal().add("placeholder", [p])
        journal().discard([p])
        """,
        state,
    )
    assert proc.wait(timeout=30) == 0
    assert not list((state / "leftovers").glob("*.jsonl"))


def test_a_kill_during_an_atomic_write_leaves_nothing_after_the_next_start(
    state: Path, project: Path
) -> None:
    proc = spawn(
        f"""
        import asyncio, os, time
        from pathlib import Path
        from agentls.workspace import pinned
        from agentls.workspace.disk import DiskWorkspace
        from agentls.workspace.port import WriteFile
        from agentls.workspace.text import content_version
        pinned.os.fsync = lambda fd: time.sleep(60)  # hold the write with its temp file on disk
        root = Path({str(project)!r})
        v = content_version((root / "app.py").read_bytes())
        asyncio.run(DiskWorkspace(root).apply([WriteFile(root / "app.py", "changed\\n", v)]))
        """,
        state,
    )
    try:
        wait_for(lambda: any(p.name.endswith(".agentls-tmp") for p in project.iterdir()))
    finally:
        kill(proc)
    assert git_status(project) != ""
    removed = sweep_leftovers()
    assert [p.name.endswith(".agentls-tmp") for p in removed] == [True]
    assert git_status(project) == ""
    assert (project / "app.py").read_text() == "print('hi')\n"


@needs_bwrap
def test_a_kill_during_a_sandboxed_command_leaves_nothing_after_the_next_start(
    state: Path, project: Path
) -> None:
    proc = spawn(
        f"""
        import asyncio
        from pathlib import Path
        from agentls.workspace.port import ProcessSpec
        from agentls.workspace.sandbox import SandboxPolicy, run_sandboxed
        root = Path({str(project)!r})
        spec = ProcessSpec(["sleep", "60"], root, {BASE_ENV!r}, 120)
        asyncio.run(run_sandboxed(spec, SandboxPolicy(root, home=root.parent / "home")))
        """,
        state,
    )
    try:
        wait_for(lambda: (project / ".envrc").exists() and (project / ".vscode").exists())
    finally:
        kill(proc)
    assert ".envrc" in git_status(project)  # What the kill left behind until the next start.
    # bwrap dies with its parent; its mount namespace may take a moment to go away.
    deadline = time.monotonic() + 30
    while git_status(project) or len(list(project.iterdir())) != 2:
        sweep_leftovers()
        assert time.monotonic() < deadline, sorted(p.name for p in project.iterdir())
        time.sleep(0.1)
    assert sorted(p.name for p in project.iterdir()) == [".git", "app.py"]


@needs_bwrap
async def test_git_status_inside_the_sandbox_does_not_show_placeholders(state: Path, project: Path) -> None:
    assert check_sandbox().available
    spec = ProcessSpec(
        ["git", "status", "--porcelain", "--untracked-files=all"], project, {**BASE_ENV, "HOME": "/tmp"}, 60
    )
    result = await run_sandboxed(spec, SandboxPolicy(project, home=project.parent / "home"))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == ""
    assert (project / ".git" / "info" / "exclude").read_text().count("agentls") == 0  # host file untouched
    assert git_status(project) == ""
    assert not list((state / "leftovers").glob("*.jsonl")) or not leftovers._live_entries(
        leftovers.journal().path
    ), "the scratch exclude file was removed and noted as such"

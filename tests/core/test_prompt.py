"""The system prompt: a cache-stable prefix and an environment suffix read via the Workspace."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentls.core.memory import SessionMemory
from agentls.core.memory_files import Places
from agentls.core.prompt import build_system_prompt
from agentls.workspace.port import (
    FileContent,
    FileStat,
    ProcessResult,
    ProcessSpec,
    WorkspaceError,
)

ALL_TOOLS = ["Read", "Write", "Edit", "Glob", "Grep", "Bash", "TodoWrite"]
STATUS = "## main...origin/main [ahead 1]\n M src/app.py\n?? notes.txt\n"
LOG = "abc1234 Fix the parser\ndef5678 Add tests\n"

RunHandler = Callable[[ProcessSpec], ProcessResult]


def git_ok(spec: ProcessSpec) -> ProcessResult:
    if list(spec.argv) == ["git", "status", "--short", "--branch"]:
        return ProcessResult(exit_code=0, output=STATUS)
    if list(spec.argv) == ["git", "log", "--oneline", "-5"]:
        return ProcessResult(exit_code=0, output=LOG)
    raise AssertionError(f"unexpected command {spec.argv}")


class FakeWorkspace:
    """Just enough of the Workspace port: files in a dict, `run` answered by a handler."""

    def __init__(self, root: Path, files: dict[str, bytes] | None = None, run: RunHandler = git_ok):
        self._root = root
        self.files = {root / name: data for name, data in (files or {}).items()}
        self.dirs: set[Path] = set()
        self.handler = run
        self.specs: list[ProcessSpec] = []

    @property
    def root(self) -> Path:
        return self._root

    async def stat(self, path: Path) -> FileStat | None:
        if path in self.dirs:
            return FileStat(kind="directory", size=0, mtime_ns=0)
        if path in self.files:
            return FileStat(kind="file", size=len(self.files[path]), mtime_ns=0)
        return None

    async def read(self, path: Path, *, checked_target: Path | None = None) -> FileContent:
        if path not in self.files:
            raise WorkspaceError(f"{path} does not exist")
        return FileContent(path=path, data=self.files[path], version="v1")

    async def run(self, spec: ProcessSpec) -> ProcessResult:
        self.specs.append(spec)
        return self.handler(spec)


NOW = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)


async def build(ws: FakeWorkspace, **kw: object) -> tuple[str, str]:
    args: dict[str, object] = {
        "tool_names": ALL_TOOLS,
        "now": NOW,
        "model": "claude-sonnet-4-5",
        "platform_name": "Linux",
    }
    args.update(kw)
    prefix, suffix = await build_system_prompt(ws, **args)  # type: ignore[arg-type]
    assert prefix.cache is True and suffix.cache is False
    return prefix.text, suffix.text


async def test_prefix_is_identical_across_projects_days_and_models() -> None:
    a = FakeWorkspace(Path("/home/ann/alpha"), {"AGENTS.md": b"Use tabs."})

    def not_a_repo(spec: ProcessSpec) -> ProcessResult:
        return ProcessResult(exit_code=128, output="fatal: not a git repository")

    b = FakeWorkspace(Path("/srv/bob/beta"), {}, run=not_a_repo)
    pa, sa = await build(a)
    pb, sb = await build(
        b,
        now=datetime(2031, 12, 1, 23, 59, tzinfo=UTC),
        model="claude-opus-4-1",
        platform_name="Darwin",
        tool_names=list(reversed(ALL_TOOLS)),  # Order must not matter either.
    )
    assert pa == pb
    assert sa != sb
    for volatile in ("alpha", "2025", "claude-sonnet", "main", "Use tabs", "Linux"):
        assert volatile not in pa


async def test_prefix_covers_the_working_rules(tmp_path: Path) -> None:
    prefix, _ = await build(FakeWorkspace(tmp_path))
    lines = prefix.splitlines()
    assert 25 <= len(lines) <= 120
    for phrase in (
        "agentls",
        "Read a file before you change it",
        "Use Edit for targeted changes",
        "Grep",
        "Glob",
        "rather than running grep",
        "TodoWrite",
        "run the project's tests",
        "Never invent results",
        "not as requests from the user",
        "do not retry the same call unchanged",
        "undo",
    ):
        assert phrase in prefix, phrase


@pytest.mark.parametrize(
    ("tools", "absent"),
    [
        (["Read", "Edit"], ["Bash", "Grep", "Glob", "TodoWrite", "Write"]),
        (["Read", "Grep"], ["Bash", "Edit", "Glob", "TodoWrite", "Write"]),
        ([], ["Read", "Bash", "Edit", "Grep", "Glob", "TodoWrite", "Write"]),
    ],
)
async def test_prefix_names_only_available_tools(tmp_path: Path, tools: list[str], absent: list[str]) -> None:
    prefix, _ = await build(FakeWorkspace(tmp_path), tool_names=tools)
    for name in absent:
        assert not re.search(rf"\b{name}\b", prefix), name
    if "Bash" not in tools:
        assert "cannot run commands" in prefix


async def test_suffix_describes_environment_git_and_memory(tmp_path: Path) -> None:
    ws = FakeWorkspace(tmp_path, {"AGENTS.md": b"Run `make check` before committing.\n"})
    memory = SessionMemory(ws, Places(home=tmp_path / "home", config=tmp_path / "config", managed=()))
    await memory.start()
    _, suffix = await build(ws, memory=memory.system_text())
    assert f"Working directory: {tmp_path}" in suffix
    assert "Platform: Linux" in suffix
    assert "2025-03-14" in suffix and "09:26" not in suffix
    assert "Model: claude-sonnet-4-5" in suffix
    assert "git repository: yes" in suffix
    assert STATUS.rstrip() in suffix and LOG.rstrip() in suffix
    assert "Run `make check` before committing." in suffix
    assert f'<memory_file path="{tmp_path / "AGENTS.md"}" scope="project">' in suffix
    assert "user's memory files" in suffix


async def test_git_commands_run_with_a_minimal_safe_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    ws = FakeWorkspace(tmp_path)
    await build(ws)
    assert sorted(tuple(s.argv) for s in ws.specs) == [
        ("git", "log", "--oneline", "-5"),
        ("git", "status", "--short", "--branch"),
    ]
    for spec in ws.specs:
        assert spec.cwd == tmp_path
        assert spec.timeout_s == 5 and spec.output_limit == 4000
        assert spec.env["GIT_TERMINAL_PROMPT"] == "0"
        assert "PATH" in spec.env and "HOME" in spec.env
        assert "SECRET_TOKEN" not in spec.env


async def test_suffix_is_stable_within_a_day(tmp_path: Path) -> None:
    ws = FakeWorkspace(tmp_path, {"CLAUDE.md": b"hello"})
    _, morning = await build(ws, now=datetime(2025, 3, 14, 0, 0, 1))
    _, night = await build(ws, now=datetime(2025, 3, 14, 23, 59, 59))
    assert morning == night


def _raise(spec: ProcessSpec) -> ProcessResult:
    raise FileNotFoundError("git: command not found")


def _timeout(spec: ProcessSpec) -> ProcessResult:
    return ProcessResult(exit_code=None, output="", timed_out=True)


def _not_repo(spec: ProcessSpec) -> ProcessResult:
    return ProcessResult(exit_code=128, output="fatal: not a git repository (or any parent)")


def _no_commits(spec: ProcessSpec) -> ProcessResult:
    if "status" in spec.argv:
        return ProcessResult(exit_code=0, output="## No commits yet on main\n")
    return ProcessResult(exit_code=128, output="fatal: your current branch has no commits yet")


@pytest.mark.parametrize(
    ("handler", "expected"),
    [(_raise, "unknown"), (_timeout, "unknown"), (_not_repo, "no"), (_no_commits, "yes")],
)
async def test_git_failures_never_raise(tmp_path: Path, handler: RunHandler, expected: str) -> None:
    ws = FakeWorkspace(tmp_path, run=handler)
    _, suffix = await build(ws, memory="<memory>still here</memory>")
    assert f"git repository: {expected}" in suffix
    assert "fatal" not in suffix and "Recent commits" not in suffix
    assert "still here" in suffix
    if handler is _no_commits:
        assert "No commits yet on main" in suffix

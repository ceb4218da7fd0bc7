"""Soak: `kill -9` at a random moment while the agent writes files and runs commands, then resume.

Each round starts `agentls run` on a git project with a model that Writes a file and runs a Bash
command that creates another (inside the sandbox), kills the CLI at a seeded random moment, and
resumes the session. After every round `git status` of the project shows only what the agent meant
to change (its files), never a sandbox placeholder or a temp file, and the resumed run ends
normally. The default is a bounded run for CI; the issue's 200 rounds:

    AGENTLS_SOAK_ROUNDS=200 .venv/bin/pytest tests/e2e/test_soak_kill.py
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import cli_argv, cli_env, run_cli
from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall

pytestmark = pytest.mark.slow

ROUNDS = int(os.environ.get("AGENTLS_SOAK_ROUNDS", "12"))
SEED = int(os.environ.get("AGENTLS_SOAK_SEED", "20261204"))
RESUME_PROMPT = "carry on"


def respond(body: dict[str, Any]) -> Reply:
    """The model: Write and Bash in parallel, then a Bash that takes a second, then done.
    A resumed session just says it is done."""
    messages = body["messages"]
    first = messages[0]["content"]
    first_text = first if isinstance(first, str) else "".join(b.get("text", "") for b in first)
    last = messages[-1]["content"]
    last_text = (
        last if isinstance(last, str) else "".join(b.get("text", "") for b in last if b.get("type") == "text")
    )
    n = first_text.rsplit(" ", 1)[-1]
    if RESUME_PROMPT in last_text:
        return Reply([Text("Resumed; nothing left to do.")])
    assistant_turns = sum(1 for m in messages if m["role"] == "assistant")
    if assistant_turns == 0:
        return Reply(
            [
                ToolCall("Write", {"file_path": f"out_{n}.txt", "content": f"round {n}\n" * 200}),
                ToolCall("Bash", {"command": f"echo {n} > made_{n}.txt && sleep 0.2"}),
            ]
        )
    if assistant_turns == 1:
        return Reply([ToolCall("Bash", {"command": f"sleep 1 && echo again >> made_{n}.txt"})])
    return Reply([Text(f"Round {n} done.")])


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(project), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README.md").write_text("soak\n")
    git(root, "add", "README.md")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return root


def allowed(name: str) -> bool:
    """What the agent may leave: its own files (written whole or not at all, made by Bash)."""
    return name.startswith(("out_", "made_")) and name.endswith(".txt")


@pytest.mark.timeout(120 + ROUNDS * 15)
def test_random_kills_during_bash_and_write_leave_only_intended_changes(
    project: Path, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    home = tmp_path / "home"
    # Edit too: a Bash rule does not approve the files its redirections write.
    settings = json.dumps({"permissions": {"allow": ["Bash", "Write", "Edit"]}})
    killed = resumed = 0
    with FakeMessagesAPI([respond] * (ROUNDS * 6)) as fake:
        for n in range(ROUNDS):
            proc = subprocess.Popen(
                cli_argv(
                    ["run", f"soak round {n}", "--output-format", "stream-json", "--settings", settings]
                ),
                env=cli_env(home, fake.base_url),
                cwd=project,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            assert proc.stdout is not None
            session = json.loads(proc.stdout.readline())["session_id"]
            # The first line comes once the session is ready (the SDK already loaded); the turn's
            # work takes well over a second after it (two commands, one sleeping 1 s), so a kill
            # within 1.2 s lands while it works however fast the machine is.
            time.sleep(rng.uniform(0.0, 1.2))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.communicate(timeout=60)
            done = run_cli(
                ["run", RESUME_PROMPT, "--resume", session, "--settings", settings],
                home=home,
                base_url=fake.base_url,
                cwd=project,
            )
            assert done.returncode == 0, (n, done.stdout, done.stderr)
            resumed += 1
            status = git(project, "status", "--porcelain", "--untracked-files=all", "--ignored")
            stray = [line for line in status.splitlines() if not allowed(line[3:])]
            assert not stray, f"round {n}: {stray}"
            for written in project.glob("out_*.txt"):
                text = written.read_text()
                assert text == f"round {written.stem[4:]}\n" * 200, f"round {n}: {written} is torn"
    assert resumed == ROUNDS
    assert killed >= ROUNDS // 3, "the kills must land while the agent works, or the soak tests nothing"

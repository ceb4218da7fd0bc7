"""`agentls checkpoints` and `agentls rewind` on real runs of `agentls run`: the listing, a dry
run, a code rewind that leaves the project byte for byte as before the prompt (a git repository
with ignored build output), a conflict kept then overwritten, the conversation rewound for the
next `--resume`, bad input; and a session killed with SIGKILL in the middle of a command that had
already changed files: resumed, it can still rewind them (they are found at resume)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import file_lines, kill_group, live_cli, parse_events, run_cli, wait_until
from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall

pytestmark = pytest.mark.slow

GIT = ["git", "-c", "user.email=t@example.com", "-c", "user.name=T", "-c", "commit.gpgsign=false"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "agentls-home"


@pytest.fixture
def repo(project: Path) -> Path:
    (project / "src").mkdir()
    (project / "src" / "app.py").write_text("print('hello')\n")
    (project / "notes.md").write_text("# notes\n")
    (project / ".gitignore").write_text("build/\n")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=project, check=True)
    subprocess.run([*GIT, "commit", "-qm", "start"], cwd=project, check=True)
    return project


def digest(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".git", "build")]
        for name in files:
            path = Path(folder) / name
            out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run_turn(repo: Path, home: Path, script: list[Reply], prompt: str, *extra: str) -> str:
    with FakeMessagesAPI(script) as fake:
        done = run_cli(
            [
                "run",
                "--permission-mode",
                "bypassPermissions",
                "--output-format",
                "stream-json",
                *extra,
                prompt,
            ],
            home=home,
            base_url=fake.base_url,
            cwd=repo,
        )
    assert done.returncode == 0, done.stderr
    return str(parse_events(done.stdout)[0]["session_id"])


SHELL = "mkdir -p build && echo out > build/x && echo new > extra.txt && rm notes.md"


def changes(repo: Path) -> list[Reply]:
    app = str(repo / "src" / "app.py")
    return [
        Reply([ToolCall("Read", {"file_path": app})]),
        Reply([ToolCall("Edit", {"file_path": app, "old_string": "hello", "new_string": "HELLO"})]),
        Reply([ToolCall("Bash", {"command": SHELL})]),
        Reply([Text("Changed.")]),
    ]


def test_list_dry_run_rewind_conflicts_and_the_conversation(repo: Path, home: Path) -> None:
    before = digest(repo)
    session = run_turn(repo, home, changes(repo), "Change things")
    after = digest(repo)
    assert after != before

    listed = run_cli(["checkpoints", session], home=home, base_url=None, cwd=repo, api_key=None)
    assert listed.returncode == 0, listed.stderr
    assert "1  " in listed.stdout and "prompt: Change things" in listed.stdout
    assert "3 file(s) changed after it: src/app.py" in listed.stdout
    assert "files git ignores" in listed.stdout
    as_json = json.loads(
        run_cli(["checkpoints", session, "--json"], home=home, base_url=None, cwd=repo).stdout
    )
    assert {f["path"] for f in as_json["checkpoints"][0]["files"]} == {"src/app.py", "extra.txt", "notes.md"}

    dry = run_cli(["rewind", session, "--dry-run"], home=home, base_url=None, cwd=repo, api_key=None)
    assert dry.returncode == 0, dry.stderr
    assert "restore src/app.py" in dry.stdout and "remove extra.txt" in dry.stdout
    assert "bring back notes.md" in dry.stdout
    assert digest(repo) == after  # A dry run changes nothing.

    (repo / "extra.txt").write_text("the user's edit\n")  # Someone changed it after the agent.
    kept = run_cli(["rewind", session, "--json"], home=home, base_url=None, cwd=repo, api_key=None)
    assert kept.returncode == 1, kept.stderr
    outcome = json.loads(kept.stdout)
    assert outcome["kept"] == ["extra.txt"] and outcome["undo"] == 2
    assert (repo / "extra.txt").read_text() == "the user's edit\n"
    assert (repo / "src" / "app.py").read_text() == "print('hello')\n"
    assert (repo / "build" / "x").read_text() == "out\n"  # Ignored: left alone.

    forced = run_cli(
        ["rewind", session, "--to", "1", "--both", "--overwrite", "extra.txt"],
        home=home,
        base_url=None,
        cwd=repo,
    )
    assert forced.returncode == 0, forced.stderr
    assert "rewound to checkpoint 1" in forced.stdout
    assert digest(repo) == before

    # The conversation was rewound too: the next --resume does not carry the prompt.
    bodies: list[dict[str, object]] = []

    def capture(body: dict[str, object]) -> Reply:
        bodies.append(body)
        return Reply([Text("fresh start")])

    run_turn(repo, home, [capture], "Something else", "--resume", session)
    assert "Change things" not in json.dumps(bodies[0]["messages"])

    for bad, message in (
        (["rewind", session, "--to", "42"], "no checkpoint 42"),
        (["rewind", "no-such-session"], "No session matching"),
        (["rewind", session, "--to", "1", "--overwrite", "src/app.py"], "not conflicts"),
    ):
        failed = run_cli(bad, home=home, base_url=None, cwd=repo, api_key=None)
        assert failed.returncode == 2 and message in failed.stderr, (bad, failed.stderr)


@pytest.fixture
def leftover_groups() -> Iterator[list[int]]:
    groups: list[int] = []
    yield groups
    for pgid in groups:
        kill_group(pgid)


def test_a_session_killed_mid_command_can_still_rewind_what_the_command_changed(
    repo: Path, home: Path, leftover_groups: list[int]
) -> None:
    before = digest(repo)
    command = "echo $$ > pid.txt; echo changed > src/app.py; rm notes.md; echo ran > marker.txt; sleep 60"
    script = [Reply([ToolCall("Bash", {"command": command, "description": "long"})])]
    with (
        FakeMessagesAPI(script) as fake,
        live_cli(
            ["run", "--permission-mode", "bypassPermissions", "--output-format", "stream-json", "Do it"],
            home=home,
            base_url=fake.base_url,
            cwd=repo,
            stderr_path=repo.parent / "crash-stderr.txt",
        ) as cli,
    ):
        try:
            started = cli.wait_event(lambda e: e.get("kind") == "session_started").event
            wait_until(lambda: len(file_lines(repo / "marker.txt")) == 1, what="the command's changes")
        finally:
            leftover_groups.extend(int(p) for p in file_lines(repo / "pid.txt"))
        os.kill(cli.proc.pid, signal.SIGKILL)
        assert cli.wait_exit() == -signal.SIGKILL
    session = started["session_id"]
    for pgid in leftover_groups:
        kill_group(pgid)
    done = run_cli(["rewind", session], home=home, base_url=None, cwd=repo, api_key=None)
    assert done.returncode == 0, done.stderr
    assert (repo / "src" / "app.py").read_text() == "print('hello')\n"
    assert (repo / "notes.md").read_text() == "# notes\n"
    assert digest(repo) == before  # What the command created (pid.txt, marker.txt) is gone too.


def test_no_checkpoints_keeps_none(repo: Path, home: Path) -> None:
    session = run_turn(repo, home, changes(repo), "Change things", "--no-checkpoints")
    listed = run_cli(["checkpoints", session], home=home, base_url=None, cwd=repo, api_key=None)
    assert listed.returncode == 0 and "has no checkpoints" in listed.stdout, listed
    failed = run_cli(["rewind", session], home=home, base_url=None, cwd=repo, api_key=None)
    assert failed.returncode == 2 and "cannot rewind: this session has no checkpoints" in failed.stderr, (
        failed.stderr
    )
    assert not list((home / "sessions").glob("*.checkpoints"))

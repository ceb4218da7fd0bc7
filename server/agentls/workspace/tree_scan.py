"""What files a workspace holds and how they stand, cheaply: what checkpoints compare to find the
files a shell command (or anything else outside the file tools) changed.

Two ways, chosen once per workspace:

- **git**, where the workspace is inside a repository: `git status` lists the files that differ
  from the index (modified, deleted, untracked and not ignored), and `git ls-files -s` names the
  content of every other tracked file by its blob id, whose bytes git already holds. Only the
  listed files are stat'ed and read. Ignored files (build outputs, dependencies) are not seen.
- **scan**, otherwise: every file under the root is stat'ed (version-control folders skipped), up
  to `max_files`; past that the scan stops and says so.

A file's `Stamp` (size, modification and change times, inode) says whether it may have changed
since it was last read; the caller decides what to read again. Symbolic links and special files
are not followed or read: they are listed in `TreeState.skipped`. Nothing here writes anything,
and git runs with `--no-optional-locks`, so a scan never takes the index lock a command the agent
runs at the same moment might need.
"""

from __future__ import annotations

import os
import stat as stat_mod
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ScanMode = Literal["git", "scan"]

VCS_FOLDERS = frozenset({".git", ".hg", ".svn", ".jj", ".bzr"})
MAX_FILES = 20_000
"""Files a scan looks at before it gives up (git: listed changed files; scan: all files)."""
_GIT_TIMEOUT_S = 30.0


class ScanError(Exception):
    """The workspace could not be scanned (git failed, the root vanished)."""


@dataclass(frozen=True)
class Stamp:
    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int


@dataclass(frozen=True)
class TreeState:
    """The workspace's files at one moment. Paths are relative to the root, with `/`."""

    mode: ScanMode
    files: dict[str, Stamp | None]
    """git: the files that differ from the index (None: a tracked file deleted); scan: every file."""
    index: dict[str, str] = field(default_factory=dict)
    """git: every tracked regular file under the root and its index blob id; scan: empty."""
    skipped: tuple[str, ...] = ()
    """Symbolic links, special files and submodules: not tracked."""
    truncated: bool = False
    """More than `max_files`: what is listed is incomplete and changes may be missed."""

    def differs(self, other: TreeState, path: str) -> bool:
        """Whether `path` may stand differently in `other` (a stamp or an index id changed)."""
        return self.files.get(path, _NONE) != other.files.get(path, _NONE) or self.index.get(
            path
        ) != other.index.get(path)

    def candidates(self, other: TreeState) -> set[str]:
        """Paths that may have changed between this state and `other`."""
        paths = set(self.files) | set(other.files)
        if self.index is not other.index:
            paths |= {
                p for p in self.index.keys() | other.index.keys() if self.index.get(p) != other.index.get(p)
            }
        return {p for p in paths if self.differs(other, p)}


_NONE = Stamp(-1, -1, -1, -1)
"""Stands for "not listed" in comparisons (a listed deleted file is None)."""


class TreeScanner:
    """Scans one root. `scan` and `read` block: call them from a worker thread."""

    def __init__(self, root: Path, *, max_files: int = MAX_FILES, git: str = "git") -> None:
        self.root = root
        self.max_files = max_files
        self._git = git
        self._mode: ScanMode | None = None
        self._prefix = ""
        """The root's path inside its repository (`sub/dir/`), as git prints paths from the top."""
        self._object_format: Literal["sha1", "sha256"] = "sha1"
        self._index_file: Path | None = None
        self._index: tuple[Stamp, dict[str, str], tuple[str, ...]] | None = None
        """The index as last listed, by the stamp of the index file: unchanged, it is not listed again."""

    @property
    def mode(self) -> ScanMode:
        if self._mode is None:
            self._mode = self._detect()
        return self._mode

    @property
    def object_format(self) -> Literal["sha1", "sha256"]:
        """How content ids are computed: as the repository's objects are (sha1 without git)."""
        _ = self.mode
        return self._object_format

    def _detect(self) -> ScanMode:
        try:
            out = self._run_git(["rev-parse", "--show-prefix", "--show-object-format", "--git-path", "index"])
        except ScanError:
            return "scan"
        lines = os.fsdecode(out).splitlines()
        if len(lines) < 3:
            return "scan"
        self._prefix = lines[0]
        self._object_format = "sha256" if lines[1].strip() == "sha256" else "sha1"
        self._index_file = self.root / lines[2]
        return "git"

    def scan(self) -> TreeState:
        if not self.root.is_dir():
            raise ScanError(f"{self.root} is not a directory")
        return self._scan_git() if self.mode == "git" else self._scan_walk()

    # ------------------------------------------------------------------ git

    def _scan_git(self) -> TreeState:
        # Both at once: `git status` is most of a scan's time, and runs in its own process.
        status = self._start_git(
            [
                "status",
                "--porcelain=v2",
                "-z",
                "--untracked-files=all",
                "--no-renames",
                "--ignore-submodules=all",
                "--",
                ".",
            ]
        )
        try:
            index, skipped_tracked = self._index_entries()
        finally:
            out = self._finish_git(status, "status")
        skipped = list(skipped_tracked)
        files: dict[str, Stamp | None] = {}
        truncated = False
        for entry in out.split(b"\0"):
            if not entry or entry[:1] not in (b"1", b"u", b"?"):
                continue
            raw = entry[2:] if entry[:1] == b"?" else entry.split(b" ", 8 if entry[:1] == b"1" else 10)[-1]
            path = self._relative(raw)
            if path is None:
                continue
            if len(files) >= self.max_files:
                truncated = True
                break
            stamp, kind = self._stamp(path)
            if kind == "other":
                skipped.append(path)
                continue
            files[path] = stamp
        return TreeState("git", files, index, tuple(skipped), truncated)

    def _index_entries(self) -> tuple[dict[str, str], tuple[str, ...]]:
        """Every tracked regular file and its blob id (the same dict while the index file has not
        changed), and the tracked entries that are not regular files."""
        stamp: Stamp | None = None
        if self._index_file is not None:
            try:
                stamp = _stamp_of(self._index_file.stat())
            except OSError:
                stamp = None
        if stamp is not None and self._index is not None and self._index[0] == stamp:
            return self._index[1], self._index[2]
        index: dict[str, str] = {}
        skipped: list[str] = []
        for entry in self._run_git(["ls-files", "-s", "-z", "--full-name", "--", "."]).split(b"\0"):
            if not entry:
                continue
            meta, _, raw = entry.partition(b"\t")
            parts = meta.split()
            if len(parts) != 3:
                continue
            mode, oid, stage = parts
            path = self._relative(raw)
            if path is None:
                continue
            if mode not in (b"100644", b"100755") or stage != b"0":
                skipped.append(path)  # Links, submodules, unmerged entries.
                continue
            index[path] = oid.decode()
        if stamp is not None:
            self._index = (stamp, index, tuple(skipped))
        return index, tuple(skipped)

    def _relative(self, raw: bytes) -> str | None:
        path = os.fsdecode(raw)
        if not path.startswith(self._prefix):
            return None
        return path[len(self._prefix) :]

    def _run_git(self, args: list[str], stdin: bytes | None = None) -> bytes:
        return self._finish_git(self._start_git(args, stdin is not None), args[0], stdin)

    def _start_git(self, args: list[str], stdin: bool = False) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                [self._git, "--no-optional-locks", "-c", "core.quotepath=off", *args],
                cwd=self.root,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
            )
        except OSError as e:
            raise ScanError(f"git {args[0]} could not run: {e}") from e

    def _finish_git(self, proc: subprocess.Popen[bytes], what: str, stdin: bytes | None = None) -> bytes:
        try:
            out, err = proc.communicate(stdin, timeout=_GIT_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            proc.kill()
            proc.communicate()
            raise ScanError(f"git {what} took longer than {_GIT_TIMEOUT_S:g} s") from e
        if proc.returncode != 0:
            message = err.decode(errors="replace").strip().splitlines()
            raise ScanError(f"git {what} failed: {message[-1] if message else proc.returncode}")
        return out

    def git_blobs(self, ids: list[str]) -> dict[str, bytes]:
        """The bytes of these blobs from the repository (`git cat-file --batch`); ids git does not
        have are left out."""
        if not ids:
            return {}
        out = self._run_git(["cat-file", "--batch"], stdin=b"".join(i.encode() + b"\n" for i in ids))
        blobs: dict[str, bytes] = {}
        pos = 0
        for oid in ids:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if len(header) != 3 or header[1] != b"blob":
                continue  # "<id> missing"
            size = int(header[2])
            blobs[oid] = out[pos : pos + size]
            pos += size + 1
        return blobs

    # ------------------------------------------------------------------ plain scan

    def _scan_walk(self) -> TreeState:
        files: dict[str, Stamp | None] = {}
        skipped: list[str] = []
        stack = [""]
        truncated = False
        while stack and not truncated:
            folder = stack.pop()
            try:
                entries = list(os.scandir(self.root / folder if folder else self.root))
            except OSError:
                continue  # Vanished or unreadable: nothing in it can be tracked.
            for entry in entries:
                rel = f"{folder}{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in VCS_FOLDERS:
                        stack.append(rel + "/")
                    continue
                if not entry.is_file(follow_symlinks=False):
                    skipped.append(rel)
                    continue
                if len(files) >= self.max_files:
                    truncated = True
                    break
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                files[rel] = _stamp_of(st)
        return TreeState("scan", files, {}, tuple(skipped), truncated)

    # ------------------------------------------------------------------ files

    def _stamp(self, path: str) -> tuple[Stamp | None, Literal["file", "absent", "other"]]:
        try:
            st = os.lstat(self.root / path)
        except OSError:
            return None, "absent"
        if not stat_mod.S_ISREG(st.st_mode):
            return None, "other"
        return _stamp_of(st), "file"

    def read(self, path: str, max_bytes: int) -> bytes | int | None:
        """The bytes of a regular file; None if there is none (or a link, or a special file); its
        size if it is larger than `max_bytes` (not read)."""
        full = self.root / path
        try:
            fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat_mod.S_ISREG(st.st_mode):
                return None
            if st.st_size > max_bytes:
                return st.st_size
            chunks: list[bytes] = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            data = b"".join(chunks)
            return data if len(data) <= max_bytes else len(data)
        except OSError:
            return None
        finally:
            os.close(fd)


def _stamp_of(st: os.stat_result) -> Stamp:
    return Stamp(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)

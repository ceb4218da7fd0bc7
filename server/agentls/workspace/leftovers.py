"""What agentls creates in a user's project for a moment, written down before it is created.

Two things must exist in the project while agentls works: the sandbox's placeholders (bwrap
creates empty files and directories such as `.envrc` or `.vscode/` as mount points) and the
temporary file of an atomic write (`.NAME.xxxx.agentls-tmp`). Both are removed right after use,
but a process killed in between (kill -9, a crash, a power cut) cannot remove them (issue 10:
38 of 105 kill rounds left placeholders behind). So each process appends what it is about to
create to its own journal, `<state>/leftovers/<pid>-<start time>.jsonl`, before creating it, and
notes its removal after. `sweep()`, run when a session starts or resumes, removes what the
journals of dead processes still list, if it is still only what agentls made: an empty file or
directory for a placeholder (one with content is the user's now and is left alone), a file with
the temp suffix for a write.

The journal is not fsynced: it protects against the death of the process, which leaves the page
cache intact, not against a power cut during the few milliseconds a placeholder exists.
"""

from __future__ import annotations

import atexit
import errno
import json
import logging
import os
import stat
import threading
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path
from typing import IO, Literal

from agentls.dirs import state_home

log = logging.getLogger(__name__)

Kind = Literal["placeholder", "temp", "scratch"]
"""`placeholder`: an empty file or directory that bwrap mounts over; `temp`: an atomic write's
staging file; `scratch`: a file of ours outside the project (removed whatever it holds)."""

_COMPACT_BYTES = 256 * 1024
"""A journal with nothing live is truncated once it grows past this."""


def _start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (field 22 of /proc/PID/stat), which tells a reused pid apart."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself contain spaces or parentheses.
    fields = raw[raw.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else None


class Journal:
    """This process's journal. Thread-safe: writes run in worker threads."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._live: dict[Path, Kind] = {}
        self._pid = -1

    @property
    def path(self) -> Path:
        return self._dir / f"{os.getpid()}-{_start_time(os.getpid()) or 0}.jsonl"

    def add(self, kind: Kind, paths: Iterable[Path]) -> None:
        """Record `paths` before they are created. Never raises: a journal that cannot be written
        costs only the clean-up after a crash, which is logged."""
        with self._lock:
            for path in paths:
                self._live[path] = kind
                self._write({"op": "+", "kind": kind, "path": os.fsdecode(path)})

    def discard(self, paths: Iterable[Path]) -> None:
        """Record that `paths` were removed (or became someone else's)."""
        with self._lock:
            for path in paths:
                if self._live.pop(path, None) is not None:
                    self._write({"op": "-", "path": os.fsdecode(path)})
            if not self._live and self._file is not None and self._file.tell() > _COMPACT_BYTES:
                self._file.truncate(0)
                self._file.seek(0)

    def close(self) -> None:
        """At a normal exit: a journal with nothing live has nothing to tell the next start. (Also
        called by the sandbox's own exit clean-up, which may run after this and reopen it.)"""
        with self._lock:
            if self._file is None or self._pid != os.getpid():
                return
            with suppress(OSError):
                self._file.close()
                if not self._live:
                    self.path.unlink()
            self._file = None

    def _write(self, entry: dict[str, str]) -> None:
        try:
            if self._file is None or self._pid != os.getpid():  # A fork writes its own journal.
                self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._file = open(self.path, "a", encoding="utf-8", errors="surrogateescape")  # noqa: SIM115
                if self._pid == -1:
                    atexit.register(self.close)
                self._pid = os.getpid()
            self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._file.flush()
        except OSError as e:
            log.warning("could not write the leftovers journal %s: %s", self._dir, e)


_journal: Journal | None = None
_journal_lock = threading.Lock()


def journal() -> Journal:
    """The journal of this process, in the state directory as the environment names it now."""
    global _journal
    with _journal_lock:
        directory = state_home() / "leftovers"
        if _journal is None or _journal._dir != directory:
            _journal = Journal(directory)
        return _journal


def _live_entries(path: Path) -> dict[Path, Kind]:
    live: dict[Path, Kind] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError:
        return live
    for line in lines:
        try:
            entry = json.loads(line)
            target = Path(os.fsencode(entry["path"]).decode("utf-8", "surrogateescape"))
            if entry["op"] == "+" and entry.get("kind") in ("placeholder", "temp", "scratch"):
                live[target] = entry["kind"]
            elif entry["op"] == "-":
                live.pop(target, None)
        except (ValueError, KeyError, TypeError):
            continue  # A line torn by the kill: what it named was not created yet.
    return live


Outcome = Literal["removed", "gone", "retry"]


def _remove(path: Path, kind: Kind) -> Outcome:
    """Remove `path` if it is still only what agentls made. `gone`: nothing of ours is there (it
    was removed already, or someone put content in it, which makes it theirs)."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return "gone"
    except OSError:
        return "retry"
    regular, directory = stat.S_ISREG(st.st_mode), stat.S_ISDIR(st.st_mode)
    ours = (
        (kind == "scratch" and regular)
        or (kind == "temp" and regular and path.name.endswith(".agentls-tmp"))
        or (kind == "placeholder" and (directory or (regular and st.st_size == 0)))
    )
    if not ours:
        return "gone"
    try:
        path.rmdir() if directory else path.unlink()
    except OSError as e:
        if directory and e.errno == errno.ENOTEMPTY:
            return "gone"  # Someone put something in it: it is theirs now.
        # EBUSY: still a mount point of a sandbox that has not finished dying; try next time.
        log.info("leftover %s not removed yet: %s", path, e)
        return "retry"
    return "removed"


def sweep(
    directory: Path | None = None, *, busy: Callable[[Iterable[Path]], set[Path]] | None = None
) -> list[Path]:
    """Remove what dead processes' journals still list; returns the paths removed.

    `busy` names paths still mounted by a live sandbox (of another process), which are kept.
    """
    directory = directory or state_home() / "leftovers"
    removed: list[Path] = []
    try:
        journals = sorted(directory.glob("*.jsonl"))
    except OSError:
        return removed
    own = journal().path
    for path in journals:
        pid_text, _, start = path.stem.partition("-")
        if path == own or not pid_text.isdigit() or _start_time(int(pid_text)) == start:
            continue  # Ours, or a live process's: its own clean-up applies.
        live = _live_entries(path)
        in_use = busy(live) if busy is not None and live else set()
        retry = False
        # Deepest first, so a placeholder directory is empty by the time it is removed.
        for target, kind in sorted(live.items(), key=lambda kv: len(kv[0].parts), reverse=True):
            outcome = "retry" if target in in_use else _remove(target, kind)
            if outcome == "removed":
                removed.append(target)
            retry = retry or outcome == "retry"
        if not retry:
            with suppress(OSError):
                path.unlink()
    return removed

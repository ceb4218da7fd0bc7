"""Run one command to completion with bounded memory, a hard timeout and no leftovers.

`run_process` starts the command in a new session (so it leads its own process group), streams
the combined stdout+stderr into a head/tail buffer, and on every way out - normal exit, timeout,
cancellation - terminates whatever the command left running: its process group, its session, and
descendants that escaped both (`setsid`), found by walking /proc before signalling.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from agentls.workspace.port import ProcessResult, ProcessSpec, WorkspaceError

T = TypeVar("T")
_CANCEL_KILL_S = 5.0
"""How long a cancelled command may take to be gone entirely (its output pipe closed)."""

_CHUNK = 64 * 1024
_TERM_GRACE_S = 1.5
"""How long processes get between SIGTERM and SIGKILL."""
_DRAIN_GRACE_S = 0.5
"""After the main process exits, how long background children may keep the pipe open."""
_POLL_S = 0.05
_PROC = Path("/proc")


class _HeadTail:
    """Keeps the first `limit//2` and the last `limit - limit//2` characters of a stream."""

    def __init__(self, limit: int) -> None:
        self._head_cap = max(limit, 0) // 2
        self._tail_cap = max(limit, 0) - self._head_cap
        self._head: list[str] = []
        self._head_len = 0
        self._tail = ""
        self._dropped = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes, final: bool = False) -> None:
        text = self._decoder.decode(data, final)
        if self._head_len < self._head_cap:
            take = text[: self._head_cap - self._head_len]
            self._head.append(take)
            self._head_len += len(take)
            text = text[len(take) :]
        if not text:
            return
        tail = self._tail + text
        if len(tail) > self._tail_cap:
            cut = len(tail) - self._tail_cap
            self._dropped += cut
            tail = tail[cut:]
        self._tail = tail

    @property
    def dropped(self) -> int:
        return self._dropped

    def text(self) -> str:
        head = "".join(self._head)
        if not self._dropped:
            return head + self._tail
        return f"{head}\n[... {self._dropped} characters of output omitted ...]\n{self._tail}"


@dataclass(frozen=True)
class _ProcInfo:
    pid: int
    ppid: int
    pgrp: int
    session: int
    state: str
    start: int
    """Start time in clock ticks since boot: tells a live process from a reused pid."""


def _read_stat(pid: int) -> _ProcInfo | None:
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # `comm` (field 2) may contain spaces and parentheses; everything after the last ')' is fixed.
    rest = raw[raw.rfind(")") + 2 :].split()
    try:
        return _ProcInfo(pid, int(rest[1]), int(rest[2]), int(rest[3]), rest[0], int(rest[19]))
    except (IndexError, ValueError):
        return None


def _process_table() -> dict[int, _ProcInfo]:
    table: dict[int, _ProcInfo] = {}
    try:
        names = [entry.name for entry in _PROC.iterdir()]
    except OSError:
        return table
    for name in names:
        if name.isdigit() and (info := _read_stat(int(name))) is not None:
            table[info.pid] = info
    return table


class _ProcessTree:
    """Everything the command started, as seen so far; signalled only after it is collected."""

    def __init__(self, proc: asyncio.subprocess.Process, pipe_inode: int) -> None:
        self._proc = proc
        self._pipe_inode = pipe_inode
        self._root = proc.pid  # Also the process-group and session id (start_new_session=True).
        self._known: dict[int, int] = {}  # pid -> start time
        self._has_proc = sys.platform.startswith("linux") and _PROC.is_dir()
        info = _read_stat(self._root) if self._has_proc else None
        # Anything that started before the command cannot belong to it (guards against pid reuse).
        self._since = info.start if info is not None else 0

    def _collect(self, scan_pipe: bool = False) -> dict[int, int]:
        """Refresh the known set and return the members that are still alive (not zombies).

        `scan_pipe` also adopts every process holding the output pipe: a daemon that detached
        from both the group and the tree (double fork + setsid) is still ours if it has it.
        """
        if not self._has_proc:
            return {}
        table = _process_table()
        children: dict[int, list[int]] = {}
        for info in table.values():
            children.setdefault(info.ppid, []).append(info.pid)
        found = {
            p.pid for p in table.values() if self._root in (p.pgrp, p.session) and p.start >= self._since
        }
        if scan_pipe:
            found.update(
                p for p in _pipe_holders(self._pipe_inode) if p in table and table[p].start >= self._since
            )
        # Known pids stay members while their start time matches (a change means pid reuse).
        found.update(pid for pid, start in self._known.items() if pid in table and table[pid].start == start)
        # Descendants of everything found, so `setsid` children of dead shells are caught too.
        stack = [self._root, *found]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in found and table[child].start >= self._since:
                    found.add(child)
                    stack.append(child)
        for pid in found:
            self._known.setdefault(pid, table[pid].start)
        return {
            pid: table[pid].start
            for pid in found
            if table[pid].start == self._known[pid] and table[pid].state not in ("Z", "X")
        }

    def _signal(self, sig: signal.Signals, scan_pipe: bool = False) -> bool:
        """Send `sig` to every live member; False when nothing was left to signal."""
        alive = self._collect(scan_pipe)
        leader_running = self._proc.returncode is None
        if leader_running:
            # The whole group at once (the leader's pid pins the group id): signalled one by one, a
            # shell whose child died first could start its next command before its own signal came.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._root, sig)
        if not self._has_proc:
            # Without /proc the group is all we can reach.
            return leader_running
        for pid in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        return bool(alive)

    async def terminate(self, scan_pipe: bool) -> None:
        """SIGTERM everything, wait briefly, SIGKILL what is left (also if cancelled meanwhile)."""
        if not scan_pipe and self._proc.returncode is not None and not _group_alive(self._root):
            # The common case: the command exited, nobody holds its output and its process group
            # is empty. Skip the /proc scan, which costs milliseconds on a busy machine.
            return
        # With `scan_pipe`, every round looks for holders of the output pipe again: a child that
        # was cloned just before its parent died (a sandbox's, in its own session) is no longer
        # anyone's descendant, and only the pipe it inherited still ties it to the command.
        try:
            if not self._signal(signal.SIGTERM, scan_pipe):
                return
            deadline = time.monotonic() + _TERM_GRACE_S
            while time.monotonic() < deadline:
                await asyncio.sleep(_POLL_S)
                if not (self._collect(scan_pipe) if self._has_proc else self._proc.returncode is None):
                    return
        finally:
            self._signal(signal.SIGKILL, scan_pipe)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pipe_holders(inode: int) -> set[int]:
    """Pids (other than ours) with an open descriptor on the pipe `inode`."""
    target = f"pipe:[{inode}]"
    me = os.getpid()
    holders: set[int] = set()
    with contextlib.suppress(OSError):
        for entry in _PROC.iterdir():
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            with contextlib.suppress(OSError):  # Gone, or another user's process.
                if any(_readlink(fd) == target for fd in (entry / "fd").iterdir()):
                    holders.add(int(entry.name))
    return holders


def _readlink(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:
        return ""


async def _pump(stream: asyncio.StreamReader, sink: _HeadTail) -> None:
    while chunk := await stream.read(_CHUNK):
        sink.feed(chunk)
    sink.feed(b"", final=True)


async def _feed(stdin: asyncio.StreamWriter, data: bytes) -> None:
    # The command may exit without reading its input; that is its business, not an error.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stdin.write(data)
        await stdin.drain()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stdin.close()


async def _exited(proc: asyncio.subprocess.Process) -> None:
    """Return once the process has exited, whoever still holds its pipes.

    `Process.wait()` on Python 3.11 also waits for the pipes to close, which a background child
    can delay forever; the return code itself is set as soon as the child is reaped.
    """
    delay = 0.001
    while proc.returncode is None:
        await asyncio.sleep(delay)
        delay = min(delay * 2, _POLL_S)


async def run_process(spec: ProcessSpec) -> ProcessResult:
    """Run `spec.argv` and return its capped combined output.

    `exit_code` is the raw return code (negative: killed by that signal on its own), or None when
    the command timed out. Raises `WorkspaceError` if the command cannot be started. Cancelling
    the awaiting task terminates the command and its descendants before the cancellation
    propagates.
    """
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    # Our own pipe rather than stdout=PIPE: we know its inode (to find every process holding
    # it) and we close it ourselves, whatever a leftover writer does.
    read_fd, write_fd = os.pipe()
    pipe_inode = os.fstat(read_fd).st_ino
    stream = asyncio.StreamReader(limit=_CHUNK)
    try:
        # To the end even if cancelled: a transport created and then dropped is never closed.
        (pipe, _), cancelled = await _to_completion(
            loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(stream), os.fdopen(read_fd, "rb", buffering=0)
            )
        )
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if cancelled:
        pipe.close()
        os.close(write_fd)
        raise asyncio.CancelledError
    # A cancellation during the spawn must not leave the child running: asyncio would kill only
    # the direct child, and a sandbox's own child (its own session, maybe not yet bound to die
    # with bwrap) would live on and create its mount points after we cleaned up (found by the
    # SIGTERM test). So the spawn runs to the end, and then everything it started is ended.
    try:
        proc, cancelled = await _to_completion(
            asyncio.create_subprocess_exec(
                *spec.argv,
                cwd=spec.cwd,
                env=dict(spec.env),
                stdin=asyncio.subprocess.PIPE if spec.stdin else asyncio.subprocess.DEVNULL,
                stdout=write_fd,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        )
    except OSError as exc:
        pipe.close()
        raise WorkspaceError(f"Cannot run {spec.argv[0] if spec.argv else '(empty)'}: {exc}") from exc
    finally:
        os.close(write_fd)  # Only the child may hold the write end, or we would never see EOF.

    sink = _HeadTail(spec.output_limit)
    tree = _ProcessTree(proc, pipe_inode)
    if cancelled:
        await _to_completion(_end_everything(tree, _eof_of(stream)))
        pipe.close()
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await _to_completion(_exited(proc))
        raise asyncio.CancelledError
    reader = asyncio.create_task(_pump(stream, sink))
    tasks = [reader]
    if spec.stdin and proc.stdin is not None:
        tasks.append(asyncio.create_task(_feed(proc.stdin, spec.stdin)))
    timed_out = False
    try:
        try:
            async with asyncio.timeout(spec.timeout_s):
                await _exited(proc)
        except TimeoutError:
            timed_out = True
        else:
            # Background children may still hold the pipe; give them a moment to finish writing.
            await asyncio.wait([reader], timeout=_DRAIN_GRACE_S)
        # Nothing the command started outlives the call, even after a normal exit.
        await tree.terminate(scan_pipe=not reader.done())
        await asyncio.wait([reader], timeout=_DRAIN_GRACE_S)
    except asyncio.CancelledError:
        await _end_everything(tree, _done_of(reader))
        raise
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        pipe.close()
        if proc.returncode is None:
            # The leader is dead or dying by now; reap it so asyncio closes its transport.
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_exited(proc), _TERM_GRACE_S)
    return ProcessResult(
        exit_code=None if timed_out else proc.returncode,
        output=sink.text(),
        timed_out=timed_out,
        truncated_chars=sink.dropped,
        duration_s=time.monotonic() - started,
    )


async def _end_everything(tree: _ProcessTree, pipe_closed: Callable[[float], Awaitable[bool]]) -> None:
    """Kill a cancelled command until its output pipe reports end of file: only then has every
    process that could still hold it (and act) exited. A sandbox cloning its child at the moment
    of the kill can leave one nobody saw yet, in its own session; the next round finds it."""
    deadline = time.monotonic() + _CANCEL_KILL_S
    while time.monotonic() < deadline:
        await tree.terminate(scan_pipe=True)
        if await pipe_closed(_POLL_S * 4):
            return


def _eof_of(stream: asyncio.StreamReader) -> Callable[[float], Awaitable[bool]]:
    async def closed(within: float) -> bool:
        try:
            async with asyncio.timeout(within):
                while await stream.read(_CHUNK):
                    pass
        except TimeoutError:
            return False
        return True

    return closed


def _done_of(reader: asyncio.Task[None]) -> Callable[[float], Awaitable[bool]]:
    async def closed(within: float) -> bool:
        await asyncio.wait([reader], timeout=within)
        return reader.done()

    return closed


async def _to_completion(awaitable: Awaitable[T]) -> tuple[T, bool]:
    """Await `awaitable` to its end even if the caller is cancelled meanwhile. Returns its result
    and whether a cancellation arrived, which the caller re-raises once it has cleaned up."""
    task = asyncio.ensure_future(awaitable)
    cancelled = False
    while True:
        try:
            return await asyncio.shield(task), cancelled
        except asyncio.CancelledError:
            if task.cancelled():
                raise  # The work itself was cancelled, not just its caller.
            cancelled = True
            if task.done():  # It finished just as the caller was cancelled: keep its result.
                return task.result(), cancelled

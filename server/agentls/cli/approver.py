"""Approvers for the terminal: ask on a TTY, or refuse when there is nobody to ask."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from agentls.policy.decision import ApprovalChoice, ApprovalRequest, ApprovalResponse

_CHOICES: dict[str, ApprovalChoice] = {
    "y": "allow_once",
    "yes": "allow_once",
    "a": "allow_always",
    "always": "allow_always",
    "n": "reject_once",
    "no": "reject_once",
    "": "reject_once",
    "d": "reject_always",
    "never": "reject_always",
}


class TerminalApprover:
    """Prompts on stderr and reads one line from stdin without blocking the event loop."""

    def __init__(self, stdin: TextIO | None = None, err: TextIO | None = None) -> None:
        self._in = stdin or sys.stdin
        self._err = err or sys.stderr

    async def approve(self, request: ApprovalRequest) -> ApprovalResponse:
        self._err.write(f"\nPermission needed: {request.call.summary}\n  why: {request.reason}\n")
        if request.diff:
            self._err.write(request.diff if request.diff.endswith("\n") else request.diff + "\n")
        while True:
            self._err.write("  [y] yes  [a] yes, for the rest of the session  [n] no  [d] no, never  > ")
            self._err.flush()
            line = await self._readline()
            if line is None:
                return ApprovalResponse("reject_once", "(no answer: input closed)")
            answer = line.strip().lower()
            if answer in _CHOICES:
                return ApprovalResponse(_CHOICES[answer])
            self._err.write(f"  not a choice: {answer!r}\n")

    async def _readline(self) -> str | None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str | None] = loop.create_future()
        fd = self._in.fileno()

        def ready() -> None:
            line = self._in.readline()
            if not done.done():
                done.set_result(line if line else None)

        loop.add_reader(fd, ready)
        try:
            return await done
        finally:
            loop.remove_reader(fd)


class RefusingApprover:
    """Without a terminal: anything that would ask is refused, and the user is told how to allow it."""

    def __init__(self, err: TextIO | None = None) -> None:
        self._err = err or sys.stderr

    async def approve(self, request: ApprovalRequest) -> ApprovalResponse:
        self._err.write(
            f"refused (no terminal to ask): {request.call.summary}; use --permission-mode "
            "acceptEdits or bypassPermissions to let such calls run unattended\n"
        )
        self._err.flush()
        return ApprovalResponse("reject_once", "nobody is at a terminal to approve this; it was refused")

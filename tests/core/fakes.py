"""Test doubles for the loop: tools that record timing, an approver that follows a script."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from agentls.core.config import AgentConfig
from agentls.core.errors import ModelError
from agentls.core.model import ModelRequest, StreamEvent
from agentls.core.session import Session, SessionDeps
from agentls.policy.decision import ApprovalChoice, ApprovalRequest, ApprovalResponse, PermissionPolicy
from agentls.tools.base import Tool, ToolContext, ToolEnv, ToolInput, ToolOutput
from agentls.tools.registry import ToolRegistry


@dataclass
class Timeline:
    """What ran when: (name, label, start, end), plus the peak number running at once."""

    spans: list[tuple[str, str, float, float]] = field(default_factory=list)
    running: int = 0
    peak: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)

    def order(self) -> list[str]:
        return [label for _, label, _, _ in sorted(self.spans, key=lambda s: s[2])]


class ProbeInput(ToolInput):
    label: str
    sleep: float = 0.0


class _Probe(Tool[ProbeInput]):
    input_model = ProbeInput
    timeline: Timeline

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline

    def description(self, env: ToolEnv) -> str:
        return f"Test tool {self.name}."

    def summary(self, args: ProbeInput, root: Path) -> str:
        return f"{self.name} {args.label}"

    async def call(self, args: ProbeInput, ctx: ToolContext) -> ToolOutput:
        t = self.timeline
        t.running += 1
        t.peak = max(t.peak, t.running)
        t.started.set()
        start = time.monotonic()
        try:
            await asyncio.sleep(args.sleep)
        finally:
            t.running -= 1
            t.spans.append((self.name, args.label, start, time.monotonic()))
        return ToolOutput(f"{self.name} did {args.label}")


class LookTool(_Probe):
    """Read-only probe."""

    name: ClassVar[str] = "Look"
    read_only: ClassVar[bool] = True


class ChangeTool(_Probe):
    """Mutating probe."""

    name: ClassVar[str] = "Change"
    read_only: ClassVar[bool] = False


@dataclass
class FakeClock:
    """A `Clock` whose sleeps return at once and move its time on: hours of back-off in no time."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@dataclass
class ScriptedApprover:
    choices: list[ApprovalChoice | None]
    """None: never answer (the prompt hangs until the turn is cancelled)."""
    asked: list[ApprovalRequest] = field(default_factory=list)

    async def approve(self, request: ApprovalRequest) -> ApprovalResponse:
        self.asked.append(request)
        choice = self.choices.pop(0)
        if choice is None:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")
        return ApprovalResponse(choice)


@dataclass
class EventsThenError:
    """A model that streams some events and then fails, like a dropped connection."""

    events: Sequence[StreamEvent]
    error: ModelError
    then: list[Sequence[StreamEvent]] = field(default_factory=list)
    requests: list[ModelRequest] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "events-then-error"

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        return self._stream(request)

    async def _stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        self.requests.append(request)
        if len(self.requests) == 1:
            for e in self.events:
                await asyncio.sleep(0)
                yield e
            raise self.error
        for e in self.then.pop(0):
            yield e


async def make_session(
    project: Path,
    model,
    *,
    tools: Sequence[Tool] = (),
    approver=None,
    mode="default",  # type: ignore[no-untyped-def]
    policy: PermissionPolicy | None = None,
    **config: object,
) -> Session:
    from agentls.workspace.disk import DiskWorkspace

    cfg = AgentConfig(model="test-model", permission_mode=mode, retry_base_delay_s=0.0, **config)  # type: ignore[arg-type]
    deps = SessionDeps(
        config=cfg,
        model=model,
        workspace=DiskWorkspace(project),
        approver=approver or ScriptedApprover([]),
        policy=policy,
        registry=ToolRegistry(list(tools)) if tools else None,
    )
    return await Session.start(deps)


async def collect(session: Session, prompt: str) -> list:  # type: ignore[type-arg]
    return [e async for e in session.run(prompt).events()]

"""A command cancelled at any moment of its start leaves nothing running and nothing behind.

Found by the SIGTERM test of the black box: a cancellation that arrived just as the spawn finished
lost the new process (the spawn's result was dropped), so a sandbox went on to create its mount
points in the project after agentls had cleaned up, and outlived agentls.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
from pathlib import Path

import pytest

from agentls.workspace import process
from agentls.workspace.port import ProcessSpec
from agentls.workspace.process import run_process
from agentls.workspace.sandbox import SandboxPolicy, run_sandboxed
from tests.workspace.test_sandbox import BASE_ENV, needs_bwrap

ROUNDS = 40


def running(marker: str) -> list[str]:
    found = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, check=False)
    return found.stdout.split()


async def test_a_result_that_arrives_with_the_cancellation_is_kept() -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    async def work() -> str:
        started.set()
        await release.wait()
        return "the process"

    async def caller() -> tuple[str, bool]:
        return await process._to_completion(work())

    task = asyncio.ensure_future(caller())
    await started.wait()
    release.set()  # The work finishes in the same loop step as the cancellation arrives.
    task.cancel()
    assert await task == ("the process", True)


async def test_cancelling_at_random_moments_of_the_start_leaves_no_process(tmp_path: Path) -> None:
    marker = f"sleep 61.{random.randrange(10**6)}"
    spec = ProcessSpec(["/bin/sh", "-c", f"{marker}; true"], tmp_path, dict(BASE_ENV), 60)
    rng = random.Random(7)
    for _ in range(ROUNDS):
        task = asyncio.ensure_future(run_process(spec))
        await asyncio.sleep(rng.choice((0, 0, 0.001, 0.003, 0.01)))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert running(marker) == []


@needs_bwrap
async def test_cancelling_a_sandbox_as_it_starts_leaves_nothing_in_the_project(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    marker = f"sleep 62.{random.randrange(10**6)}"
    spec = ProcessSpec(["/bin/sh", "-c", f"{marker}; true"], project, dict(BASE_ENV), 60)
    policy = SandboxPolicy(project, home=tmp_path / "home")
    rng = random.Random(11)
    for _ in range(ROUNDS // 2):
        task = asyncio.ensure_future(run_sandboxed(spec, policy))
        await asyncio.sleep(rng.choice((0, 0.001, 0.002, 0.005, 0.02, 0.05)))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.05)  # A sandbox that escaped would be creating its mount points now.
        assert running(marker) == []
        assert sorted(p.name for p in project.iterdir()) == []

"""ToolRegistry and the built-in tool set."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agentls.tools.base import Tool, ToolEnv
from agentls.tools.bash import BashTool
from agentls.tools.glob import GlobTool
from agentls.tools.registry import ToolRegistry, builtin_tools

BUILTINS = ("Agent", "Read", "Write", "Edit", "Glob", "Grep", "Bash", "TodoWrite", "Skill")


def test_builtin_order_and_lookup() -> None:
    registry = builtin_tools()
    assert registry.names() == BUILTINS
    assert [t.name for t in registry.tools()] == list(BUILTINS)
    assert all(isinstance(t, Tool) for t in registry.tools())
    bash = registry.get("Bash")
    assert isinstance(bash, BashTool)
    assert registry.get("Nope") is None
    assert "Grep" in registry and len(registry) == 9


def test_builtin_flags() -> None:
    registry = builtin_tools()
    read_only = {t.name for t in registry.tools() if t.read_only}
    assert read_only == {"Agent", "Read", "Glob", "Grep", "TodoWrite", "Skill"}
    assert {t.name for t in registry.tools() if t.tier != "builtin"} == set()


def test_listing_runs_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a registry must not spawn processes")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", forbidden)
    monkeypatch.setattr(subprocess, "Popen", forbidden)
    registry = builtin_tools()
    env = ToolEnv(root=tmp_path / "does-not-exist")
    for tool in registry.tools():
        assert tool.description(env)
        assert tool.input_schema()["type"] == "object"
    assert not (tmp_path / "does-not-exist").exists()


def test_without_keeps_order_and_leaves_original() -> None:
    registry = builtin_tools()
    read_only = registry.without(["Write", "Edit", "Bash", "Unknown"])
    assert read_only.names() == ("Agent", "Read", "Glob", "Grep", "TodoWrite", "Skill")
    assert registry.names() == BUILTINS


def test_duplicates_rejected() -> None:
    with pytest.raises(ValueError, match="Glob"):
        ToolRegistry([GlobTool(), GlobTool()])
    assert ToolRegistry().names() == ()

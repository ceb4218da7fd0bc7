"""Shared fixtures. Tests never reach the network: the model is scripted or a loopback fake API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _no_real_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Point everything that could reach the real API or the real home somewhere harmless."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # Discard port: fails fast.
    monkeypatch.setenv("AGENTLS_HOME", str(tmp_path / "agentls-home"))
    # The user's own settings and trusted folders (~/.config/agentls) never leak into a test.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    yield


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project directory (resolved, so symlinked tmp dirs compare equal)."""
    root = (tmp_path / "project").resolve()
    root.mkdir()
    return root


@pytest.fixture
def disk_ws(project: Path):  # type: ignore[no-untyped-def]
    from agentls.workspace.disk import DiskWorkspace

    return DiskWorkspace(project)


@pytest.fixture
def tool_ctx(disk_ws):  # type: ignore[no-untyped-def]
    from agentls.tools.base import FileReadState, ToolContext

    return ToolContext(workspace=disk_ws, read_state=FileReadState(), env_for_subprocess=dict(os.environ))

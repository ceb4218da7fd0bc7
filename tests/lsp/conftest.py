"""Fixtures of the language-server end-to-end tests (helpers live in `harness.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lsp.harness import Env


@pytest.fixture
def env(project: Path, tmp_path: Path) -> Env:
    """The workspace root (`project`) and a private AGENTLS_HOME for one test."""
    return Env(root=project, home=tmp_path / "agentls-home")

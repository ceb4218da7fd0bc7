"""Real-editor tests: each installs its editor (cached under ~/.cache/agentls-editors)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def editor_unavailable(what: str, err: Exception) -> NoReturn:
    """An editor the real-editor tests need could not be installed: fail loudly (CI must not pass
    without them), unless the person running the tests opted out with AGENTLS_ALLOW_EDITOR_SKIP=1."""
    message = f"{what} is unavailable: {err}"
    if os.environ.get("AGENTLS_ALLOW_EDITOR_SKIP") == "1":
        pytest.skip(message)
    pytest.fail(f"{message} (set AGENTLS_ALLOW_EDITOR_SKIP=1 to skip the real-editor tests instead)")

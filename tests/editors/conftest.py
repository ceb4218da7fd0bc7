"""The editors under test, installed on first use (cached); one that cannot be installed fails the
test loudly (`editor_unavailable`). Neovim tests run on both builds:

    @pytest.mark.parametrize("which", NVIM_BUILDS)
    def test_x(which: str, request: pytest.FixtureRequest) -> None:
        nvim: Path = request.getfixturevalue(which)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.editors import editor_unavailable
from tests.editors.nvim.install import EditorUnavailable, ensure_nvim07, ensure_nvim_dev


@pytest.fixture(scope="session")
def nvim07() -> Path:
    try:
        return ensure_nvim07()
    except EditorUnavailable as err:
        editor_unavailable("Neovim 0.7", err)


@pytest.fixture(scope="session")
def nvim_dev() -> Path:
    try:
        return ensure_nvim_dev()
    except EditorUnavailable as err:
        editor_unavailable("Neovim 0.12-dev", err)

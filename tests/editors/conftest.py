"""The editors under test, installed on first use (cached); one that cannot be installed fails the
test loudly (`editor_unavailable`). Neovim tests run on both builds:

    @pytest.mark.parametrize("which", NVIM_BUILDS)
    def test_x(which: str, request: pytest.FixtureRequest) -> None:
        nvim: Path = request.getfixturevalue(which)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from tests.editors import editor_unavailable
from tests.editors.nvim.install import EditorUnavailable, ensure_emacs, ensure_nvim07, ensure_nvim_dev
from tests.editors.vscode.codeserver import Tools, Unavailable, build_vsix, ensure_tools

T = TypeVar("T")


def installed(what: str, install: Callable[[], T]) -> T:
    try:
        return install()
    except (EditorUnavailable, Unavailable) as err:
        editor_unavailable(what, err)


@pytest.fixture(scope="session")
def nvim07() -> Path:
    return installed("Neovim 0.7", ensure_nvim07)


@pytest.fixture(scope="session")
def nvim_dev() -> Path:
    return installed("Neovim 0.12-dev", ensure_nvim_dev)


@pytest.fixture(scope="session")
def emacs() -> Path:
    return installed("Emacs", ensure_emacs)


@pytest.fixture(scope="session")
def tools() -> Tools:
    """code-server, Chromium and Playwright."""
    return installed("code-server", ensure_tools)


@pytest.fixture(scope="session")
def vsix(tools: Tools) -> Path:
    """The VS Code extension, packaged from client-vscode/."""
    return build_vsix()

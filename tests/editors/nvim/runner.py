"""Running a headless Neovim on a Lua driver script against `agentls` and the fake Messages API.

The driver writes its findings to a JSON file and quits itself (with its own watchdog); the
subprocess timeout here is only the last resort. Everything the editor and the server logged
(Neovim's lsp.log, which holds the server's stderr) is gathered for failure messages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.helpers import cli_env

REPO = Path(__file__).resolve().parents[3]
PLUGIN_DIR = REPO / "client-nvim"
AGENTLS = Path(sys.executable).parent / "agentls"
"""The venv's `agentls` console script (the package is installed editable)."""

DRIVER_TIMEOUT_S = 240.0
"""The driver's own watchdog: generous, for a shared and slow 2-core machine."""


@dataclass
class NvimRun:
    returncode: int | None
    result: dict[str, Any]
    stdout: str
    stderr: str
    seconds: float
    logs: dict[str, str] = field(default_factory=dict)

    def report(self) -> str:
        """Everything useful for a failure message."""
        parts = [
            f"nvim exit code: {self.returncode} after {self.seconds:.1f} s",
            f"driver result: {json.dumps(self.result, indent=1, ensure_ascii=False)[:6000]}",
            f"nvim stdout:\n{self.stdout[-3000:]}",
            f"nvim stderr:\n{self.stderr[-3000:]}",
        ]
        for name, text in self.logs.items():
            parts.append(f"--- {name} (last 8000 chars) ---\n{text[-8000:]}")
        return "\n".join(parts)


def nvim_env(tmp: Path, home: Path, base_url: str) -> dict[str, str]:
    """The server's environment (fake API, private AGENTLS_HOME) plus private XDG dirs, so the
    user's Neovim config, data and logs are never touched."""
    env = cli_env(home, base_url)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        path = tmp / "xdg" / name.lower()
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env.pop("NVIM", None)
    env.pop("NVIM_LISTEN_ADDRESS", None)
    env.pop("VIMINIT", None)
    env["TERM"] = "dumb"
    return env


def run_driver(
    nvim: Path,
    driver: Path,
    *,
    cwd: Path,
    env: dict[str, str],
    extra_env: dict[str, str],
    out: Path,
    timeout_s: float = DRIVER_TIMEOUT_S,
) -> NvimRun:
    env = {
        **env,
        **extra_env,
        "AGENTLS_TEST_OUT": str(out),
        "AGENTLS_PLUGIN_DIR": str(PLUGIN_DIR),
        "AGENTLS_CMD": str(AGENTLS),
        "AGENTLS_TEST_TIMEOUT_MS": str(int(timeout_s * 1000)),
    }
    argv = [str(nvim), "--headless", "--clean", "-n", "-c", f"luafile {driver}"]
    started = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s + 60,
            check=False,
        )
        code: int | None = proc.returncode
        stdout, stderr = proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as err:
        code = None
        stdout = _text(err.stdout)
        stderr = _text(err.stderr) + f"\n[killed: no exit within {timeout_s + 60:.0f} s]"
    seconds = time.monotonic() - started
    result: dict[str, Any] = {}
    if out.exists():
        try:
            result = json.loads(out.read_text(encoding="utf-8"))
        except ValueError as err:
            result = {"unreadable": str(err), "raw": out.read_text(encoding="utf-8", errors="replace")[:2000]}
    logs = {}
    for log in sorted(Path(env["XDG_STATE_HOME"]).rglob("*.log")) + sorted(
        Path(env["XDG_CACHE_HOME"]).rglob("*.log")
    ):
        logs[str(log.relative_to(log.parents[2]))] = log.read_text(encoding="utf-8", errors="replace")
    return NvimRun(code, result, stdout, stderr, seconds, logs)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", "replace")


NVIM_BUILDS = ["nvim07", "nvim_dev"]
"""The Neovim builds every plugin test runs on (fixtures in tests/editors/conftest.py)."""


def new_project(tmp_path: Path, files: dict[str, str]) -> Path:
    """`tmp_path/project` (resolved) holding `files`, as `write_project` writes them."""
    project = (tmp_path / "project").resolve()
    project.mkdir()
    write_project(project, files)
    return project


def write_project(root: Path, files: dict[str, str]) -> None:
    (root / "pyproject.toml").write_text('[project]\nname = "sample"\nversion = "0"\n', encoding="utf-8")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

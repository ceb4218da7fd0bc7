"""Make the editor screenshots in docs/images/ (a manual tool, not a test).

    python3 -m venv /tmp/shots-venv && /tmp/shots-venv/bin/pip install Pillow
    /tmp/shots-venv/bin/python tests/editors/screenshots/make_screenshots.py [--only nvim|emacs]

Needs tmux, the DejaVu fonts, the project venv (.venv, with agentls installed), and the editors
the editor tests use: the Neovim 0.12-dev build cached by tests/editors/nvim/install.py (else
/usr/bin/nvim) and Emacs 28 with eglot. Pillow stays in the throwaway venv: the script runs the
fake Messages API (`python -m tests.fakeapi`) and agentls with the project venv.

Each editor runs in a private tmux server at a fixed size, typed into with `tmux send-keys` as a
user would, against agentls and a scripted fake model (Read the file, Edit it, which asks for
permission, answer). `tmux capture-pane -e` screens are rendered by ansi_png.py:

    docs/images/nvim-permission.png  Neovim: the permission float for the Edit, over the chat
    docs/images/nvim-chat.png        Neovim: the finished turn; the edit in the source buffer
    docs/images/emacs-permission.png Emacs + eglot: the showMessageRequest permission prompt
    docs/images/emacs-eglot.png      Emacs + eglot: the code action's edit landed, the answer
                                     in *Messages*
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ansi_png import render

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
VENV_BIN = REPO / ".venv" / "bin"
AGENTLS = VENV_BIN / "agentls"
NVIM_DEV = Path.home() / ".cache" / "agentls-editors" / "nvim-dev" / "venv" / "bin" / "nvim"
COLS, ROWS = 140, 40
WAIT_S = 120.0

APP = '''"""Greetings for the command line."""

import sys


def greet(name):
    return "hello " + name


def main(argv):
    for name in argv[1:] or ["world"]:
        print(greet(name))


if __name__ == "__main__":
    main(sys.argv)
'''
OLD = '"hello " + name'
NEW = 'f"Hello, {name.title()}!"'
INSTRUCTION = "# agent: make the greeting friendlier"
NVIM_PROMPT = "Make the greeting friendlier: capitalise the name."
NVIM_REPLY = (
    'Done. `greet()` now returns `f"Hello, {name.title()}!"`, so `greet("ada")` gives '
    '"Hello, Ada!". The change is in your buffer, unsaved.'
)
EMACS_REPLY = 'greet() now says "Hello, <Name>!" with the name title-cased.'


def log(msg: str) -> None:
    print(f"[shots] {msg}", file=sys.stderr, flush=True)


def wait_until(
    what: str, cond: Callable[[], Any], *, within: float = WAIT_S, tick: Callable[[], None] | None = None
) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        if tick:
            tick()
        time.sleep(0.3)


class FakeAPI:
    """The fake Messages API as a subprocess of the project venv's python."""

    def __init__(self, steps: list[dict[str, Any]], workdir: Path) -> None:
        script = workdir / "fake-script.json"
        script.write_text(json.dumps(steps), encoding="utf-8")
        self.proc = subprocess.Popen(
            [
                str(VENV_BIN / "python"),
                "-m",
                "tests.fakeapi",
                "--script",
                str(script),
                "--event-delay-s",
                "0.01",
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.close()
            raise RuntimeError(f"fake API did not start: {line!r}")
        self.base_url = line.removeprefix("listening on ")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Tmux:
    """One private tmux server (its socket in the work directory) holding one session at COLS x ROWS."""

    def __init__(self, name: str, argv: list[str], *, cwd: Path, env: dict[str, str], workdir: Path) -> None:
        self.socket = str(workdir / f"tmux-{name}.sock")
        self.session = name
        conf = workdir / f"tmux-{name}.conf"
        conf.write_text(
            'set -g default-terminal "tmux-256color"\nset -g status off\nset -g escape-time 10\n',
            encoding="utf-8",
        )
        self.env = env
        size = ["-x", str(COLS), "-y", str(ROWS)]
        self._run("-f", str(conf), "new-session", "-d", "-s", name, *size, "-c", str(cwd), *argv)

    def _run(self, *args: str) -> str:
        proc = subprocess.run(
            ["tmux", "-S", self.socket, *args], env=self.env, capture_output=True, text=True, check=True
        )
        return proc.stdout

    def keys(self, *keys: str) -> None:
        """Key names as tmux knows them (Enter, Escape, C-w, M-x, F5)."""
        self._run("send-keys", "-t", self.session, *keys)

    def text(self, text: str) -> None:
        self._run("send-keys", "-t", self.session, "-l", text)

    def capture(self) -> tuple[str, tuple[int, int]]:
        screen = self._run("capture-pane", "-t", self.session, "-e", "-p", "-N")
        x, y = self._run("display-message", "-t", self.session, "-p", "#{cursor_x} #{cursor_y}").split()
        return screen, (int(x), int(y))

    def shot(self, out: Path, *, cursor: bool = True, **kwargs: Any) -> None:
        screen, pos = self.capture()
        if os.environ.get("SHOTS_KEEP_ANS"):
            out.with_suffix(".ans").write_text(screen, encoding="utf-8")
        render(screen, out, cols=COLS, rows=ROWS, cursor=pos if cursor else None, **kwargs)
        log(f"wrote {out}")

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, check=False)


def base_env(workdir: Path, base_url: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("ANTHROPIC_AUTH_TOKEN", "TMUX", "NVIM", "NVIM_LISTEN_ADDRESS", "VIMINIT", "EMACSLOADPATH"):
        env.pop(name, None)
    env.update(
        ANTHROPIC_API_KEY="test-key",
        ANTHROPIC_BASE_URL=base_url,
        AGENTLS_HOME=str(workdir / "agentls-home"),
        AGENTLS_CMD=str(AGENTLS),
        HOME=str(workdir / "home"),
        PATH=os.pathsep.join([str(VENV_BIN), env.get("PATH", "")]),
        PYTHONUNBUFFERED="1",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
    )
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(workdir / "xdg" / name.lower())
        Path(env[name]).mkdir(parents=True, exist_ok=True)
    Path(env["HOME"]).mkdir(parents=True, exist_ok=True)
    return env


def make_project(workdir: Path, text: str) -> Path:
    project = workdir / "greeter"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "greeter"\nversion = "0"\n', encoding="utf-8")
    app = project / "app.py"
    app.write_text(text, encoding="utf-8")
    return app


def model_script(app: Path, reply: str) -> list[dict[str, Any]]:
    edit = {"file_path": str(app), "old_string": OLD, "new_string": NEW}
    return [
        {
            "blocks": [
                {"text": "Let me look at the file."},
                {"tool_use": {"name": "Read", "input": {"file_path": str(app)}}},
            ]
        },
        {"blocks": [{"tool_use": {"name": "Edit", "input": edit}}]},
        {"blocks": [{"text": reply}]},
    ]


# --- Neovim ------------------------------------------------------------------------------------


def nvim_shots(workdir: Path, out_dir: Path) -> None:
    nvim = NVIM_DEV if NVIM_DEV.exists() else Path("/usr/bin/nvim")
    app = make_project(workdir, APP)
    fake = FakeAPI(model_script(app, NVIM_REPLY), workdir)
    sock = workdir / "nvim.sock"
    env = base_env(workdir, fake.base_url)
    env["AGENTLS_PLUGIN_DIR"] = str(REPO / "client-nvim")
    argv = [str(nvim), "--listen", str(sock), "-u", str(HERE / "nvim_init.lua"), "app.py"]
    tmux = Tmux("nvim", argv, cwd=app.parent, env=env, workdir=workdir)

    def lua(expr: str) -> str:
        if not sock.exists():
            return ""
        proc = subprocess.run(
            [
                str(nvim),
                "--clean",
                "--headless",
                "--server",
                str(sock),
                "--remote-expr",
                f"luaeval({json.dumps(expr)})",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )
        return proc.stdout.strip()

    try:
        client = "(require('agentls.compat').get_clients({name = 'agentls'})[1] or {}).initialized"
        wait_until("the agentls client", lambda: lua(f"{client} and 'yes' or ''") == "yes")
        tmux.keys(":AgentlsChat", "Enter")
        wait_until("the chat buffer", lambda: lua("vim.b.agentls_session and 'yes' or ''") == "yes")
        time.sleep(0.5)
        tmux.keys("G", "A")
        tmux.text(NVIM_PROMPT)
        tmux.keys("Escape")
        time.sleep(0.3)
        tmux.keys("Enter")
        wait_until("the permission float", lambda: lua("vim.bo.filetype") == "agentls-permission")
        time.sleep(1.0)
        tmux.shot(out_dir / "nvim-permission.png")
        tmux.keys("a")
        busy = "(require('agentls.chat').current or {}).busy"
        wait_until("the end of the turn", lambda: lua(f"{busy} and 'busy' or 'idle'") == "idle")
        time.sleep(1.0)
        tmux.keys("C-w", "h")  # to the source window, cursor on the edited line
        time.sleep(0.3)
        row = lua("vim.fn.search('Hello, ', 'nw')")
        tmux.keys(f"{row}G", "w")
        time.sleep(1.0)
        tmux.shot(out_dir / "nvim-chat.png")
        tmux.keys(":qa!", "Enter")
        time.sleep(1.0)
    finally:
        tmux.close()
        fake.close()


# --- Emacs -------------------------------------------------------------------------------------


def emacs_shots(workdir: Path, out_dir: Path) -> None:
    text = APP.replace("def greet(name):\n", f"def greet(name):\n    {INSTRUCTION}\n")
    app = make_project(workdir, text)
    expected = text.replace(f"    {INSTRUCTION}\n", "").replace(OLD, NEW)
    fake = FakeAPI(model_script(app, EMACS_REPLY), workdir)
    events_path = workdir / "emacs-events.jsonl"
    env = base_env(workdir, fake.base_url)
    env.update(AGENTLS_SHOT_EVENTS=str(events_path), AGENTLS_SHOT_FILE=str(app))
    argv = ["emacs", "-nw", "-q", "-l", str(HERE / "emacs_init.el")]
    tmux = Tmux("emacs", argv, cwd=app.parent, env=env, workdir=workdir)
    seen: list[dict[str, Any]] = []

    def events() -> list[dict[str, Any]]:
        if events_path.exists():
            lines = events_path.read_text(encoding="utf-8").splitlines()
            seen[:] = [json.loads(line) for line in lines if line.strip()]
        return seen

    def event(pred: Callable[[dict[str, Any]], bool], start: int) -> Callable[[], int | None]:
        def find() -> int | None:
            for i, e in enumerate(events()[start:], start):
                if pred(e):
                    return i + 1
            return None

        return find

    def prompt(*needles: str) -> Callable[[dict[str, Any]], bool]:
        return lambda e: e.get("event") == "prompt" and all(n in str(e.get("prompt")) for n in needles)

    last_nudge = [0.0]

    def nudge() -> None:
        # Once a second: eglot sends the didChange of a server-applied edit from an idle timer
        # (0.5 s), which must get to run between two keys.
        if time.monotonic() - last_nudge[0] >= 1.0:
            last_nudge[0] = time.monotonic()
            tmux.keys("F5")

    try:
        at = wait_until("eglot to connect", event(lambda e: e.get("event") == "ready", 0))
        time.sleep(1.0)
        tmux.keys("M-x")
        tmux.text("eglot-code-actions")
        tmux.keys("Enter")
        at = wait_until("the code-action menu", event(prompt("Pick an action"), at))
        time.sleep(0.5)
        tmux.keys("Enter")
        at = wait_until("the permission prompt", event(prompt("Server reports", "Choose an option"), at))
        time.sleep(1.0)
        tmux.shot(out_dir / "emacs-permission.png")
        tmux.keys("C-a", "C-k")
        tmux.text("Allow")
        tmux.keys("Tab", "Enter")
        for what in ("the agent's edit", "removing the instruction comment"):
            at = wait_until(what, event(prompt("Server wants to edit", "Proceed?"), at), tick=nudge)
            time.sleep(0.3)
            tmux.keys("y")

        def finished(e: dict[str, Any]) -> bool:
            return (
                e.get("event") == "state" and e.get("buffer") == expected and "Hello, <Name>" in e["messages"]
            )

        try:
            wait_until("the answer", event(finished, at), tick=nudge)
        except TimeoutError:
            tmux.shot(workdir / "timeout.png")
            raise
        tmux.keys("C-h", "e")  # view-echo-area-messages: *Messages* in the other window
        time.sleep(1.0)
        tmux.keys("M-m")  # point (on the edited line) to its indentation
        time.sleep(1.0)
        tmux.shot(out_dir / "emacs-eglot.png")
        tmux.keys("C-x", "C-c")
        time.sleep(0.5)
        tmux.text("n")
        tmux.text("yes")
        tmux.keys("Enter")
        time.sleep(1.0)
    finally:
        tmux.close()
        fake.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["nvim", "emacs"])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if not shutil.which("tmux"):
        sys.exit("tmux is needed (apt-get install tmux)")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, make in (("nvim", nvim_shots), ("emacs", emacs_shots)):
        if args.only and args.only != name:
            continue
        workdir = Path(tempfile.mkdtemp(prefix=f"agentls-shots-{name}-"))
        log(f"{name}: working in {workdir}")
        try:
            make(workdir, args.out)
        finally:
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`agentls log SESSION` (a session's black box) and `agentls doctor` (is this installation sound?)."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agentls.cli.main import CliError
from agentls.core import blackbox
from agentls.store.sessions import SessionStore


def log_command(args: argparse.Namespace) -> int:
    store = SessionStore()
    try:
        transcript = store.find(args.session)
    except LookupError as err:
        raise CliError(str(err)) from None
    path = blackbox.path_for(transcript)
    records = blackbox.read(path)
    if not records:
        raise CliError(f"session {transcript.stem} has no black box at {path} (older sessions have none)")
    if args.tail:
        records = records[-args.tail :]
    for record in records:
        print(json.dumps(record, ensure_ascii=False) if args.json else blackbox.render(record))
    return 0


Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    level: Level
    what: str
    detail: str
    fix: str = ""


def doctor_command(args: argparse.Namespace) -> int:
    project = Path(args.cwd).expanduser().resolve() if args.cwd else Path.cwd()
    checks = [check(project) for check in _CHECKS]
    width = max(len(c.what) for c in checks)
    for c in checks:
        mark = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}[c.level]
        print(f"{mark}  {c.what:<{width}}  {c.detail}")
        if c.fix:
            print(f"      {'':<{width}}  fix: {c.fix}")
    failed = sum(c.level == "fail" for c in checks)
    warned = sum(c.level == "warn" for c in checks)
    print(f"\n{len(checks)} checks: {failed} failed, {warned} warnings")
    return 1 if failed else 0


def _api_key(_project: Path) -> Check:
    if os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN"):
        where = os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com"
        return Check("ok", "API key", f"set (requests go to {where})")
    return Check(
        "fail",
        "API key",
        "neither ANTHROPIC_API_KEY nor ANTHROPIC_AUTH_TOKEN is set",
        "export ANTHROPIC_API_KEY=... in the environment the editor or `agentls run` starts from",
    )


def _sandbox(_project: Path) -> Check:
    from agentls.workspace.sandbox import check_sandbox

    status = check_sandbox()
    if status.available:
        return Check("ok", "Bash sandbox", f"{status.reason} ({status.bwrap})")
    return Check(
        "fail",
        "Bash sandbox",
        status.reason,
        "apt-get install bubblewrap (or allow unprivileged user namespaces); or turn the sandbox off "
        'in your user settings ("sandbox": {"enabled": false}) if you accept unsandboxed commands',
    )


def _ripgrep(_project: Path) -> Check:
    from agentls.tools.ripgrep import rg_path

    try:
        found = rg_path()
    except Exception as err:  # The wheel is missing or broken: Grep and Glob then fail.
        return Check("fail", "ripgrep", str(err), "pip install --force-reinstall ripgrep==14.1.0")
    return Check("ok", "ripgrep", str(found))


def _settings(project: Path) -> Check:
    from agentls.policy.loader import ReloadingEngine, SettingsSources

    try:
        engine = ReloadingEngine(SettingsSources(project=project))
    except Exception as err:
        return Check("fail", "settings", f"cannot be loaded: {err}", "fix or remove the file named above")
    warnings = list(engine.config.warnings)
    if warnings:
        shown = "; ".join(warnings[:3]) + (" …" if len(warnings) > 3 else "")
        return Check("warn", "settings", shown, "run `agentls permissions` for the full list")
    count = len(engine.config.allow) + len(engine.config.ask) + len(engine.config.deny)
    return Check("ok", "settings", f"{count} permission rules, no warnings")


def _trust(project: Path) -> Check:
    from agentls.policy.loader import SettingsSources

    trusted = SettingsSources(project=project).trust_store.is_trusted(project)
    if trusted:
        return Check("ok", "trust", f"{project} is trusted: its own allow rules and hooks apply")
    return Check(
        "warn",
        "trust",
        f"{project} is not trusted: its allow rules, hooks and env settings are ignored",
        f"agentls trust {project}   (only if you trust whoever wrote its .agentls/ and .claude/ files)",
    )


def _fd_limit(_project: Path) -> Check:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 256:
        return Check(
            "warn",
            "open files",
            f"the limit is {soft} (hard {hard}); Bash commands and the language server need more",
            "ulimit -n 1024 in the shell that starts agentls or the editor",
        )
    return Check("ok", "open files", f"limit {soft}")


def _state_dir(_project: Path) -> Check:
    store = SessionStore()
    root = store.root
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".doctor-probe"
        probe.write_text("x")
        probe.unlink()
    except OSError as err:
        return Check(
            "fail",
            "session store",
            f"{root} is not writable: {err}",
            "set AGENTLS_HOME to a writable directory",
        )
    free = shutil.disk_usage(root).free
    if free < 100 * 1024 * 1024:
        return Check(
            "warn", "session store", f"{root}: only {free // (1024 * 1024)} MB free", "free some disk space"
        )
    return Check("ok", "session store", str(root))


_CHECKS: tuple[Callable[[Path], Check], ...] = (
    _api_key,
    _sandbox,
    _ripgrep,
    _settings,
    _trust,
    _fd_limit,
    _state_dir,
)

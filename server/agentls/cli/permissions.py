"""`agentls permissions` (the effective rules, their sources and recent decisions) and `agentls trust`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from agentls.cli.main import CliError
from agentls.policy.loader import SettingsSources
from agentls.store.settings import SettingsError, read_settings


def cli_settings(raw: str | None) -> dict[str, Any] | None:
    """`--settings`: inline JSON (starts with `{`) or the path of a JSON file."""
    if raw is None:
        return None
    if raw.lstrip().startswith("{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as err:
            raise CliError(f"--settings is not valid JSON: {err.msg} at column {err.colno}") from None
        if not isinstance(data, dict):
            raise CliError("--settings must be a JSON object")
        return data
    path = Path(raw).expanduser()
    if not path.is_file():
        raise CliError(f"--settings {raw}: no such file")
    try:
        return read_settings(path)
    except SettingsError as err:
        raise CliError(f"--settings: {err}") from None


def _folder(raw: str | None) -> Path:
    folder = Path(raw).expanduser() if raw else Path.cwd()
    if not folder.is_dir():
        raise CliError(f"{raw}: not a directory")
    return folder.resolve()


def permissions_command(args: argparse.Namespace) -> int:
    sources = SettingsSources(project=_folder(args.cwd), cli=cli_settings(args.settings))
    from agentls.core.permission_report import format_report, permission_report  # Only here.

    report = permission_report(sources, mode=args.permission_mode, limit=args.limit)
    print(
        json.dumps(report, indent=2) if args.json else format_report(report),
        end="" if not args.json else "\n",
    )
    return 0


def trust_command(args: argparse.Namespace) -> int:
    folder = _folder(args.folder)
    store = SettingsSources(project=folder).trust_store
    try:
        changed = store.revoke(folder) if args.revoke else store.trust(folder)
    except SettingsError as err:
        raise CliError(str(err)) from None
    if args.revoke:
        print(f"{folder} is no longer trusted" if changed else f"{folder} was not trusted")
    else:
        print(
            f"Trusted {folder}: its allow rules, additional directories, hooks, MCP servers and "
            f"environment settings now apply ({store.path})."
            if changed
            else f"{folder} is already trusted"
        )
    return 0

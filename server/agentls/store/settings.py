"""Settings files: JSON objects read whole and updated by atomic replace.

The project's local settings (`.agentls/settings.local.json`) hold the permission rules a user
created by answering "always" in a prompt. Unlike logs, settings are small documents that are
rewritten: through a temporary file and `os.replace`, so a crash leaves the old or the new file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

LOCAL_SETTINGS = Path(".agentls") / "settings.local.json"


class SettingsError(Exception):
    """A settings file exists but cannot be used; the message names the file and the problem."""


def read_settings(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise SettingsError(f"cannot read {path}: {err}") from err
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as err:
        raise SettingsError(f"{path} is not valid JSON ({err.msg}, line {err.lineno})") from err
    if not isinstance(data, dict):
        raise SettingsError(f"{path} must hold a JSON object")
    return data


def add_permission_rule(path: Path, list_name: str, rule: str) -> bool:
    """Append `rule` to `permissions.<list_name>` unless present; True if the file changed."""
    data = read_settings(path)
    permissions = data.setdefault("permissions", {})
    if not isinstance(permissions, dict):
        raise SettingsError(f"{path}: `permissions` must be an object")
    rules = permissions.setdefault(list_name, [])
    if not isinstance(rules, list):
        raise SettingsError(f"{path}: `permissions.{list_name}` must be a list")
    if rule in rules:
        return False
    rules.append(rule)
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return True


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` all at once (temp file, fsync, rename): a reader or a crash sees
    the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

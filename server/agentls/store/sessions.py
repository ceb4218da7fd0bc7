"""Where session logs live and how to find them again.

Each session is one JSONL log (see `agentls.store.jsonl`) named `<session id>.jsonl` under
`agentls_home()/sessions`. Ids start with a UTC timestamp so they sort by creation time, and are
restricted to a file-name-safe alphabet so a user-supplied id can never escape the directory.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentls.dirs import state_home

SUFFIX = ".jsonl"
_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_HEADER_MAX_BYTES = 1024 * 1024
"""Longest first line `list()` will parse; a header is small, so anything longer is not one."""
_LIST_HINT = "Run `agentls sessions` to list sessions"


def agentls_home() -> Path:
    """`$AGENTLS_HOME`, else `$XDG_STATE_HOME/agentls`, else `~/.local/state/agentls`."""
    return state_home()


def checkpoint_contents(transcript: Path) -> Path:
    """Where the contents a session's checkpoints keep are stored: next to its transcript."""
    return transcript.with_name(transcript.name.removesuffix(SUFFIX) + ".checkpoints")


class SessionNotFound(LookupError):
    """No session has this id or id prefix."""


class AmbiguousSession(LookupError):
    """An id prefix matches more than one session."""

    def __init__(self, message: str, matches: builtins.list[str]) -> None:
        super().__init__(message)
        self.matches = matches


@dataclass(frozen=True)
class SessionInfo:
    id: str
    path: Path
    mtime: float
    """Seconds since the epoch of the last write: when the session was last active."""
    size: int
    header: dict[str, Any] | None
    """The first record, or None if the first line is missing, torn or not a JSON object."""


def validate_id(session_id: str) -> str:
    """Return `session_id` if it is a safe file name stem, else raise `ValueError`."""
    if not _ID_RE.fullmatch(session_id):
        raise ValueError(f"invalid session id {session_id!r}: use 1-128 letters, digits, '_' or '-'")
    return session_id


def _read_header(path: Path) -> dict[str, Any] | None:
    """Parse only the first line, so listing many large logs stays cheap."""
    try:
        with open(path, "rb") as f:
            line = f.readline(_HEADER_MAX_BYTES + 1)
    except OSError:
        return None
    if not line.endswith(b"\n"):
        return None  # Torn, or longer than any header we would write.
    try:
        value = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


class SessionStore:
    """The directory of session logs. Nothing is created until a log is first written."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else agentls_home() / "sessions"

    def new_id(self, now: datetime | None = None) -> str:
        """A fresh id like `20250102-153045-1a2b3c4d`: UTC time (so it sorts) plus randomness."""
        when = (now or datetime.now(UTC)).astimezone(UTC)
        return f"{when:%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"

    def path_for(self, session_id: str) -> Path:
        """The log path for `session_id`. Raises `ValueError` for ids that are not safe names."""
        return self.root / f"{validate_id(session_id)}{SUFFIX}"

    def _ids(self) -> builtins.list[str]:
        try:
            entries = builtins.list(os.scandir(self.root))
        except (FileNotFoundError, NotADirectoryError):
            return []
        ids: builtins.list[str] = []
        for entry in entries:
            stem = entry.name[: -len(SUFFIX)] if entry.name.endswith(SUFFIX) else ""
            if _ID_RE.fullmatch(stem) and entry.is_file():
                ids.append(stem)
        return ids

    def find(self, id_or_prefix: str) -> Path:
        """The log of the session with this id, or the only one whose id starts with it.

        Raises `SessionNotFound` or `AmbiguousSession` (both `LookupError`s). The text is only
        compared with existing names, so no input can reach outside the sessions directory.
        """
        ids = self._ids()
        if id_or_prefix in ids:
            return self.root / f"{id_or_prefix}{SUFFIX}"
        matches = sorted(i for i in ids if id_or_prefix and i.startswith(id_or_prefix))
        if not matches:
            what = f"matching {id_or_prefix!r}" if id_or_prefix else "id given (it is empty)"
            raise SessionNotFound(
                f"No session {what} in {self.root} ({len(ids)} sessions there). {_LIST_HINT}."
            )
        if len(matches) > 1:
            shown = ", ".join(matches[:10]) + (" ..." if len(matches) > 10 else "")
            raise AmbiguousSession(
                f"Session prefix {id_or_prefix!r} matches {len(matches)} sessions: {shown}. "
                "Give more characters of the id.",
                matches,
            )
        return self.root / f"{matches[0]}{SUFFIX}"

    def list(self) -> builtins.list[SessionInfo]:
        """Every session, most recently active first."""
        infos: builtins.list[SessionInfo] = []
        for session_id in self._ids():
            path = self.root / f"{session_id}{SUFFIX}"
            try:
                st = path.stat()
            except OSError:
                continue  # Deleted while we were listing.
            infos.append(SessionInfo(session_id, path, st.st_mtime, st.st_size, _read_header(path)))
        # Ties (same mtime, e.g. coarse clocks) fall back to the id, which sorts by creation time.
        infos.sort(key=lambda info: (info.mtime, info.id), reverse=True)
        return infos

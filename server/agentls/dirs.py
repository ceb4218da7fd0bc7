"""Where agentls keeps its state on this machine: one rule, used by the store and the workspace."""

from __future__ import annotations

import os
from pathlib import Path


def state_home() -> Path:
    """`$AGENTLS_HOME`, else `$XDG_STATE_HOME/agentls`, else `~/.local/state/agentls`."""
    home = os.environ.get("AGENTLS_HOME")
    if home:
        return Path(home).expanduser()
    state = os.environ.get("XDG_STATE_HOME")
    # The XDG spec says relative values are invalid and must be ignored.
    if state and Path(state).is_absolute():
        return Path(state) / "agentls"
    return Path.home() / ".local" / "state" / "agentls"

"""`agentls sessions`: what has been recorded, newest first."""

from __future__ import annotations

import argparse
from datetime import datetime

from agentls.store.sessions import SessionStore


def sessions_command(args: argparse.Namespace) -> int:
    store = SessionStore()
    infos = store.list()[: args.limit]
    if not infos:
        print(f"no sessions in {store.root}")
        return 0
    for info in infos:
        header = info.header or {}
        when = datetime.fromtimestamp(info.mtime).strftime("%Y-%m-%d %H:%M")
        model = header.get("config", {}).get("model", "?")
        print(f"{info.id}  {when}  {model}  {header.get('cwd', '?')}")
    return 0

"""`agentls memory`: the memory files a session started here would load, their sizes, and what
is wrong with them (a missing import, a cycle, a bad rule)."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from agentls.cli.main import CliError
from agentls.core.memory import SessionMemory
from agentls.core.memory_files import Places
from agentls.policy.loader import SettingsSources
from agentls.workspace.disk import DiskWorkspace


def memory_command(args: argparse.Namespace) -> int:
    folder = Path(args.cwd).expanduser() if args.cwd else Path.cwd()
    if not folder.is_dir():
        raise CliError(f"{args.cwd}: not a directory")
    folder = folder.resolve()
    sources = SettingsSources(project=folder)
    trusted, _ = sources.trusted()
    places = Places(home=sources.home, config=sources.config, trusted=trusted)
    memory = SessionMemory(DiskWorkspace(folder), places)
    asyncio.run(memory.start())
    files = memory.listing()
    if args.json:
        out = {
            "files": [
                {
                    "path": str(f.path),
                    "scope": f.scope,
                    "tokens": f.tokens,
                    "importedBy": str(f.imported_by) if f.imported_by else None,
                }
                for f in files
            ],
            "rulesWithPaths": [{"path": str(r.path), "paths": list(r.globs)} for r in memory.rules],
            "warnings": memory.warnings,
        }
        print(json.dumps(out, indent=2))
        return 0
    if not files:
        print("No memory files (CLAUDE.md, AGENTS.md, .claude/rules/*.md) for this folder.")
    else:
        print(f"Memory files a session here starts with (≈ {sum(f.tokens for f in files):,} tokens):")
        for f in files:
            via = f" · imported by {f.imported_by}" if f.imported_by else ""
            print(f"  {f.tokens:>8,}  {f.path} ({f.scope}{via})")
    if memory.rules:
        print("Rules loaded once a matching file is read or edited:")
        for rule in memory.rules:
            print(f"  {rule.path}: {', '.join(rule.globs)}")
    print(
        "CLAUDE.md and AGENTS.md files in subfolders load when the agent first reads or edits a file there."
    )
    for warning in memory.warnings:
        print(f"warning: {warning}")
    return 0

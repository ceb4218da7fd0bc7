"""Finding the Markdown files of a command or agent directory (`.claude/commands/`, `.claude/agents/`, …).

Listing stats and reads directory entries only; the files themselves are read with
`frontmatter.read_markdown` when a command is loaded. The walk is bounded (depth and count), does
not follow symlinked directories (a link could point anywhere, or loop), and returns paths in a
stable order: by name, a folder's files before its subfolders', so the same tree always yields
the same commands.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MAX_FILES = 500
"""Per directory. A command directory holds a handful of prompts; more is a mistake or a trap."""
MAX_DEPTH = 4
"""Subfolders below the command directory (`frontend/forms/x.md` is depth 2)."""


@dataclass(frozen=True)
class FoundFile:
    path: Path
    folders: tuple[str, ...]
    """The subfolders between the command directory and the file (`("frontend",)`)."""


@dataclass(frozen=True)
class Listing:
    files: tuple[FoundFile, ...]
    truncated: bool = False
    """More than `MAX_FILES` were there; the rest were left out."""


def markdown_files(directory: Path) -> Listing:
    """The `*.md` files under `directory` (none if it does not exist or cannot be read)."""
    found: list[FoundFile] = []
    truncated = False

    def walk(folder: Path, folders: tuple[str, ...]) -> None:
        nonlocal truncated
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            return
        subdirs: list[os.DirEntry[str]] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(entry)
                elif entry.name.endswith(".md") and entry.is_file():
                    if len(found) >= MAX_FILES:
                        truncated = True
                        return
                    found.append(FoundFile(Path(entry.path), folders))
            except OSError:
                continue
        if len(folders) < MAX_DEPTH:
            for sub in subdirs:
                walk(Path(sub.path), (*folders, sub.name))

    if directory.is_dir():
        walk(directory, ())
    return Listing(tuple(found), truncated)

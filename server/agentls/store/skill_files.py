"""Finding skills on disk: the `<name>/SKILL.md` folders of a skills directory, and the other files
of one skill's folder.

As for command files (`command_files.py`), listing stats and reads directory entries only (the
`SKILL.md` files are read with `frontmatter.read_markdown`), every walk is bounded in depth and
count, symlinked directories are not followed (a link could point anywhere, or loop), and paths
come back in a stable order, by name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SKILL_FILE = "SKILL.md"
MAX_SKILLS = 200
"""Per skills directory: a person keeps a few dozen skills; more is a mistake or a trap."""
MAX_RESOURCES = 50
"""Files listed from one skill's folder: the model is told where they are, not handed a tree."""
MAX_RESOURCE_DEPTH = 3
"""Subfolders below the skill's folder (`scripts/lib/x.py` is depth 2)."""


@dataclass(frozen=True)
class SkillFolders:
    folders: tuple[Path, ...]
    """Each holds a `SKILL.md`."""
    truncated: bool = False
    """More than `MAX_SKILLS` were there; the rest were left out."""


@dataclass(frozen=True)
class Resource:
    path: Path
    size: int


@dataclass(frozen=True)
class Resources:
    files: tuple[Resource, ...]
    truncated: bool = False
    """More than `MAX_RESOURCES` were there; the rest were left out."""


def skill_folders(directory: Path) -> SkillFolders:
    """The subfolders of `directory` that hold a `SKILL.md` (none if it does not exist or cannot be
    read). Skills are not nested: only the folders directly under `directory` count."""
    found: list[Path] = []
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return SkillFolders(())
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if not (Path(entry.path) / SKILL_FILE).is_file():
                continue
        except OSError:
            continue
        if len(found) >= MAX_SKILLS:
            return SkillFolders(tuple(found), truncated=True)
        found.append(Path(entry.path))
    return SkillFolders(tuple(found))


def skill_resources(folder: Path) -> Resources:
    """The files of a skill's folder other than its `SKILL.md`, with their sizes: a folder's files
    before its subfolders', by name; hidden files left out."""
    found: list[Resource] = []
    truncated = False

    def walk(current: Path, depth: int) -> None:
        nonlocal truncated
        if truncated:
            return
        try:
            with os.scandir(current) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            return
        subdirs: list[Path] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if depth == 0 and entry.name == SKILL_FILE:
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(Path(entry.path))
                elif entry.is_file():
                    if len(found) >= MAX_RESOURCES:
                        truncated = True
                        return
                    found.append(Resource(Path(entry.path), entry.stat().st_size))
            except OSError:
                continue
        if depth < MAX_RESOURCE_DEPTH:
            for sub in subdirs:
                walk(sub, depth + 1)

    walk(folder, 0)
    return Resources(tuple(found), truncated)

"""Finding and reading memory files: `CLAUDE.md`, `AGENTS.md` and their kin, in Claude Code's
layout, next to agentls' own.

Where they are, in the order they reach the model (later ones take precedence):
- managed: `/etc/claude-code/CLAUDE.md`, `/etc/agentls/AGENTS.md`;
- the user's: `~/.claude/CLAUDE.md`, `~/.config/agentls/AGENTS.md`, and `~/.claude/rules/**/*.md`;
- the project's, in every directory from the repository root down to the working directory:
  `AGENTS.md`, `CLAUDE.md`, `.claude/CLAUDE.md`, `CLAUDE.local.md`; and `.claude/rules/**/*.md`
  of the working directory. A rule with `paths:` globs is loaded only once a file it matches is
  read or edited;
- deeper down (below the working directory), a directory's files are loaded when the agent first
  reads or edits a file in it (`nested_dirs`).

A memory file may import others with `@path` (relative to the file, `~/…`, or absolute), at most
`MAX_IMPORT_HOPS` deep. A missing file, a cycle or a file too deep is reported, never fatal; a
file already loaded is not loaded twice. Imports inside code spans and fenced blocks are text.
A project file (in an untrusted folder) cannot import files outside the project and the user's
own Claude/agentls folders, and no import reaches a file a Read deny rule hides: memory is sent
to the model, and a cloned repository must not be able to send it the user's secrets.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agentls.store.frontmatter import FrontmatterError, split_frontmatter
from agentls.tools.glob import compile_pattern
from agentls.workspace.port import Workspace, WorkspaceError
from agentls.workspace.text import decode, for_display

Scope = Literal["managed", "user", "project", "local", "rule", "nested", "import"]

MANAGED_FILES = (Path("/etc/claude-code/CLAUDE.md"), Path("/etc/agentls/AGENTS.md"))
PROJECT_NAMES = ("AGENTS.md", "CLAUDE.md", ".claude/CLAUDE.md", "CLAUDE.local.md")
"""In each directory, in this order; `CLAUDE.local.md` (the user's own, not committed) last."""
MAX_IMPORT_HOPS = 4
MAX_FILE_CHARS = 40_000
MAX_FILE_BYTES = 4 * 1024 * 1024
"""Larger files are not even read: far beyond the cap, and reading them would stall the turn."""
MAX_RULE_FILES = 200
_MAX_PARENT_LEVELS = 40

_IMPORT = re.compile(r"(?<![\w`])@((?:~/|/|\./|\.\./)?[\w.~/-]*[\w/-])")
_FENCE = re.compile(r"^(```|~~~)")
_CODE_SPAN = re.compile(r"`[^`\n]*`")


@dataclass(frozen=True)
class MemoryFile:
    path: Path
    scope: Scope
    text: str
    """The body (a rule's frontmatter removed), capped at `MAX_FILE_CHARS`."""
    imported_by: Path | None = None


@dataclass(frozen=True)
class Rule:
    """A `.claude/rules` file with `paths:`: loaded once a file it matches is touched."""

    path: Path
    base: Path
    """The directory its globs are relative to (the project root, or home for a user rule)."""
    globs: tuple[str, ...]
    """Relative to `base`, as Glob patterns (`src/**/*.ts`, `*.{ts,tsx}`)."""

    def matches(self, file: Path) -> bool:
        try:
            relative = file.relative_to(self.base).as_posix()
        except ValueError:
            return False
        return any(compile_pattern(glob).match_file(relative) for glob in self.globs)


@dataclass
class Loaded:
    files: list[MemoryFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    """Rules with `paths:` found along the way, not loaded yet."""


@dataclass(frozen=True)
class Places:
    """Where memory files are looked for (tests point these at temporary directories)."""

    home: Path
    config: Path
    """agentls' own config folder (`~/.config/agentls`)."""
    managed: tuple[Path, ...] = MANAGED_FILES
    trusted: bool = False
    hidden: Callable[[Path], bool] | None = None
    """Files a Read deny rule covers: never loaded."""

    def user_folders(self) -> tuple[Path, ...]:
        return (self.home / ".claude", self.config)


class MemoryReader:
    """Reads memory files through the workspace (the editor's view of open files), expanding
    imports; remembers what it has loaded so nothing is loaded twice."""

    def __init__(self, workspace: Workspace, places: Places) -> None:
        self._ws = workspace
        self._places = places
        self.seen: set[Path] = set()

    async def startup(self) -> Loaded:
        """Everything loaded when a session starts (and again after a compaction)."""
        out = Loaded()
        p = self._places
        for path in p.managed:
            await self.load(path, "managed", out)
        await self.load(p.home / ".claude" / "CLAUDE.md", "user", out)
        await self.load(p.config / "AGENTS.md", "user", out)
        await self._rules(p.home / ".claude" / "rules", p.home, "user", out)
        for directory in await self._project_dirs():
            for name in PROJECT_NAMES:
                scope: Scope = "local" if name == "CLAUDE.local.md" else "project"
                await self.load(directory / name, scope, out)
        root = self._ws.root
        await self._rules(root / ".claude" / "rules", root, "rule", out)
        return out

    async def nested(self, file: Path, out: Loaded) -> None:
        """The memory files of the directories between the working directory (exclusive) and
        `file`'s directory (inclusive), not loaded yet."""
        root = self._ws.root
        try:
            parts = file.parent.relative_to(root).parts
        except ValueError:
            return
        directory = root
        for part in parts:
            directory = directory / part
            for name in PROJECT_NAMES:
                await self.load(directory / name, "nested", out)

    async def load(self, path: Path, scope: Scope, out: Loaded, chain: tuple[Path, ...] = ()) -> None:
        """`path` and what it imports, if it exists and is not loaded yet."""
        key = _key(path)
        if key in self.seen:
            return
        text = await self._read(path, out, importer=chain[-1] if chain else None)
        if text is None:
            return
        self.seen.add(key)
        if scope == "rule" and text.startswith("---"):
            try:
                _, text = split_frontmatter(text, str(path))
            except FrontmatterError as err:
                out.warnings.append(str(err))
        out.files.append(MemoryFile(path, scope, text, chain[-1] if chain else None))
        for target in _imports(text, path.parent, self._places.home):
            await self._import(target, (*chain, path), out)

    async def _import(self, target: Path, chain: tuple[Path, ...], out: Loaded) -> None:
        importer = chain[-1]
        if _key(target) in {_key(p) for p in chain}:
            out.warnings.append(f"{importer}: @{target} imports itself (a cycle); skipped")
            return
        if len(chain) > MAX_IMPORT_HOPS:
            out.warnings.append(f"{importer}: @{target} is more than {MAX_IMPORT_HOPS} imports deep; skipped")
            return
        if not self._may_import(chain[0], target):
            out.warnings.append(
                f"{importer}: @{target} is outside the project; a project's memory files may import "
                "files outside it only once the folder is trusted (`agentls trust`)"
            )
            return
        if self._places.hidden is not None and self._places.hidden(target):
            out.warnings.append(f"{importer}: @{target} is hidden by a Read deny rule; skipped")
            return
        await self.load(target, "import", out, chain)

    def _may_import(self, origin: Path, target: Path) -> bool:
        """A project's file (the chain's first) may import only inside the project and the
        user's own folders unless the project is trusted."""
        if self._places.trusted or not _inside(origin, self._ws.root):
            return True
        return any(_inside(target, folder) for folder in (self._ws.root, *self._places.user_folders()))

    async def _read(self, path: Path, out: Loaded, *, importer: Path | None = None) -> str | None:
        """The file's text; None if it is missing (reported if `importer` named it) or cannot be
        read (reported)."""
        try:
            st = await self._ws.stat(path)
            if st is None or st.kind != "file":
                if importer is not None:
                    out.warnings.append(f"{importer}: @{path}: no such file; skipped")
                return None
            if st.size > MAX_FILE_BYTES:
                out.warnings.append(f"{path}: {st.size:,} bytes, too large to include")
                return None
            text = for_display(decode((await self._ws.read(path)).data).text)
        except (WorkspaceError, OSError) as err:
            out.warnings.append(f"{path}: cannot be read ({err}); skipped")
            return None
        if len(text) > MAX_FILE_CHARS:
            cut = len(text) - MAX_FILE_CHARS
            text = text[:MAX_FILE_CHARS] + f"\n[... truncated: {cut:,} more characters of {path.name} ...]"
        return text

    async def _project_dirs(self) -> list[Path]:
        """From the repository root down to the working directory (just the working directory
        outside a repository)."""
        root = self._ws.root
        chain = [root]
        directory = root
        for _ in range(_MAX_PARENT_LEVELS):
            if await self._ws.stat(directory / ".git") is not None:
                return list(reversed(chain))
            if directory.parent == directory or directory == self._places.home:
                break
            directory = directory.parent
            chain.append(directory)
        return [root]

    async def _rules(self, folder: Path, base: Path, scope: Scope, out: Loaded) -> None:
        files = await asyncio.to_thread(_rule_files, folder)
        if len(files) > MAX_RULE_FILES:
            out.warnings.append(
                f"{folder}: {len(files)} rule files; only the first {MAX_RULE_FILES} are read"
            )
        for path in files[:MAX_RULE_FILES]:
            text = await self._read(path, out)
            if text is None:
                continue
            try:
                meta, _ = split_frontmatter(text, str(path))
            except FrontmatterError as err:
                out.warnings.append(f"{err}; the rule was skipped")
                continue
            globs = _globs(meta.get("paths"))
            if meta.get("paths") is not None and not globs:
                out.warnings.append(
                    f"{path}: `paths` must be a glob or a list of globs; the rule was skipped"
                )
                continue
            if globs:
                out.rules.append(Rule(path, base, tuple(globs)))
            else:
                await self.load(path, "rule", out)


def _globs(value: object) -> list[str]:
    """A rule's `paths:`: a glob, a comma-separated string of globs or a list (commas inside
    `{a,b}` do not separate globs)."""
    if isinstance(value, str):
        items = _split_outside_braces(value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = list(value)
    else:
        return []
    return [item.strip() for item in items if item.strip()]


def _split_outside_braces(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch == "{") - (ch == "}")
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def _rule_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        found += [Path(dirpath) / f for f in sorted(filenames) if f.endswith(".md")]
    return found


def _imports(text: str, base: Path, home: Path) -> list[Path]:
    """The `@path` imports of a memory file, outside code spans and fenced code blocks."""
    targets: list[Path] = []
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if fenced:
            continue
        for match in _IMPORT.finditer(_CODE_SPAN.sub("", line)):
            raw = match.group(1)
            if "/" not in raw and "." not in raw:
                continue  # `@someone` is a mention, not a file.
            path = home / raw[2:] if raw.startswith("~/") else Path(raw)
            targets.append(Path(os.path.normpath(path if path.is_absolute() else base / path)))
    return targets


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _key(path: Path) -> Path:
    """One key per file, however it is named (symlinks, `..`)."""
    try:
        return path.resolve()
    except OSError:
        return path


def render(files: Sequence[MemoryFile]) -> str:
    """Memory files as the model reads them."""
    blocks = []
    for f in files:
        source = f' imported_by="{f.imported_by}"' if f.imported_by else ""
        blocks.append(
            f'<memory_file path="{f.path}" scope="{f.scope}"{source}>\n{f.text.rstrip()}\n</memory_file>'
        )
    if not blocks:
        return ""
    return (
        "<memory>\nInstructions from the user's memory files (CLAUDE.md, AGENTS.md, rules). Follow "
        "them for work in this project unless the user says otherwise; later files take "
        "precedence over earlier ones.\n\n" + "\n\n".join(blocks) + "\n</memory>"
    )

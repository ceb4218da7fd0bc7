"""Path facts the permission engine relies on: canonical form, containment, hard links, protected paths.

Why (bypass classes from `research/security.md` §2):
- Containment is decided by path *components* for the path as written and for its symlink-resolved
  target: `/srv/proj_evil` is not inside `/srv/proj` (CVE-2025-54794, EscapeRoute CVE-2025-53110), and a
  link inside the workspace that points out of it is outside (CVE-2026-25724, CVE-2025-53109).
- A hard link cannot be told from the original: writing `ws/x` where `x` shares an inode with
  `~/.bashrc` edits `~/.bashrc`. Linux cannot list a file's other names cheaply, so a file with more
  than one link counts as escaping unless a bounded scan of the roots finds every link.
- Protected names are compared case-insensitively, after Unicode normalisation and with the characters
  HFS+ ignores and the trailing dots/spaces Windows ignores removed: `.cUrSoR/mcp.json` passed Cursor's
  case-sensitive check on a case-insensitive file system (CVE-2025-59944), and `.git` spelled with an
  ignorable code point was git's own CVE-2014-9390. These are files some *other* program executes or
  trusts (git hooks, IDE settings, shell rc files, MCP config): bypass class (c).
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from agentls.workspace.pinned import real_path

PROTECTED_DIRS = {
    ".git": "`.git/` holds hooks and config that git runs",
    ".vscode": "`.vscode/` holds tasks and settings the editor acts on",
    ".idea": "`.idea/` holds run configurations the IDE acts on",
    ".agentls": "`.agentls/` holds this agent's own settings and rules",
    ".claude": "`.claude/` holds Claude Code's settings and hooks",
    ".husky": "`.husky/` holds git hooks",
    ".cargo": "`.cargo/` holds cargo config that can run programs",
}
PROTECTED_FILES = {
    ".mcp.json": "`.mcp.json` starts MCP server programs",
    ".envrc": "`.envrc` is run by direnv on `cd`",
    ".gitconfig": "`.gitconfig` can make git run programs",
    ".gitmodules": "`.gitmodules` makes git fetch and check out other repositories",
    ".npmrc": "`.npmrc` can make npm run programs",
    ".ripgreprc": "`.ripgreprc` can make ripgrep run preprocessors",
    ".claude.json": "`.claude.json` holds Claude Code's MCP servers",
}
for _rc in (".bashrc", ".bash_profile", ".zshrc", ".zprofile", ".profile", ".bash_login", ".zshenv"):
    PROTECTED_FILES[_rc] = f"`{_rc}` is run by every new shell"

# Code points HFS+ ignores in names (git CVE-2014-9390: `.g\u200cit` is `.git` there).
_IGNORABLE = dict.fromkeys(
    [*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF], None
)


def canonical(path: str | Path, cwd: Path, *, home: Path | None = None) -> Path:
    """Absolute, `~` expanded, `.`/`..` and repeated slashes folded lexically (no file system access).

    Lexical `..` can disagree with the OS when a component is a symlink; `inside` checks the real
    path as well for that reason.
    """
    text = os.fspath(path)
    if text == "~" or text.startswith("~/"):
        text = os.fspath(home or Path.home()) + text[1:]
    joined = Path(cwd, text)  # An absolute `text` replaces `cwd`.
    return Path(os.path.normpath(joined))


def inside(path: Path, roots: Iterable[Path]) -> bool:
    """True if `path` as written and its symlink-resolved target both lie under one of `roots`.

    Each root counts as written and as resolved (a workspace opened through a symlink). The path
    and its target may lie under different roots (a link from the workspace into an added directory).
    """
    written: list[Path] = []
    real_roots: list[Path] = []
    for root in roots:
        resolved = real_path(root)
        written += [Path(os.path.normpath(root)), resolved]
        real_roots.append(resolved)
    lexical = Path(os.path.normpath(path))
    target = real_path(lexical)
    # `is_relative_to` compares components: /srv/proj_evil is not relative to /srv/proj.
    return any(lexical.is_relative_to(r) for r in written) and any(
        target.is_relative_to(r) for r in real_roots
    )


def hardlink_escape(path: Path, roots: Iterable[Path], *, scan_limit: int = 20_000) -> bool:
    """True if writing `path` could change a file outside `roots` through another hard link.

    A missing file, a directory or a file with one link is fine. For `st_nlink > 1` the roots are
    walked (symlinks not followed) for up to `scan_limit` entries looking for the same inode; only
    when every link is found inside is it fine. Otherwise it counts as escaping — including
    package-manager stores (pnpm hard-links `node_modules` files to a global store, which is exactly
    the case to refuse) and git's object store (read-only, protected anyway). Linux has no cheap way
    to list a file's names, so "cannot prove" means "escapes".
    """
    try:
        st = path.stat()
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_nlink <= 1:
        return False
    found: set[Path] = set()  # Names, so nested roots cannot count one link twice.
    seen = 0
    for root in dict.fromkeys(real_path(r) for r in roots):
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                seen += 1
                if seen > scan_limit:
                    return True
                candidate = Path(dirpath) / name
                try:
                    other = candidate.lstat()
                except OSError:
                    continue
                if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
                    found.add(candidate)
                    if len(found) >= st.st_nlink:
                        return False
    return True


def fold(name: str) -> str:
    """A path component as case-insensitive, normalising file systems compare it."""
    name = unicodedata.normalize("NFC", name).translate(_IGNORABLE).casefold()
    stripped = name.rstrip(". ")
    return stripped if stripped else name


def protected(path: Path, root: Path, home: Path) -> str | None:
    """Why `path` is a protected path, or None. Checked for the path as written and its target.

    Components are taken relative to `root` (or `home`, or `/`), so a workspace that itself lies
    below a directory such as `~/.claude/projects/` is not protected as a whole.
    """
    lexical = Path(os.path.normpath(path))
    for candidate in dict.fromkeys((lexical, real_path(lexical))):
        if reason := _protected_parts(_relative_parts(candidate, root, home)):
            return reason
    return None


def _relative_parts(path: Path, root: Path, home: Path) -> tuple[str, ...]:
    for base in (root, real_path(root), home, real_path(home)):
        if path.is_relative_to(base):
            return path.relative_to(base).parts
    return path.parts[1:]


def _protected_parts(parts: tuple[str, ...]) -> str | None:
    folded = [fold(p) for p in parts]
    for part in folded[:-1]:
        if part in PROTECTED_DIRS:
            return PROTECTED_DIRS[part]
    if folded:
        last = folded[-1]
        return PROTECTED_DIRS.get(last) or PROTECTED_FILES.get(last)
    return None

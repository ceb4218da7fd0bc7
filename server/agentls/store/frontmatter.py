"""Markdown files with YAML frontmatter, as Claude Code writes agents, commands and skills.

    ---
    name: reviewer
    description: Reviews code
    tools: Read, Grep
    ---
    You are a careful reviewer...

`read_markdown` returns the frontmatter as a mapping and the body; a file that cannot be read or
whose frontmatter is not a YAML mapping raises `FrontmatterError` with a message for people (the
callers skip such a file with a warning). YAML is parsed with the safe loader only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_BYTES = 256 * 1024
"""Larger files are refused: an agent or command definition is a page, not a book."""


class FrontmatterError(Exception):
    pass


@dataclass(frozen=True)
class MarkdownFile:
    path: Path
    meta: dict[str, Any]
    body: str


def read_markdown(path: Path) -> MarkdownFile:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FrontmatterError(f"{path}: cannot be read ({e.strerror or e})") from e
    if len(data) > MAX_BYTES:
        raise FrontmatterError(f"{path}: larger than {MAX_BYTES // 1024} KB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FrontmatterError(f"{path}: not UTF-8 ({e})") from e
    meta, body = split_frontmatter(text, str(path))
    return MarkdownFile(path, meta, body)


def split_frontmatter(text: str, where: str) -> tuple[dict[str, Any], str]:
    """(frontmatter, body); no frontmatter gives an empty mapping and the whole text."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return {}, text
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            raw = "".join(lines[1:i])
            body = "".join(lines[i + 1 :])
            break
    else:
        raise FrontmatterError(f"{where}: the frontmatter has no closing `---`")
    import yaml  # Here, not at the top: a session without such files never pays for it (issue 15).

    try:
        meta = yaml.safe_load(raw) if raw.strip() else {}
    except yaml.YAMLError as e:
        raise FrontmatterError(f"{where}: the frontmatter is not valid YAML ({_one_line(e)})") from e
    if not isinstance(meta, dict):
        raise FrontmatterError(f"{where}: the frontmatter must be a mapping of keys to values")
    return {str(k): v for k, v in meta.items()}, body.lstrip("\n")


def string_list(value: Any) -> list[str] | None:
    """A list of names written as YAML list or as a comma-separated string (`Read, Grep`)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise ValueError(f"expected a list of names or a comma-separated string, got {value!r}")


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())

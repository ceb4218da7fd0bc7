"""Display helpers shared by the file tools: unified diffs and short path labels.

The diffs are for people (permission prompts, the editor's edit log) and for the model's
confirmation messages; they are never applied as patches, so they favour readability and a
bounded size over round-tripping every byte.
"""

from __future__ import annotations

import difflib

from agentls.workspace.text import for_display

MAX_DIFF_CHARS = 20_000


def unified_diff(path_label: str, before: str, after: str, context: int = 3) -> str:
    """A unified diff of `before` -> `after`, or "" when they are equal.

    Capped at about `MAX_DIFF_CHARS` characters with a marker saying how much was left out.
    Undecodable bytes (surrogates) are shown as U+FFFD so the result is always valid UTF-8.
    """
    if before == after:
        return ""
    lines = difflib.unified_diff(
        _split(for_display(before)),
        _split(for_display(after)),
        fromfile=f"a/{path_label}",
        tofile=f"b/{path_label}",
        n=context,
    )
    out: list[str] = []
    size = 0
    rest = list(lines)
    for i, line in enumerate(rest):
        if not line.endswith("\n"):
            # Last line of a side without a final newline: say so, as git does.
            line += "\n\\ No newline at end of file\n"
        if size + len(line) > MAX_DIFF_CHARS and out:
            out.append(f"… diff truncated: {len(rest) - i} more diff lines not shown …\n")
            break
        out.append(line)
        size += len(line)
    return "".join(out)


def _split(text: str) -> list[str]:
    # Split on "\n" only: str.splitlines also breaks on form feeds, U+2028 and other characters
    # that editors and Read treat as part of a line, which would misnumber the hunks.
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines

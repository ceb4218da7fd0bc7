"""Watching a few known files (settings) with watchfiles, non-recursively, for an eager reload.

Only directories that exist when the watch starts are watched; the permission engine also checks
the files' stat before every decision, so a file in a directory created later is still picked up,
just not announced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path


def preload() -> None:
    """Import watchfiles now (a server's warm-up thread), not in the first session's first turn."""
    import watchfiles  # noqa: F401


async def watch_files(
    files: Sequence[Path], on_change: Callable[[], None], *, debounce_ms: int = 200
) -> None:
    """Call `on_change` after any of `files` is created, changed or removed; runs until cancelled."""
    from watchfiles import awatch  # Imported lazily: the language server's start-up stays fast.

    wanted = {str(f) for f in files}
    dirs = sorted({str(f.parent) for f in files if f.parent.is_dir()})
    if not dirs:
        return
    async for _changes in awatch(
        *dirs, watch_filter=lambda _change, path: path in wanted, recursive=False, debounce=debounce_ms
    ):
        on_change()

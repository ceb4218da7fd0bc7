"""A session's memory files (`memory_files.py` finds and reads them): what the system prompt
carries, and what reaches the model later, as the agent goes deeper into the project.

- At the start, and again after a compaction summarised the conversation, the managed, user and
  project files (and the rules without `paths:`) are read from disk; they go in the system
  prompt's dynamic part, after the cache boundary.
- When the agent reads or edits a file, the memory files of the directories it went into and the
  rules whose `paths:` match that file are read, once; their text goes to the model with the
  next request, next to the tool's result (the system prompt, and so the prompt cache, stays as
  it was).
- What was loaded, with its size in tokens, is listed by `/context`, `agentls memory` and the
  black box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agentls.core.context.tokens import text_tokens
from agentls.core.memory_files import Loaded, MemoryFile, MemoryReader, Places, Rule, render
from agentls.workspace.port import Workspace


@dataclass(frozen=True)
class Listed:
    path: Path
    scope: str
    tokens: int
    imported_by: Path | None
    at_start: bool
    """In the system prompt (else loaded later in the session)."""


class SessionMemory:
    def __init__(self, workspace: Workspace, places: Places) -> None:
        self._workspace = workspace
        self._places = places
        self._reader = MemoryReader(workspace, places)
        self.files: list[MemoryFile] = []
        """Read at the start (or the last compaction): the system prompt's part."""
        self.later: list[MemoryFile] = []
        """Loaded since, as the agent touched files."""
        self.rules: list[Rule] = []
        """Rules with `paths:` not loaded yet."""
        self.warnings: list[str] = []

    async def start(self) -> None:
        """(Re)read everything that belongs in the system prompt; forget what was loaded later
        (after a compaction it is loaded again when the agent next goes there)."""
        self._reader = MemoryReader(self._workspace, self._places)
        loaded = await self._reader.startup()
        self.files, self.later, self.rules = loaded.files, [], loaded.rules
        self.warnings = loaded.warnings

    def system_text(self) -> str:
        return render(self.files)

    async def touched(self, paths: Sequence[Path]) -> tuple[str | None, list[str]]:
        """The agent read or edited `paths`: the memory they bring in, as text for the model
        (None if nothing new), and warnings about it."""
        out = Loaded()
        for path in paths:
            await self._reader.nested(path, out)
            for rule in [r for r in self.rules if r.matches(path)]:
                self.rules.remove(rule)
                await self._reader.load(rule.path, "rule", out)
        self.later += out.files
        self.warnings += out.warnings
        if not out.files:
            return None, out.warnings
        return render(out.files), out.warnings

    def listing(self) -> list[Listed]:
        return [
            Listed(f.path, f.scope, text_tokens(f.text), f.imported_by, at_start=f in self.files)
            for f in (*self.files, *self.later)
        ]

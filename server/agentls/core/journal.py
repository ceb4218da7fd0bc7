"""Where a session's records go: the JSONL transcript, or memory for tests and throwaway sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from agentls.store.jsonl import JsonlWriter


class Journal(Protocol):
    def write(self, record: BaseModel, *, sync: bool = False) -> None:
        """Append a record; `sync=True` makes it durable before returning (before a side effect)."""
        ...

    def close(self) -> None: ...


class MemoryJournal:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, record: BaseModel, *, sync: bool = False) -> None:
        self.records.append(record.model_dump(mode="json"))

    def close(self) -> None:
        pass


class FileJournal:
    """Appends to the session's JSONL file; one complete line per record, never rewritten."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = JsonlWriter.open(path)

    def write(self, record: BaseModel, *, sync: bool = False) -> None:
        self._writer.append(record.model_dump(mode="json"))
        if sync:
            self._writer.sync()

    def close(self) -> None:
        self._writer.sync()
        self._writer.close()

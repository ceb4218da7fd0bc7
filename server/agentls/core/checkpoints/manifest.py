"""The manifest of a checkpoint: how the workspace stood, as one JSON document in the content
store (so an unchanged workspace costs no new bytes). It is what a session resumed after a
crash compares the workspace with, to find changes a command made that were never recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agentls.workspace.tree_scan import TreeState


@dataclass(frozen=True)
class Manifest:
    mode: str
    files: dict[str, str] = field(default_factory=dict)
    """git: the files that differed from the index; otherwise every file. Content ids."""
    index: dict[str, str] = field(default_factory=dict)
    """git: every tracked file's index blob id."""
    truncated: bool = False

    def content(self, path: str) -> str | None:
        """The content id `path` had; None when the manifest does not know (not scanned)."""
        if path in self.files:
            return self.files[path]
        if path in self.index:
            return self.index[path]
        return "" if self.mode == "git" or not self.truncated else None


def encode_manifest(state: TreeState, contents: dict[str, str]) -> bytes:
    document = {
        "mode": state.mode,
        "files": {path: contents.get(path, "-") for path in sorted(state.files)},
        "index": dict(sorted(state.index.items())),
        "truncated": state.truncated,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def decode_manifest(data: bytes) -> Manifest:
    """Raises `ValueError` for a document that is not a manifest."""
    value: Any = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("a manifest is a JSON object")
    files, index = value.get("files"), value.get("index")
    if not isinstance(files, dict) or not isinstance(index, dict):
        raise ValueError("a manifest has `files` and `index` objects")
    return Manifest(
        str(value.get("mode", "")),
        {str(k): str(v) for k, v in files.items()},
        {str(k): str(v) for k, v in index.items()},
        bool(value.get("truncated", False)),
    )

"""The model-facing input schemas of the built-in tools, computed once per installation (issue 15).

Pydantic builds a JSON schema anew on every `model_json_schema` call (a few milliseconds for the
built-in tools together), and every session start, subagent and `agentls run` needs them all. They
depend only on the code, so they are kept in memory for the process and in a file for the next
process: `$AGENTLS_HOME/cache/tool-schemas-<installation>.json`.

The file is trusted only while it is fresh: it records the agentls and pydantic versions and the
size and modification time of every module in `agentls/tools/` (where every built-in tool's input
model and the models they nest are defined); any difference, an unreadable or malformed file, or a
model defined elsewhere means the schema is computed as before (and the file rewritten). Writing
is best effort: a cache that cannot be written changes nothing but the time.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.version import VERSION as PYDANTIC_VERSION

from agentls import __version__
from agentls.store.sessions import agentls_home
from agentls.tools.schema import model_facing_schema

log = logging.getLogger(__name__)

TOOLS_DIR = Path(__file__).parent
_PACKAGE = "agentls.tools."


class _Cache:
    def __init__(self, path: Path, key: dict[str, Any]) -> None:
        self.path = path
        self.key = key
        self.schemas: dict[str, dict[str, Any]] = {}
        self.loaded = False

    def load(self) -> None:
        self.loaded = True
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # None yet, or unreadable: computed and written again.
        if isinstance(data, dict) and data.get("key") == self.key and isinstance(data.get("schemas"), dict):
            self.schemas = {k: v for k, v in data["schemas"].items() if isinstance(v, dict)}

    def save(self) -> None:
        """Temp file and rename, no fsync: a reader sees a whole file or none, and a file a crash
        cut short is malformed, so ignored."""
        text = json.dumps({"key": self.key, "schemas": self.schemas}, sort_keys=True)
        tmp: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
            Path(tmp).replace(self.path)
        except OSError as err:
            log.debug("could not write the tool schema cache %s: %s", self.path, err)
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)


_cache: _Cache | None = None


def _fingerprint() -> dict[str, Any]:
    files = sorted(TOOLS_DIR.glob("*.py"))
    stats = []
    for file in files:
        try:
            st = file.stat()
        except OSError:
            continue
        stats.append([file.name, st.st_size, st.st_mtime_ns])
    return {"agentls": __version__, "pydantic": PYDANTIC_VERSION, "files": stats}


def _the_cache() -> _Cache:
    global _cache
    if _cache is None:
        installation = hashlib.sha256(str(TOOLS_DIR.resolve()).encode()).hexdigest()[:12]
        _cache = _Cache(agentls_home() / "cache" / f"tool-schemas-{installation}.json", _fingerprint())
    return _cache


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s model-facing schema (a copy the caller may keep or change)."""
    if not model.__module__.startswith(_PACKAGE):
        return model_facing_schema(model.model_json_schema(by_alias=True))
    cache = _the_cache()
    if not cache.loaded:
        cache.load()
    name = f"{model.__module__}:{model.__qualname__}"
    schema = cache.schemas.get(name)
    if schema is None:
        schema = model_facing_schema(model.model_json_schema(by_alias=True))
        cache.schemas[name] = schema
        cache.save()
    return copy.deepcopy(schema)


def forget() -> None:
    """Drop what this process holds (tests; a long-lived process never needs to)."""
    global _cache
    _cache = None


__all__ = ["forget", "input_schema"]

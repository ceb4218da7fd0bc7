"""The built-in tools' input schemas, cached per installation (tools/schema_cache.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentls.tools import schema_cache
from agentls.tools.read import ReadInput
from agentls.tools.registry import builtin_tools
from agentls.tools.schema import model_facing_schema


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    schema_cache.forget()
    yield
    schema_cache.forget()


def cache_file() -> Path:
    found = sorted(_cache_dir().glob("tool-schemas-*.json"))
    assert len(found) == 1, found
    return found[0]


def _cache_dir() -> Path:
    from agentls.store.sessions import agentls_home

    return agentls_home() / "cache"


def refuse_to_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("computed instead of read from the cache")

    monkeypatch.setattr(ReadInput, "model_json_schema", classmethod(boom))


def test_every_builtin_schema_is_what_pydantic_says_and_is_kept_for_the_next_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for tool in builtin_tools():
        expected = model_facing_schema(tool.input_model.model_json_schema(by_alias=True))
        assert tool.input_schema() == expected, tool.name
    written = json.loads(cache_file().read_text())
    assert f"{ReadInput.__module__}:{ReadInput.__qualname__}" in written["schemas"]
    expected_read = schema_cache.input_schema(ReadInput)
    schema_cache.forget()  # As a new process.
    refuse_to_compute(monkeypatch)
    assert schema_cache.input_schema(ReadInput) == expected_read


def test_a_copy_is_returned() -> None:
    first = schema_cache.input_schema(ReadInput)
    first["properties"].clear()
    assert schema_cache.input_schema(ReadInput)["properties"]


def test_a_stale_or_broken_cache_is_recomputed(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = schema_cache.input_schema(ReadInput)
    path = cache_file()
    data = json.loads(path.read_text())
    data["schemas"][f"{ReadInput.__module__}:{ReadInput.__qualname__}"] = {"type": "wrong"}
    data["key"]["agentls"] = "0.0.0-other"  # Another version wrote it.
    path.write_text(json.dumps(data))
    schema_cache.forget()
    assert schema_cache.input_schema(ReadInput) == expected
    path.write_text("{ not json")
    schema_cache.forget()
    assert schema_cache.input_schema(ReadInput) == expected
    assert json.loads(path.read_text())["key"] == schema_cache._fingerprint()  # Rewritten.


def test_a_changed_tool_module_makes_the_cache_stale(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tools_copy = tmp_path / "tools"
    tools_copy.mkdir()
    for file in schema_cache.TOOLS_DIR.glob("*.py"):
        (tools_copy / file.name).write_bytes(file.read_bytes())
    monkeypatch.setattr(schema_cache, "TOOLS_DIR", tools_copy)
    key = schema_cache._fingerprint()
    assert any(name == "read.py" for name, _size, _mtime in key["files"])
    with (tools_copy / "read.py").open("a") as file:
        file.write("# an edit\n")
    assert schema_cache._fingerprint() != key


def test_an_unwritable_cache_changes_nothing_but_the_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "home"
    blocked.mkdir()
    (blocked / "cache").write_text("a file where the folder should be")
    monkeypatch.setenv("AGENTLS_HOME", str(blocked))
    expected = model_facing_schema(ReadInput.model_json_schema(by_alias=True))
    assert schema_cache.input_schema(ReadInput) == expected

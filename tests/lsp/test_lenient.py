"""`lenient.relax`: what lsprotocol cannot read in `initialize` params is dropped, nothing else.

Every enum in `ClientCapabilities` is found by walking lsprotocol's own types, so an enum added by
a future lsprotocol is covered without touching this test.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import pytest
from lsprotocol import types as T
from pygls.protocol import default_converter
from pytest_lsp import client_capabilities

from agentls.lsp import fast_start
from agentls.lsp.initialize_snapshot import server_initialize_result
from agentls.lsp.lenient import json_name, relax
from tests.lsp.test_wire_robustness import UNKNOWN_ENUMS

CONVERTER = default_converter()


def enum_positions(cls: type[Any], path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any, bool]]:
    """(camelCase path, enum class, is a list) of every enum in `cls`'s fields, recursively."""
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        yield from _positions(hints[field.name], (*path, json_name(field.name)), listed=False)


def _positions(
    tp: Any, path: tuple[str, ...], *, listed: bool
) -> Iterator[tuple[tuple[str, ...], Any, bool]]:
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        for arg in typing.get_args(tp):
            yield from _positions(arg, path, listed=listed)
    elif origin in (list, Sequence, tuple):
        yield from _positions(typing.get_args(tp)[0], path, listed=True)
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        yield path, tp, listed
    elif isinstance(tp, type) and attrs.has(tp) and len(path) < 8:
        yield from enum_positions(tp, path)


POSITIONS = sorted({(p, e, listed) for p, e, listed in enum_positions(T.ClientCapabilities)}, key=str)


def vscode_with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """VS Code's capabilities (so required siblings are there) with `value` at `path`."""
    out: dict[str, Any] = CONVERTER.unstructure(  # type: ignore[no-untyped-call]
        client_capabilities("visual-studio-code"), T.ClientCapabilities
    )
    node = out
    for step in path[:-1]:
        node = node.setdefault(step, {})
    node[path[-1]] = value
    return out


def unknown_value(cls: type[enum.Enum]) -> Any:
    sample = next(iter(cls)).value
    return 987654 if isinstance(sample, int) else "x-unknown-kind"


def test_the_walk_finds_the_enums_clients_extend() -> None:
    found = {".".join(path) for path, _, _ in POSITIONS}
    assert "textDocument.completion.completionItemKind.valueSet" in found
    assert "textDocument.hover.contentFormat" in found
    assert "textDocument.publishDiagnostics.tagSupport.valueSet" in found


@pytest.mark.parametrize(
    ("path", "cls", "listed"), POSITIONS, ids=lambda p: ".".join(p) if isinstance(p, tuple) else ""
)
def test_an_unknown_enum_value_is_dropped_and_the_rest_kept(
    path: tuple[str, ...], cls: type[enum.Enum], listed: bool
) -> None:
    known = next(iter(cls)).value
    value = [known, unknown_value(cls)] if listed else unknown_value(cls)
    capabilities = vscode_with(path, value)
    relaxed, dropped = relax(capabilities, T.ClientCapabilities, CONVERTER)
    CONVERTER.structure(relaxed, T.ClientCapabilities)  # Does not raise.
    node: Any = relaxed
    for step in path[:-1]:
        node = node[step]
    if relaxed is capabilities:
        # lsprotocol already accepts values outside this enum (its "custom values" hooks).
        assert not dropped
    elif listed:
        assert node[path[-1]] == [known]
        assert dropped == [f"{'.'.join(path)}[1] = {unknown_value(cls)!r}"]
    else:
        assert path[-1] not in node
    assert capabilities == vscode_with(path, value), "the input must not change"


def test_what_already_fits_is_returned_as_is() -> None:
    capabilities: dict[str, Any] = {"textDocument": {"hover": {"contentFormat": ["markdown"]}}}
    assert relax(capabilities, T.ClientCapabilities, CONVERTER) == (capabilities, [])


def test_optional_fields_of_the_wrong_type_are_dropped() -> None:
    params = {
        "processId": "not a number",
        "rootUri": None,
        "trace": "loud",
        "workspaceFolders": [{"uri": "file:///a", "name": "a"}, {"uri": 5}],
        "capabilities": {"window": {"showDocument": {"support": "yes please"}}},
    }
    relaxed, dropped = relax(params, T.InitializeParams, CONVERTER)
    structured = CONVERTER.structure(relaxed, T.InitializeParams)
    assert structured.process_id is None and structured.trace is None
    assert [f.uri for f in structured.workspace_folders or []] == ["file:///a"]
    assert "processId = 'not a number'" in dropped


def test_what_cannot_be_fixed_is_left_for_the_error() -> None:
    params = {"processId": None, "capabilities": 5}
    relaxed, _ = relax(params, T.InitializeParams, CONVERTER)
    with pytest.raises(Exception):  # noqa: B017  # cattrs' error group; the server answers -32602.
        CONVERTER.structure(relaxed, T.InitializeParams)


def test_the_fast_start_and_the_server_agree_on_unknown_enums() -> None:
    # pygls issue #438: the server used to never answer this initialize.
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"processId": None, "rootUri": None, "capabilities": UNKNOWN_ENUMS},
    }
    snapshot = fast_start.load_snapshot()
    assert snapshot is not None
    assert fast_start.answer(message, snapshot) == server_initialize_result(UNKNOWN_ENUMS)

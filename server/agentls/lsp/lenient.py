"""Drop what lsprotocol cannot read from `initialize` params, instead of refusing the whole message.

Clients announce more than the specification lists: Visual Studio offers completion item kinds
118115 and up and diagnostic tags of its own (pygls issue #438), and any client may list a markup
kind or a symbol kind from a newer version of the protocol. lsprotocol refuses the whole
`InitializeParams` over one such value; pygls then never answers `initialize` (and behind
`fast_start`, which already answered, the server would stay uninitialised). A capability the server
cannot read is one the client does not have, as far as this server is concerned, so `relax` removes
exactly the values that fail: an unknown item of a list, an optional field that does not fit its
type (and the object holding a required one that does not). Used once, by
`AgentProtocol.receive`, for both the fast start and the plain path.

The walk follows the attrs classes' own type hints; the converter decides what fits, so nothing
here knows any particular enum or field.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Any

import attrs
import cattrs

_DROP: Any = object()


def relax(value: Any, cls: type[Any], converter: cattrs.Converter) -> tuple[Any, list[str]]:
    """`value` with everything removed that keeps `converter` from structuring it as `cls`, and the
    paths of what was removed (camelCase, `[i]` for list items). `value` itself is not changed;
    when nothing needs removing it is returned as is."""
    walker = _Relaxer(converter)
    relaxed = walker.relax(value, cls, "")
    return (value if relaxed is _DROP else relaxed), walker.dropped


class _Relaxer:
    def __init__(self, converter: cattrs.Converter) -> None:
        self._converter = converter
        self.dropped: list[str] = []

    def _fits(self, value: Any, tp: Any) -> bool:
        try:
            self._converter.structure(value, tp)
        except Exception:
            return False
        return True

    def relax(self, value: Any, tp: Any, path: str) -> Any:
        if self._fits(value, tp):
            return value
        origin = typing.get_origin(tp)
        if origin is typing.Union or origin is types.UnionType:
            return self._union(value, tp, path)
        if origin in (list, Sequence, tuple) and isinstance(value, list):
            (item_type, *_) = typing.get_args(tp) or (Any,)
            items = [self.relax(item, item_type, f"{path}[{i}]") for i, item in enumerate(value)]
            return self._checked([item for item in items if item is not _DROP], tp, path)
        if isinstance(tp, type) and attrs.has(tp) and isinstance(value, dict):
            return self._object(value, tp, path)
        self.dropped.append(f"{path or '$'} = {_short(value)}")
        return _DROP

    def _union(self, value: Any, tp: Any, path: str) -> Any:
        choices = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if isinstance(value, dict):
            choices = [c for c in choices if isinstance(c, type) and attrs.has(c)]
        elif isinstance(value, list):
            choices = [c for c in choices if typing.get_origin(c) in (list, Sequence, tuple)]
        if len(choices) != 1:  # Ambiguous: which one the client meant is anyone's guess.
            self.dropped.append(f"{path or '$'} = {_short(value)}")
            return _DROP
        return self._checked(self.relax(value, choices[0], path), tp, path)

    def _object(self, value: dict[str, Any], cls: type[Any], path: str) -> Any:
        out = dict(value)
        hints = _hints(cls)
        for field in attrs.fields(cls):
            key = json_name(field.name)
            if key not in out:
                continue
            relaxed = self.relax(out[key], hints[field.name], f"{path}.{key}" if path else key)
            if relaxed is not _DROP:
                out[key] = relaxed
            elif field.default is not attrs.NOTHING:
                del out[key]
            else:
                return _DROP
        return self._checked(out, cls, path)

    def _checked(self, value: Any, tp: Any, path: str) -> Any:
        if value is _DROP or self._fits(value, tp):
            return value
        self.dropped.append(f"{path or '$'} = {_short(value)}")
        return _DROP


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def json_name(name: str) -> str:
    """lsprotocol's field name on the wire (`_to_camel_case` in `lsprotocol/_hooks.py`)."""
    first, *rest = name.removesuffix("_").split("_")
    return first + "".join(part.title() for part in rest)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"

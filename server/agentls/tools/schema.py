"""Model-facing JSON schemas in the shape Claude Code sends: plain types, no titles, no `$ref`.

Pydantic writes an optional field as `anyOf: [T, null]` with `default: null` and puts nested
models under `$defs`. The model is trained on the simpler shape (an optional field is just absent
from `required`), and it costs tokens on every request, so we flatten it here.
"""

from __future__ import annotations

from typing import Any


def model_facing_schema(schema: dict[str, Any]) -> dict[str, Any]:
    defs = schema.get("$defs", {})
    out = _clean(schema, defs)
    out.pop("$defs", None)
    assert isinstance(out, dict)
    return out


def _clean(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_clean(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        merged = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
        return _clean(merged, defs)
    node = dict(node)
    options = node.get("anyOf")
    if isinstance(options, list):
        concrete = [o for o in options if o != {"type": "null"}]
        if len(concrete) == 1 and len(options) == 2:
            node.pop("anyOf")
            node = {**concrete[0], **node}
            if node.get("default", 0) is None:
                node.pop("default")
    node.pop("title", None)
    return {
        k: (_clean(v, defs) if k != "properties" else _clean_props(v, defs))
        for k, v in node.items()
        if k != "$defs"
    }


def _clean_props(props: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    # Property *names* may be "title"; only drop the `title` keyword inside each schema.
    return {name: _clean(prop, defs) for name, prop in props.items()}

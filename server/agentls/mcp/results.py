"""What an MCP tool answered, as the text the model reads.

Text blocks are kept as they are; images, audio and binary resources are named with their type and
size (a tool result here is text); an embedded text resource is given with its URI; a resource link
is named. A result with no content but structured content is that content as JSON. The whole is
capped (`ToolLimits.mcp_output_chars`) with a note saying so.

The content blocks are read by their `type` and attributes, not by the SDK's classes, so this
module does not import the SDK (and an unknown block kind is named, not fatal).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

EMPTY = "(the tool returned no content)"


def result_text(content: Sequence[Any], structured: Any) -> str:
    parts = [_block(item) for item in content]
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False, indent=2, default=str))
    return "\n".join(parts) if parts else EMPTY


def cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    kept = text[: cut if cut > limit // 2 else limit]
    note = f"(Output cut at {len(kept):,} of {len(text):,} characters: the MCP server's answer was longer.)"
    return f"{kept}\n{note}"


def _block(item: Any) -> str:
    kind = getattr(item, "type", None)
    if kind == "text":
        return str(getattr(item, "text", ""))
    if kind in ("image", "audio"):
        mime = getattr(item, "mime_type", "?")
        return f"[{kind}: {mime}, {_size(getattr(item, 'data', ''))}; not shown here]"
    if kind == "resource_link":
        name = getattr(item, "name", "") or getattr(item, "uri", "")
        mime = getattr(item, "mime_type", None)
        return f"[resource link: {name} <{getattr(item, 'uri', '')}>{f' ({mime})' if mime else ''}]"
    if kind == "resource":
        resource = getattr(item, "resource", None)
        uri = getattr(resource, "uri", "")
        text = getattr(resource, "text", None)
        if isinstance(text, str):
            return f"[resource <{uri}>]\n{text}"
        mime = getattr(resource, "mime_type", None) or "binary"
        return f"[resource <{uri}>: {mime}, {_size(getattr(resource, 'blob', ''))}; not shown here]"
    return f"[{kind or 'unknown'} content; not shown here]"


def _size(data: object) -> str:
    """The decoded size of base64 `data`, for people."""
    if not isinstance(data, str):
        return "? bytes"
    try:
        size = len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        size = len(data) * 3 // 4
    return f"{size:,} bytes"

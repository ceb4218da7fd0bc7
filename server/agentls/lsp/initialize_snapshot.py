"""What the real server answers to `initialize`, and the snapshot `fast_start` serves from.

`fast_start` answers `initialize` before pygls is imported, so it cannot ask pygls; it reads
`initialize_result.json` instead. This module writes that file, and every answer in it comes from
the real server: a fresh `build_server()` handed an `initialize` message through its own receiving
path (`AgentProtocol.receive_body`), its output captured from the protocol's writer. Our
`AgentProtocol.lsp_initialize` (the `experimental.agentls` block), `serverInfo` and every
registered feature are therefore included by construction.

Why a small table is enough, and exact. pygls' `ServerCapabilitiesBuilder` (2.1.1) reads only a
few client capabilities: `general.positionEncodings`, and the `SWITCH_CANDIDATES` below. Each of
those sets its own field of the answer, so varying one at a time finds every one that matters.
`generate()`:

1. finds the switches that change our answer by varying each alone (`willSave` always does: pygls
   echoes `false` to a client that sends it and omits it otherwise; `prepareSupport` would once a
   `textDocument/rename` handler is registered);
2. stores the answer for every combination of their value classes (`fast_start.classify`),
   with `positionEncoding` left null for `fast_start` to fill in with pygls' rule;
3. replays many client capabilities through both `fast_start.answer` and the real server
   (every combination × no/each/unknown/several position encodings) and fails unless they agree.

`tests/lsp/test_fast_start.py` regenerates in memory and compares with the stored file, checks
the editor presets, and checks with a recording proxy that pygls' builder reads nothing outside
`SWITCH_CANDIDATES`, so a pygls upgrade that reads more fails loudly instead of going stale.

Regenerate with `.venv/bin/python -m agentls.lsp.fast_start --regenerate`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from importlib.metadata import version
from typing import Any

from lsprotocol import types as T

from agentls import __version__
from agentls.lsp import fast_start

Json = dict[str, Any]

# (camelCase path in ClientCapabilities, its value classes): what ServerCapabilitiesBuilder reads
# (pygls 2.1.1 `capabilities.py`), apart from `general.positionEncodings`. Booleans are read
# through `get_capability` (null and absent alike); `notebookDocument` only for `is None`.
SWITCH_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("textDocument.synchronization.willSave", "-01"),
    ("textDocument.synchronization.willSaveWaitUntil", "-01"),
    ("textDocument.rename.prepareSupport", "-01"),
    ("notebookDocument", "-o"),
    *(
        (f"workspace.fileOperations.{op}", "-01")
        for op in ("willCreate", "didCreate", "willDelete", "didDelete", "willRename", "didRename")
    ),
)
MAX_SWITCHES = 5
"""3**5 = 243 stored answers; more means the table approach no longer fits and needs a rethink."""
_SAMPLES: dict[str, Any] = {"0": False, "1": True, "o": {"synchronization": {}}}
_UNKNOWN_ENCODING = "x-agentls-unknown"


class SnapshotError(Exception):
    """The real server's answers cannot be represented by the snapshot `fast_start` reads."""


def server_initialize_result(capabilities: Json) -> Json:
    """The `result` a freshly built real server sends for an `initialize` with these client
    capabilities (raises if it answers with an error or not at all)."""
    from agentls.lsp.server import build_server
    from agentls.lsp.transport import agent_protocol

    server = build_server()
    sink = _Sink()
    server.protocol.set_writer(sink)
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"processId": None, "rootUri": None, "capabilities": capabilities},
    }

    async def run() -> None:
        # Inside a loop, so an async initialize handler would run to completion too.
        # The body as it would arrive, through the server's own receiving path (protocol.py).
        agent_protocol(server).receive_body(json.dumps(message).encode())
        for _ in range(1000):
            if sink.response(1) is not None:
                return
            await asyncio.sleep(0)

    asyncio.run(run())
    response = sink.response(1)
    if response is None or "result" not in response:
        raise SnapshotError(f"the server did not answer initialize with a result: {response}")
    return response["result"]  # type: ignore[no-any-return]


class _Sink:
    """A pygls writer that keeps the messages: each `write` is one frame (`_send_data`)."""

    def __init__(self) -> None:
        self.messages: list[Json] = []

    def write(self, data: bytes) -> None:
        self.messages.append(json.loads(data.partition(b"\r\n\r\n")[2]))

    def close(self) -> None:
        pass

    def response(self, msg_id: int) -> Json | None:
        return next((m for m in self.messages if m.get("id") == msg_id and "method" not in m), None)


def capabilities_with(switches: dict[str, str], encodings: list[str] | None) -> Json:
    """Client capabilities with each switch path set to a sample of its class (`-` = absent)."""
    capabilities: Json = {}
    for path, value_class in switches.items():
        if value_class != "-":
            *parents, leaf = path.split(".")
            node = capabilities
            for step in parents:
                node = node.setdefault(step, {})
            node[leaf] = _SAMPLES[value_class]
    if encodings is not None:
        capabilities["general"] = {"positionEncodings": encodings}
    return capabilities


def generate() -> Json:
    """Build the snapshot from the real server; raises `SnapshotError` if it would not be exact."""
    base = server_initialize_result({})
    switches = [
        path
        for path, classes in SWITCH_CANDIDATES
        if any(server_initialize_result(capabilities_with({path: c}, None)) != base for c in classes[1:])
    ]
    if len(switches) > MAX_SWITCHES:
        raise SnapshotError(f"too many client capabilities change the answer: {switches}")
    class_sets = [dict(SWITCH_CANDIDATES)[path] for path in switches]

    candidates = [str(kind.value) for kind in T.PositionEncodingKind]
    supported = [
        e for e in candidates if _encoding(server_initialize_result(capabilities_with({}, [e]))) == e
    ]
    snapshot: Json = {
        "_comment": "Generated by agentls.lsp.initialize_snapshot; do not edit. "
        + fast_start.REGENERATE_HINT,
        "versions": {"agentls": __version__, "pygls": version("pygls"), "lsprotocol": version("lsprotocol")},
        "positionEncodings": supported,
        "defaultPositionEncoding": _encoding(base),
        "switches": switches,
        "results": {},
    }
    combos = [dict(zip(switches, combo, strict=True)) for combo in itertools.product(*class_sets)]
    for combo in combos:
        result = server_initialize_result(capabilities_with(combo, None))
        result["capabilities"]["positionEncoding"] = None
        snapshot["results"]["".join(combo.values())] = result

    offers: list[list[str] | None] = [None, [], [_UNKNOWN_ENCODING], [_UNKNOWN_ENCODING, *candidates[::-1]]]
    offers += [[e] for e in candidates]
    for combo, offer in itertools.product(combos, offers):
        capabilities = capabilities_with(combo, offer)
        expected = server_initialize_result(capabilities)
        request = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"capabilities": capabilities},
        }
        if fast_start.answer(request, snapshot) != expected:
            raise SnapshotError(f"fast_start would answer differently from the server for {capabilities}")
    return snapshot


def render(snapshot: Json) -> str:
    """The file's text: stable, readable diffs (pygls' field order kept, not sorted)."""
    return json.dumps(snapshot, indent=2) + "\n"


def _encoding(result: Json) -> str:
    return str(result["capabilities"]["positionEncoding"])

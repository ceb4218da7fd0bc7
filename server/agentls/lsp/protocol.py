"""The JSON-RPC protocol class: raw params for our custom methods, and `experimental` capabilities.

pygls turns untyped custom params into namedtuples (mangling keys such as `_meta`) and never
answers a request whose params fail to structure. Our `agentls/*` messages are therefore typed
as attrs classes whose `params` is `Any`: the handler gets the raw JSON and validates it itself,
so bad params become a JSON-RPC error instead of silence.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import attrs
from lsprotocol import types as T
from pygls.protocol import LanguageServerProtocol, lsp_method

AGENTLS_REQUESTS = frozenset(
    {
        "agentls/prompt",
        "agentls/newSession",
        "agentls/listSessions",
        "agentls/loadSession",
        "agentls/compact",
        "agentls/requestPermission",
        "agentls/saveDocuments",
    }
)
AGENTLS_NOTIFICATIONS = frozenset({"agentls/cancel", "agentls/sessionUpdate"})
PROTOCOL_VERSION = 1


# `jsonrpc` has no default on purpose: pygls' converter omits fields equal to their default,
# and a message without "jsonrpc" is not JSON-RPC to the other side.
@attrs.define
class RawRequest:
    id: int | str
    method: str
    jsonrpc: str
    params: Any = None


@attrs.define
class RawNotification:
    method: str
    jsonrpc: str
    params: Any = None


@attrs.define
class RawResponse:
    id: int | str
    jsonrpc: str
    result: Any = None


class AgentProtocol(LanguageServerProtocol):
    # pygls caches its lookups with lru_cache; ours are set lookups and need no cache.
    def get_message_type(self, method: str) -> type[Any] | None:  # type: ignore[override]
        if method in AGENTLS_REQUESTS:
            return RawRequest
        if method in AGENTLS_NOTIFICATIONS:
            return RawNotification
        return super().get_message_type(method)

    def get_result_type(self, method: str) -> type[Any] | None:  # type: ignore[override]
        if method in AGENTLS_REQUESTS:
            return RawResponse
        return super().get_result_type(method)

    @lsp_method(T.INITIALIZE)
    def lsp_initialize(self, params: T.InitializeParams) -> Generator[Any, Any, T.InitializeResult]:
        result: T.InitializeResult = yield from super().lsp_initialize(params)
        caps = result.capabilities
        # Rich clients look for this to know they may send agentls/* requests.
        caps.experimental = {
            "agentls": {
                "version": PROTOCOL_VERSION,
                "prompt": True,
                "sessionUpdate": True,
                "requestPermission": True,
                "loadSession": True,
            }
        }
        return result

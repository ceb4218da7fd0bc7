"""initialize / initialized / shutdown: read the client's features, warm the SDK, stop cleanly."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types as T
from pygls.uris import to_fs_path

from agentls.lsp.client_features import read_client_features
from agentls.lsp.server import warm_sdk_in_background
from agentls.lsp.shutdown import install as shutdown_on_signals

if TYPE_CHECKING:
    from agentls.lsp.server import AgentServer


def register(server: AgentServer) -> None:
    @server.feature(T.INITIALIZE)
    def initialize(ls: AgentServer, params: T.InitializeParams) -> None:
        # Runs inside pygls' own initialize, before capabilities are computed: keep it cheap.
        encoding = ls.workspace.position_encoding
        ls.state.features = read_client_features(params, str(getattr(encoding, "value", encoding)))
        ls.state.root = _root(params)
        # From here on there are sessions to wind down: SIGTERM and SIGHUP shut down cleanly.
        shutdown_on_signals(ls)

    @server.feature(T.INITIALIZED)
    def initialized(ls: AgentServer, params: T.InitializedParams) -> None:
        warm_sdk_in_background()

    @server.feature(T.SHUTDOWN)
    def shutdown(ls: AgentServer, params: None) -> None:
        ls.sessions.close_all()


def _root(params: T.InitializeParams) -> Path | None:
    candidates: list[str | None] = []
    if params.workspace_folders:
        candidates.append(to_fs_path(params.workspace_folders[0].uri))
    if params.root_uri:
        candidates.append(to_fs_path(params.root_uri))
    candidates.append(params.root_path)
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate).resolve()
    return None

"""initialize / initialized / shutdown: read the client's features, warm the SDK, stop cleanly."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types as T
from pygls.capabilities import ServerCapabilitiesBuilder
from pygls.uris import to_fs_path

from agentls.lsp.client_features import read_client_features
from agentls.lsp.shutdown import install as shutdown_on_signals

if TYPE_CHECKING:
    from agentls.lsp.state import ServerState

log = logging.getLogger(__name__)


def initialize(state: ServerState, params: T.InitializeParams) -> None:
    # Runs inside pygls' own initialize, before capabilities are computed: keep it cheap.
    # The encoding pygls announces, chosen by the same rule.
    encoding = ServerCapabilitiesBuilder.choose_position_encoding(params.capabilities)
    state.features = read_client_features(params, str(getattr(encoding, "value", encoding)))
    state.root = _root(params)
    # From here on there are sessions to wind down: SIGTERM and SIGHUP shut down cleanly.
    shutdown_on_signals(state)


def initialized(state: ServerState, params: T.InitializedParams) -> None:
    warm_sdk_in_background()


def shutdown(state: ServerState, params: None) -> None:
    state.sessions.close_all()


WARM_UP_SWITCH_INTERVAL_S = 0.0005
"""How long the warm-up thread may keep the interpreter while a request waits (the default, 5 ms,
would let it delay an editor's requests by that much each time)."""


def warm_sdk_in_background() -> None:
    """Import the SDK on a thread after `initialize`, and walk its request path once without the
    network, so the first turn pays for neither (`preload_sdk`). Meanwhile the interpreter switches
    threads ten times as often, so the handlers of the editor's requests are not kept waiting."""

    def warm() -> None:
        usual = sys.getswitchinterval()
        sys.setswitchinterval(min(usual, WARM_UP_SWITCH_INTERVAL_S))
        try:
            from agentls.core.anthropic_model import preload_sdk
            from agentls.store.watch import preload as preload_watching

            preload_sdk(request_path=True)
            preload_watching()  # The first session watches its settings files.
        except Exception:  # A broken SDK install shows up on the first turn, with a clear error.
            log.exception("could not preload the anthropic SDK")
        finally:
            sys.setswitchinterval(usual)

    threading.Thread(target=warm, name="agentls-sdk-warmup", daemon=True).start()


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

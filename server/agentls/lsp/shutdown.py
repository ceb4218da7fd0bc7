"""SIGTERM and SIGHUP shut the language server down cleanly (issue 10, item 13).

Without a handler, the default action killed the server in the middle of whatever it was doing:
running commands kept running, sandbox placeholders stayed in the project, the black box did not
say why it stopped. Now the signal is written to every open session's black box, running turns
are cancelled (which kills their commands and removes their sandboxes' placeholders), sessions are
closed, and the process exits. A stdin read may still be pending on a worker thread, which no
normal exit would wait out, so the last step is `os._exit`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING

from agentls.workspace.sandbox import release_placeholders

if TYPE_CHECKING:
    from agentls.lsp.sessions import SessionManager
    from agentls.lsp.state import ServerState

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGHUP)
WIND_DOWN_S = 5.0
"""How long cancelled turns get to finish (kill their commands, write their results)."""


def install(state: ServerState) -> None:
    """Handle SIGTERM and SIGHUP on the running loop (the main thread's; elsewhere, nothing)."""
    loop = asyncio.get_running_loop()
    for sig in SIGNALS:
        try:
            loop.add_signal_handler(sig, _on_signal, state, sig)
        except (NotImplementedError, RuntimeError, ValueError):
            return  # Not the main thread, or no signals here (tests driving the server in-process).


def _on_signal(state: ServerState, sig: signal.Signals) -> None:
    loop = asyncio.get_running_loop()
    for other in SIGNALS:  # A second signal during the shutdown changes nothing.
        loop.remove_signal_handler(other)
    state.spawn(shut_down(state.sessions, sig.name))


async def shut_down(sessions: SessionManager, reason: str) -> None:
    log.warning("received %s: shutting down", reason)
    try:
        await sessions.shut_down(reason, WIND_DOWN_S)
        await asyncio.to_thread(release_placeholders, 2.0)
    except Exception:  # Whatever failed, the process still ends: that is what was asked.
        log.exception("error while shutting down")
    finally:
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)

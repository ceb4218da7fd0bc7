"""`AgentServer`: the pygls server and its one `ServerState`; `build_server` makes one with every
handler of `handlers.py` registered. Only the entry points (`fast_start`, `cli/serve.py`) and the
initialize snapshot's generator build a server; nothing else imports this module (an
import-linter contract checks it).

Handlers are thin: they validate params, call into `agentls.core` through the state's
`SessionManager`, and convert the results. All of them but the document notifications are
`async`, so a turn that streams or waits for a permission answer never blocks other requests
(hover, code actions, didChange).
"""

from __future__ import annotations

import logging
from typing import Any, BinaryIO

from pygls.lsp.server import LanguageServer

from agentls import __version__
from agentls.lsp import transport
from agentls.lsp.client_channel import ServerChannel
from agentls.lsp.handlers import register
from agentls.lsp.protocol import AgentProtocol
from agentls.lsp.state import ServerState

log = logging.getLogger(__name__)


class AgentServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("agentls", __version__, protocol_cls=AgentProtocol)
        self.state = ServerState(lambda state: ServerChannel(self, lambda: state.features))

    @property
    def agent_protocol(self) -> AgentProtocol:
        """`protocol`, typed as what it is."""
        return transport.agent_protocol(self)

    def report_server_error(self, error: Exception, source: Any) -> None:
        # pygls would pop up "Error in server" for every handler exception; the log is enough,
        # and each handler already answers with a proper JSON-RPC error.
        log.error("handler error (%s): %s", getattr(source, "__name__", source), error)

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """On stdio, with our read loop (`transport.py`): resynchronising framing, size limits, and an
        answer for every request."""
        transport.start_io(self, stdin, stdout)

    def start_tcp(self, host: str, port: int) -> None:
        transport.start_tcp(self, host, port)


def build_server() -> AgentServer:
    server = AgentServer()
    register(server, server.state)
    return server

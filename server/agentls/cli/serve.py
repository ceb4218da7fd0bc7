"""`agentls` with no command: the language server, on stdio (default) or TCP.

On stdio, `agentls.lsp.fast_start` answers `initialize` before pygls and lsprotocol are imported
(they take about half a second), then hands the connection to pygls; `AGENTLS_NO_FAST_START=1`
turns that off. TCP keeps the plain pygls path: that server is up before a client connects, so the
imports are paid before any `initialize` arrives.
"""

from __future__ import annotations

import logging
import sys

from agentls.cli.main import CliError


def _parse_tcp(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CliError(f"--tcp expects HOST:PORT, got {value!r}")
    return host, int(port)


def serve(*, tcp: str | None, log_file: str | None) -> int:
    address = _parse_tcp(tcp) if tcp else None
    # stdout is the protocol channel on stdio: logs go to stderr or a file, never stdout.
    handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", handlers=[handler]
    )
    # pygls logs every message at INFO; that belongs in a debug session, not in the editor's log.
    for noisy in ("pygls", "httpx2", "httpcore2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if address is None:
        from agentls.lsp import fast_start

        if fast_start.enabled():
            fast_start.serve_stdio()
            return 0
    from agentls.lsp.server import build_server

    server = build_server()
    if address is not None:
        server.start_tcp(*address)
    else:
        server.start_io()
    return 0

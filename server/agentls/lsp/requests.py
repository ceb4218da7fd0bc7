"""Server-to-client requests that a cancelled turn can withdraw without an error popup.

pygls cancels the pending future when the awaiting task is cancelled, and a late reply from the
client then trips over the cancelled future ("Error in server: CANCELLED"). We send the request
with our own id, and on cancellation forget the future before telling the client `$/cancelRequest`,
so a late reply is just an unknown id.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer


async def request_cancellable(server: LanguageServer, method: str, params: Any) -> Any:
    protocol = server.protocol
    msg_id = f"agentls-{uuid.uuid4()}"
    future = protocol.send_request(method, params, msg_id=msg_id)
    try:
        return await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        # Private pygls state (pinned to pygls 2.1): the only way to drop a pending request.
        protocol._request_futures.pop(msg_id, None)
        protocol._result_types.pop(msg_id, None)
        protocol.notify(T.CANCEL_REQUEST, T.CancelParams(id=msg_id))
        raise

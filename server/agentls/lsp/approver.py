"""The `Approver` for editors: ACP-shaped `agentls/requestPermission` for rich clients,
`window/showMessageRequest` with the same four choices for everyone else.

A dismissed prompt, an unreadable answer or a failed request is a rejection. A cancelled turn
withdraws its pending prompt (`$/cancelRequest`) and the approval is never granted.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types as T

from agentls import to_proto
from agentls.lsp.protocol import REQUEST_PERMISSION
from agentls.policy.decision import ApprovalRequest, ApprovalResponse

if TYPE_CHECKING:
    from agentls.lsp.client_channel import ClientChannel

log = logging.getLogger(__name__)

OPTIONS = to_proto.PERMISSION_OPTIONS
_BY_NAME = {name: choice for choice, name in OPTIONS}


class LspApprover:
    def __init__(self, client: ClientChannel, session_id: str) -> None:
        self._client = client
        self._session_id = session_id

    async def approve(self, request: ApprovalRequest) -> ApprovalResponse:
        if self._client.features.request_permission:
            return await self._ask_rich(request)
        return await self._ask_plain(request)

    async def _ask_rich(self, request: ApprovalRequest) -> ApprovalResponse:
        params = to_proto.permission_request(self._session_id, request)
        try:
            answer = await self._client.request(REQUEST_PERMISSION, params)
        except Exception as err:  # Includes a JSON-RPC error from the client: that is a "no".
            log.warning("permission request failed: %s", err)
            return ApprovalResponse("reject_once", f"(the permission prompt failed: {err})")
        return to_proto.permission_answer(answer)

    async def _ask_plain(self, request: ApprovalRequest) -> ApprovalResponse:
        message = f"agentls wants to run {request.call.summary} ({request.reason})."
        if request.diff:
            preview = "\n".join(request.diff.splitlines()[:20])
            message += f"\n\n{preview}"
        params = T.ShowMessageRequestParams(
            type=T.MessageType.Warning,
            message=message,
            actions=[T.MessageActionItem(title=name) for _, name in OPTIONS],
        )
        try:
            answer = await self._client.request(T.WINDOW_SHOW_MESSAGE_REQUEST, params)
        except Exception as err:
            log.warning("showMessageRequest failed: %s", err)
            return ApprovalResponse("reject_once", f"(the permission prompt failed: {err})")
        title = getattr(answer, "title", None)
        if isinstance(answer, dict):
            title = answer.get("title")
        choice = _BY_NAME.get(title) if isinstance(title, str) else None
        return ApprovalResponse(choice or "reject_once", "" if choice else "(the prompt was dismissed)")

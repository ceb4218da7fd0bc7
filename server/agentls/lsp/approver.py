"""The `Approver` for editors: ACP-shaped `agentls/requestPermission` for rich clients,
`window/showMessageRequest` with the same four choices for everyone else.

A dismissed prompt, an unreadable answer or a failed request is a rejection. A cancelled turn
withdraws its pending prompt (`$/cancelRequest`) and the approval is never granted.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types as T

from agentls import to_proto
from agentls.lsp.requests import request_cancellable
from agentls.policy.decision import ApprovalChoice, ApprovalRequest, ApprovalResponse

if TYPE_CHECKING:
    from agentls.lsp.server import AgentServer

log = logging.getLogger(__name__)

OPTIONS: tuple[tuple[ApprovalChoice, str], ...] = (
    ("allow_once", "Allow once"),
    ("allow_always", "Always allow"),
    ("reject_once", "Reject"),
    ("reject_always", "Always reject"),
)
_BY_NAME = {name: choice for choice, name in OPTIONS}
_CHOICES = {choice for choice, _ in OPTIONS}


class LspApprover:
    def __init__(self, server: AgentServer, session_id: str) -> None:
        self._server = server
        self._session_id = session_id

    async def approve(self, request: ApprovalRequest) -> ApprovalResponse:
        if self._server.state.features.request_permission:
            return await self._ask_rich(request)
        return await self._ask_plain(request)

    async def _ask_rich(self, request: ApprovalRequest) -> ApprovalResponse:
        call = request.call
        content: list[dict[str, Any]] = [
            {"type": "content", "content": {"type": "text", "text": request.reason}}
        ]
        if request.diff:
            content.append(
                {"type": "content", "content": {"type": "text", "text": f"```diff\n{request.diff}```"}}
            )
        params = {
            "sessionId": self._session_id,
            "toolCall": {
                "toolCallId": request.call_id,
                "title": call.summary,
                "kind": to_proto.TOOL_KINDS.get(call.tool, "other"),
                "status": "pending",
                "rawInput": call.input,
                "content": content,
            },
            "options": [{"optionId": choice, "name": name, "kind": choice} for choice, name in OPTIONS],
        }
        try:
            answer = await request_cancellable(self._server, "agentls/requestPermission", params)
        except Exception as err:  # Includes a JSON-RPC error from the client: that is a "no".
            log.warning("permission request failed: %s", err)
            return ApprovalResponse("reject_once", f"(the permission prompt failed: {err})")
        return _parse_rich(answer)

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
            answer = await request_cancellable(self._server, T.WINDOW_SHOW_MESSAGE_REQUEST, params)
        except Exception as err:
            log.warning("showMessageRequest failed: %s", err)
            return ApprovalResponse("reject_once", f"(the permission prompt failed: {err})")
        title = getattr(answer, "title", None)
        if isinstance(answer, dict):
            title = answer.get("title")
        choice = _BY_NAME.get(title) if isinstance(title, str) else None
        return ApprovalResponse(choice or "reject_once", "" if choice else "(the prompt was dismissed)")


def _parse_rich(answer: Any) -> ApprovalResponse:
    outcome = answer.get("outcome") if isinstance(answer, dict) else None
    if isinstance(outcome, dict) and outcome.get("outcome") == "selected":
        option = outcome.get("optionId")
        if option in _CHOICES:
            return ApprovalResponse(option)
    return ApprovalResponse("reject_once", "(the prompt was dismissed)")

"""The JSON-RPC protocol class: what comes in is checked and answered, and only one copy of a document.

Receiving (`receive_body`, `receive`). pygls structures each message inside `json.loads` and
drops, without an answer, a request it cannot structure (bad or scalar params, no `jsonrpc`, an
id of the wrong type), a batch, and any request after `shutdown`: the client waits forever. Here a
message is parsed, its envelope checked, and then structured; every request (a message with an
`id` and a `method`) gets a result or an error: -32700 (not JSON: the id is looked for in what
arrived), -32600 (not a valid request, a batch, refused size, after `shutdown`, a second
`initialize`), -32601 (no such method), -32602 (params that do not fit the method). A notification
that does not fit is logged and dropped. A response is handed on only for a request we sent and
still wait for; one that does not fit fails that request instead of leaving it pending.

`initialize` params go through `lenient.relax` first, so capabilities lsprotocol does not know
(unknown enum values: pygls issue #438) are ignored instead of fatal, on the fast-start path and
the plain one alike. `initialize` is accepted once (the specification allows one); a second one is
an error, and the state, open documents included, stays as it was.

Documents. pygls keeps its own copy of every open document and rebuilds its whole text on every
change; `documents.DocumentTracker` is the server's one store (it also splits lines the LSP way), so
the built-in `didOpen`/`didChange`/`didClose` here only pass the notification on. Notebooks are not
supported (the server does not announce them), so their notifications are dropped.

Bookkeeping. pygls files every running handler future under its message id and removes only those
of requests; a notification's future (a uuid) stayed forever, one per `didChange`. Here every
future leaves the table when it is done (`_execute_handler`).

Custom methods. pygls turns untyped custom params into namedtuples (mangling keys such as `_meta`),
so our `agentls/*` messages are typed as attrs classes whose `params` is `Any`: the handler gets the
raw JSON and validates it itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Generator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import attrs
from cattrs.errors import AttributeValidationNote, IterableValidationNote
from lsprotocol import types as T
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcMethodNotFound,
    JsonRpcParseError,
)
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    LanguageServerProtocol,
    lsp_method,
)

from agentls.lsp.framing import HEAD_BYTES, FrameDecoder, Oversized, peek_request
from agentls.lsp.lenient import json_name, relax

if TYPE_CHECKING:
    from pygls.protocol.json_rpc import MsgId

log = logging.getLogger(__name__)

# --- Our methods: the one place their names are spelled ------------------------------------------

NEW_SESSION = "agentls/newSession"
PROMPT = "agentls/prompt"
CANCEL = "agentls/cancel"
CLOSE_SESSION = "agentls/closeSession"
LIST_SESSIONS = "agentls/listSessions"
LOAD_SESSION = "agentls/loadSession"
COMPACT = "agentls/compact"
LIST_COMMANDS = "agentls/listCommands"
LIST_CHECKPOINTS = "agentls/listCheckpoints"
REWIND = "agentls/rewind"
REQUEST_PERMISSION = "agentls/requestPermission"
"""Server to client: a permission prompt (rich clients)."""
SAVE_DOCUMENTS = "agentls/saveDocuments"
"""Server to client: save these buffers (before a command runs)."""
SESSION_UPDATE = "agentls/sessionUpdate"
"""Server to client: ACP-shaped session updates (rich clients)."""

ASK_COMMAND = "agentls.ask"
REVIEW_COMMAND = "agentls.review"
COMPACT_COMMAND = "agentls.compact"
RUN_COMMAND = "agentls.command"
REWIND_COMMAND = "agentls.rewind"
PERMISSIONS_COMMAND = "agentls.permissions"
TRUST_COMMAND = "agentls.trustWorkspace"
"""`workspace/executeCommand` commands (the initialize snapshot lists them)."""

AGENTLS_REQUESTS = frozenset(
    {
        PROMPT,
        NEW_SESSION,
        LIST_SESSIONS,
        LOAD_SESSION,
        CLOSE_SESSION,
        COMPACT,
        LIST_CHECKPOINTS,
        REWIND,
        LIST_COMMANDS,
        REQUEST_PERMISSION,
        SAVE_DOCUMENTS,
    }
)
AGENTLS_NOTIFICATIONS = frozenset({CANCEL, SESSION_UPDATE})
PROTOCOL_VERSION = 1
JSONRPC_VERSION = "2.0"
_MAX_REASON = 500
"""Longest error message sent back (cattrs' messages can quote whole params)."""


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


def _valid_id(value: object) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool)


def _reason(err: BaseException) -> str:
    """What did not fit, short, by path: cattrs' exception groups note the field or item of each."""
    parts: list[str] = []

    def walk(exc: BaseException, path: str) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for sub in exc.exceptions:
                step = ""
                for note in getattr(sub, "__notes__", ()):
                    if isinstance(note, AttributeValidationNote):
                        step = f".{json_name(note.name)}"
                    elif isinstance(note, IterableValidationNote):
                        step = f"[{note.index}]"
                walk(sub, path + step)
        else:
            problem = "missing" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
            parts.append(f"{path.lstrip('.') or 'message'}: {problem}")

    walk(err, "")
    text = "; ".join(parts)
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


class AgentProtocol(LanguageServerProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initialized = False
        """`initialize` was answered with a result; another one is refused."""

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

    # --- receiving -----------------------------------------------------------------------------

    def receive_body(self, body: bytes, decoder: FrameDecoder | None = None) -> None:
        """One framed body, as it arrived."""
        try:
            data = json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError.
            cut = decoder.resync(body) if decoder is not None else None
            fragment = body[:cut] if cut is not None else body
            self._unreadable(fragment[:HEAD_BYTES], JsonRpcParseError(f"Parse error: {_short(err)}"))
            return
        self.receive(data)

    def refuse_oversized(self, event: Oversized) -> None:
        """A body over the size limit, discarded unread (but for its first bytes)."""
        how = "" if event.complete else " (it was cut short by the next message)"
        message = f"Message too large: {event.length} bytes announced{how}; the limit is {event.limit}"
        self._unreadable(event.head, JsonRpcInvalidRequest(message))

    def _unreadable(self, head: bytes, error: JsonRpcException) -> None:
        msg_id, is_request = peek_request(head)
        if msg_id is not None and is_request:
            log.warning("request %r refused: %s", msg_id, error.message)
            self._reply_error(msg_id, error)
        else:
            log.warning("message dropped: %s (first bytes: %r)", error.message, head[:80])

    def receive(self, data: Any) -> None:
        """One parsed message: checked, structured and handled; a request always gets an answer."""
        if isinstance(data, list):
            self._refuse_batch(data)
            return
        if not isinstance(data, dict):
            log.warning("dropped a message that is not a JSON object: %s", _short(data))
            return
        if "method" in data:
            if "id" in data:
                self._receive_request(data)
            else:
                self._receive_notification(data)
        elif "id" in data:
            self._receive_response(data)
        else:
            log.warning("dropped a message with neither method nor id: %s", _short(data))

    def _receive_request(self, data: dict[str, Any]) -> None:
        msg_id, method = data["id"], data["method"]
        if not _valid_id(msg_id):
            self._reply_error(None, JsonRpcInvalidRequest(f"Invalid request id: {_short(msg_id)}"))
            return
        problem = self._envelope_problem(data)
        if problem is not None:
            self._reply_error(msg_id, JsonRpcInvalidRequest(f"Invalid request: {problem}"))
            return
        if self._shutdown:
            self._reply_error(msg_id, JsonRpcInvalidRequest("The server is shutting down"))
            return
        if not self._handles(method):
            log.warning("request %r: unknown method %r", msg_id, method)
            self._reply_error(msg_id, JsonRpcMethodNotFound.of(method))
            return
        try:
            message = self._structure(data)
        except Exception as err:
            log.warning("request %r (%s): invalid params: %s", msg_id, method, _reason(err))
            self._reply_error(msg_id, JsonRpcInvalidParams(f"Invalid params for {method}: {_reason(err)}"))
            return
        if not hasattr(message, "id"):  # lsprotocol typed it as a notification: nothing would answer.
            self._reply_error(msg_id, JsonRpcInvalidRequest(f"{method} is a notification, not a request"))
            return
        if not self._handle(message):
            self._reply_error(msg_id, JsonRpcInternalError(f"Internal error while handling {method}"))

    def _receive_notification(self, data: dict[str, Any]) -> None:
        method = data["method"]
        problem = self._envelope_problem(data)
        if problem is not None:
            log.warning("dropped an invalid notification: %s", problem)
            return
        if not self._handles(method):
            # `$/` notifications may be ignored, says the specification; others are logged.
            (log.debug if method.startswith("$/") else log.info)("ignored notification %r", method)
            return
        try:
            message = self._structure(data)
        except Exception as err:
            log.warning("dropped notification %s: invalid params: %s", method, _reason(err))
            return
        self._handle(message)

    def _receive_response(self, data: dict[str, Any]) -> None:
        msg_id = data["id"]
        if not _valid_id(msg_id) or msg_id not in self._result_types:
            # Not a request of ours that is still pending (perhaps withdrawn, see requests.py).
            log.info("dropped a response to unknown request %s", _short(msg_id))
            return
        # Popped here for errors too (pygls kept the entry of every request answered with an error).
        result_type = self._result_types.pop(msg_id) or JsonRPCResponseMessage
        problem = self._envelope_problem(data)
        if problem is None and "error" not in data and "result" not in data:
            problem = "neither result nor error"
        if problem is None:
            try:
                message = self._converter.structure(
                    data, T.ResponseErrorMessage if "error" in data else result_type
                )
            except Exception as err:
                problem = _reason(err)
            else:
                self._handle(message)
                return
        log.warning("invalid response to request %r: %s", msg_id, problem)
        error = T.ResponseError(code=JsonRpcInternalError.CODE, message=f"Invalid response: {problem}")
        self._handle_response(msg_id, None, error)

    def _handle(self, message: Any) -> bool:
        """pygls' dispatch; False if it raised (which pygls lets through to the read loop). A lost
        connection still ends the loop, as in pygls."""
        try:
            self.handle_message(message)
        except BrokenPipeError:
            raise
        except Exception:
            log.exception("failed to handle %s", getattr(message, "method", "a response"))
            return False
        return True

    def _handle_cancel_notification(self, msg_id: MsgId) -> None:
        # lsprotocol lets any JSON through as the id, and pygls looks it up in a dict.
        if not _valid_id(msg_id):
            log.info("ignored $/cancelRequest with id %s", _short(msg_id))
            return
        super()._handle_cancel_notification(msg_id)

    def _envelope_problem(self, data: dict[str, Any]) -> str | None:
        if data.get("jsonrpc") != JSONRPC_VERSION:
            return f'"jsonrpc" must be "2.0", not {_short(data.get("jsonrpc"))}'
        if "method" in data and not isinstance(data["method"], str):
            return f'"method" must be a string, not {_short(data["method"])}'
        params = data.get("params")
        if params is not None and not isinstance(params, dict | list):
            return f'"params" must be an object or an array, not {_short(params)}'
        return None

    def _handles(self, method: str) -> bool:
        return method in self.fm.builtin_features or method in self.fm.features or method == T.CANCEL_REQUEST

    def _structure(self, data: dict[str, Any]) -> Any:
        if data.get("method") == T.INITIALIZE and isinstance(data.get("params"), dict):
            params, dropped = relax(data["params"], T.InitializeParams, self._converter)
            if dropped:
                log.warning("initialize: ignored what lsprotocol cannot read: %s", "; ".join(dropped[:20]))
                data = {**data, "params": params}
        # pygls' `structure_message`, applied to the message only (not, as an object hook, to every
        # object inside it), and without its traceback in the log for every bad message.
        method: str = data["method"]
        fallback = JsonRPCRequestMessage if "id" in data else JsonRPCNotification
        return self._converter.structure(data, self.get_message_type(method) or fallback)

    def _refuse_batch(self, items: list[Any]) -> None:
        """The LSP has no batches: each request in one gets an error, nothing in it runs."""
        requests = [i for i in items if isinstance(i, dict) and "method" in i and _valid_id(i.get("id"))]
        log.warning("refused a batch of %d messages", len(items))
        for item in requests:
            self._reply_error(item["id"], JsonRpcInvalidRequest("Batches are not supported"))

    def _reply_error(self, msg_id: MsgId | None, error: JsonRpcException) -> None:
        if msg_id is None:
            # lsprotocol's ResponseErrorMessage would drop a null id; JSON-RPC wants it written.
            payload = {"code": error.code, "message": error.message}
            self._send_data({"jsonrpc": JSONRPC_VERSION, "id": None, "error": payload})
        else:
            self._send_response(msg_id, None, error.to_response_error())

    # --- bookkeeping -----------------------------------------------------------------------------

    def _execute_handler(
        self,
        msg_id: MsgId,
        handler: Callable[..., Any],
        callback: Callable[[Future[Any]], None],
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        def done(future: Future[Any]) -> None:
            other = self._request_futures.get(msg_id)
            callback(future)
            if other is future:
                self._request_futures.pop(msg_id, None)
            elif other is not None and not other.done():
                # Another request under the same id is still running: pygls' callback removed it.
                self._request_futures[msg_id] = other

        super()._execute_handler(msg_id, handler, done, args, kwargs)

    # --- lifecycle ---------------------------------------------------------------------------------

    @lsp_method(T.INITIALIZE)
    def lsp_initialize(self, params: T.InitializeParams) -> Generator[Any, Any, T.InitializeResult]:
        if self.initialized:
            raise JsonRpcInvalidRequest(
                "initialize may be sent only once; the server is already initialized and keeps its state"
            )
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
                "closeSession": True,
                "listCommands": True,
            }
        }
        self.initialized = True
        return result

    # --- documents: passed on to the handlers in documents.py, not stored here -------------------

    def _pass_on(self, method: str, params: Any) -> Generator[Any, Any, None]:
        if (handler := self.fm.features.get(method)) is not None:
            yield handler, (params,), None

    @lsp_method(T.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: T.DidOpenTextDocumentParams) -> Generator[Any, Any, None]:
        yield from self._pass_on(T.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(T.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: T.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        yield from self._pass_on(T.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(T.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: T.DidCloseTextDocumentParams) -> Generator[Any, Any, None]:
        yield from self._pass_on(T.TEXT_DOCUMENT_DID_CLOSE, params)

    @lsp_method(T.NOTEBOOK_DOCUMENT_DID_OPEN)
    def lsp_notebook_document__did_open(self, params: Any) -> None:
        log.info("notebooks are not supported; ignored notebookDocument/didOpen")

    @lsp_method(T.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def lsp_notebook_document__did_change(self, params: Any) -> None:
        pass

    @lsp_method(T.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def lsp_notebook_document__did_close(self, params: Any) -> None:
        pass


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Every handler of the language server, in one table: the method (or command) it answers, the
module-level function that answers it, and what `initialize` announces for it.

A handler takes the server's `ServerState` and the message's params (a command: its arguments), so
it can be called alone in a test. `register` binds each to one state on one pygls server; nothing
else registers handlers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer

from agentls.lsp import (
    agent_requests,
    code_actions,
    commands,
    compaction,
    document_sync,
    lifecycle,
    permission_commands,
    rewind,
    slash_commands,
)
from agentls.lsp import protocol as P
from agentls.lsp.state import ServerState

Handler = Callable[..., Any]


@dataclass(frozen=True)
class Feature:
    """A request or notification (`method`); `options` is what `initialize` announces for it."""

    method: str
    handler: Handler
    options: Any = None


@dataclass(frozen=True)
class Command:
    """A `workspace/executeCommand` command."""

    name: str
    handler: Handler


HANDLERS: tuple[Feature | Command, ...] = (
    Feature(T.INITIALIZE, lifecycle.initialize),
    Feature(T.INITIALIZED, lifecycle.initialized),
    Feature(T.SHUTDOWN, lifecycle.shutdown),
    Feature(T.TEXT_DOCUMENT_DID_OPEN, document_sync.did_open),
    Feature(T.TEXT_DOCUMENT_DID_CHANGE, document_sync.did_change),
    Feature(T.TEXT_DOCUMENT_DID_CLOSE, document_sync.did_close),
    Feature(T.TEXT_DOCUMENT_DID_SAVE, document_sync.did_save, document_sync.SAVE_OPTIONS),
    Feature(T.TEXT_DOCUMENT_CODE_ACTION, code_actions.code_action, code_actions.OPTIONS),
    Feature(P.NEW_SESSION, agent_requests.new_session),
    Feature(P.PROMPT, agent_requests.prompt),
    Feature(P.CANCEL, agent_requests.cancel),
    Feature(P.CLOSE_SESSION, agent_requests.close_session),
    Feature(P.LIST_SESSIONS, agent_requests.list_sessions),
    Feature(P.LOAD_SESSION, agent_requests.load_session),
    Feature(P.COMPACT, compaction.compact_request),
    Feature(P.LIST_COMMANDS, slash_commands.list_commands),
    Feature(P.LIST_CHECKPOINTS, rewind.list_checkpoints),
    Feature(P.REWIND, rewind.rewind_request),
    Command(P.ASK_COMMAND, commands.ask),
    Command(P.REVIEW_COMMAND, commands.review),
    Command(P.COMPACT_COMMAND, compaction.compact_command),
    Command(P.RUN_COMMAND, slash_commands.command),
    Command(P.REWIND_COMMAND, rewind.rewind_command),
    Command(P.PERMISSIONS_COMMAND, permission_commands.permissions),
    Command(P.TRUST_COMMAND, permission_commands.trust),
)


def register(server: LanguageServer, state: ServerState) -> None:
    for entry in HANDLERS:
        if isinstance(entry, Feature):
            server.feature(entry.method, entry.options)(bind(entry.handler, state))
        else:
            server.command(entry.name)(bind(entry.handler, state))


def bind(handler: Handler, state: ServerState) -> Handler:
    """`handler` with `state` as its first argument, in the shape pygls calls: a coroutine function
    stays one (pygls awaits it), a plain one stays plain (pygls runs it inline, in order). The
    bound function takes `*args` and no `ls`, so pygls passes a command's arguments through as
    they came and does not inject the server."""
    if inspect.iscoroutinefunction(handler):

        async def bound_async(*args: Any) -> Any:
            return await handler(state, *args)

        bound: Handler = bound_async
    else:

        def bound_sync(*args: Any) -> Any:
            return handler(state, *args)

        bound = bound_sync
    bound.__name__ = bound.__qualname__ = handler.__name__
    return bound

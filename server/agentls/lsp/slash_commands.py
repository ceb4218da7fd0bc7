"""Slash commands from the editor: `agentls/listCommands` (rich clients complete `/` with it) and
the `agentls.command` command (any client).

Running a command is not done here: a chat's prompt that starts with `/name` goes through
`agentls/prompt` → `run_turn` → `Session.submit`, as in every front end. `agentls.command` is the
way for a client without a chat: `{name, arguments?, sessionId?}` runs `/name arguments` in that
session (default: a new one). A command that does not call the model (`/cost`, `/context`, …)
answers with its output (`{sessionId, command, text, level, data}`) and shows the text with
`window/showMessage`, or, when long, as a Markdown document; one that does (`/review`, `/init`,
`/compact`, custom commands) starts in the background and answers `{sessionId}` at once, like
`agentls.ask`. An unknown command is an InvalidParams error that lists similar names.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as T
from pydantic import Field
from pygls.exceptions import JsonRpcInvalidParams

from agentls.core.commands.dispatch import session_commands
from agentls.core.commands.registry import CommandRegistry, CommandSources, load_commands
from agentls.core.commands.runs import LocalRun
from agentls.core.session import Session
from agentls.lsp.client_features import settings_option
from agentls.lsp.params import Args, ListCommandsParams, SessionBusyError, parse, parse_argument
from agentls.lsp.protocol import RUN_COMMAND
from agentls.lsp.transcript_doc import (
    MESSAGE_LIMIT,
    open_document,
    run_command_turn,
    write_transcript,
)
from agentls.lsp.turns import TurnBusy, TurnRefused, run_turn, submit
from agentls.policy.loader import SettingsSources

if TYPE_CHECKING:
    from agentls.lsp.client_channel import ClientChannel
    from agentls.lsp.state import ServerState

COMMAND = RUN_COMMAND


class CommandArgs(Args):
    name: str = Field(min_length=1, max_length=200, pattern=r"^/?[A-Za-z0-9][\w.:-]*$")
    """The command's name (a leading `/` is allowed); only a name: this runs commands, not prompts."""
    arguments: str = Field(default="", max_length=100_000)
    sessionId: str | None = Field(default=None, min_length=1)


async def list_commands(state: ServerState, raw: Any) -> dict[str, Any]:
    """`agentls/listCommands {sessionId?}`: a session's commands, or the workspace's."""
    params = parse(ListCommandsParams, raw)
    if params.session_id is not None:
        registry = await session_commands((await state.open_session(params.session_id)).state)
    else:
        registry = await asyncio.to_thread(load_commands, _server_sources(state))
    return listing(registry)


async def command(state: ServerState, *args: Any) -> dict[str, Any]:
    """`agentls.command {name, arguments?, sessionId?}`."""
    return await run_command(state, parse_argument(COMMAND, CommandArgs, args))


def listing(registry: CommandRegistry) -> dict[str, Any]:
    return {
        "commands": [info.to_json() for info in registry.infos()],
        "warnings": list(registry.warnings),
    }


def _server_sources(state: ServerState) -> CommandSources:
    """The commands of the workspace the server was started in (no session named)."""
    root = state.root or Path.cwd()
    options = state.features.options
    return CommandSources.of(
        SettingsSources(project=root, cli=settings_option(options), cli_from_editor=True)
    )


async def run_command(state: ServerState, args: CommandArgs) -> dict[str, Any]:
    name = args.name.removeprefix("/")
    prompt = f"/{name} {args.arguments}".rstrip()
    if args.sessionId is not None:
        session = await state.open_session(args.sessionId)
    else:
        session = await state.new_session()
    try:
        run = await submit(session, prompt)
    except TurnBusy as err:
        raise SessionBusyError(f"Session busy: {err}") from None
    except TurnRefused as err:
        raise JsonRpcInvalidParams(str(err)) from None
    if not isinstance(run, LocalRun):
        title = f"agentls: /{name}"
        state.spawn(run_command_turn(state.channel, session, prompt, title, run=run))
        return {"sessionId": session.id}
    result = await run_turn(state.channel, session, prompt, title=f"agentls: /{name}", run=run)
    await _show(state.channel, session, name, result.text, error=result.stop.kind != "end_turn")
    return {"sessionId": session.id, "command": name, "text": result.text, "stopReason": result.stop.kind}


async def _show(client: ClientChannel, session: Session, name: str, text: str, *, error: bool) -> None:
    kind = T.MessageType.Error if error else T.MessageType.Info
    if len(text) <= MESSAGE_LIMIT:
        client.show_message(kind, f"agentls /{name}:\n{text}")
        return
    try:
        path = write_transcript(f"{session.id}-{name}", f"# /{name}\n\n```\n{text}\n```\n")
    except OSError:
        client.show_message(kind, text[:MESSAGE_LIMIT] + "…")
        return
    if not await open_document(client, path, take_focus=True):
        client.show_message(kind, f"agentls /{name}: {text[: MESSAGE_LIMIT - 200]}… (all of it: {path})")

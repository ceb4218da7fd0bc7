"""`agentls.permissions` and `agentls.trustWorkspace`: the permission engine, seen from an editor.

`agentls.permissions` answers with the report (effective rules and their files, mode, trust,
sandbox, hooks, warnings, recent decisions) as JSON for clients with a UI, and also writes it as
Markdown and opens it (`window/showDocument`) or, failing that, says where it is.
`agentls.trustWorkspace` records the folder as trusted, which a repository's own settings need
before their allow rules, hooks, MCP servers and environment apply; open sessions reload at once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as T
from pydantic import Field
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams

from agentls.core.permission_report import format_report, permission_report
from agentls.lsp.client_features import settings_option
from agentls.lsp.params import Args, parse_argument
from agentls.lsp.protocol import PERMISSIONS_COMMAND, TRUST_COMMAND
from agentls.lsp.transcript_doc import open_document, write_transcript
from agentls.policy.decision import PermissionMode
from agentls.policy.loader import SettingsSources
from agentls.store.settings import SettingsError

if TYPE_CHECKING:
    from agentls.lsp.client_channel import ClientChannel
    from agentls.lsp.state import ServerState

PERMISSIONS = PERMISSIONS_COMMAND
TRUST = TRUST_COMMAND


class PermissionsArgs(Args):
    cwd: str | None = Field(default=None, description="The project folder; default: the workspace root.")
    show: bool = Field(default=True, description="Also open the report as a Markdown document.")
    limit: int = Field(default=20, ge=1, le=1000, description="Recent decisions to include.")


class TrustArgs(Args):
    cwd: str | None = None
    revoke: bool = False


async def permissions(state: ServerState, *args: Any) -> dict[str, Any]:
    parsed = parse_argument(PERMISSIONS, PermissionsArgs, args)
    root = _root(state, parsed.cwd)
    options = state.features.options
    mode: PermissionMode | None = options.get("permissionMode")
    sources = SettingsSources(project=root, cli=settings_option(options), cli_from_editor=True)
    report = await asyncio.to_thread(
        permission_report, sources, mode=mode, store=state.sessions.store, limit=parsed.limit
    )
    if parsed.show:
        await _show(state.channel, format_report(report))
    return report


async def trust(state: ServerState, *args: Any) -> dict[str, Any]:
    parsed = parse_argument(TRUST, TrustArgs, args)
    root = _root(state, parsed.cwd)
    store = SettingsSources(project=root).trust_store
    try:
        changed = store.revoke(root) if parsed.revoke else store.trust(root)
    except SettingsError as err:
        raise JsonRpcInternalError(str(err)) from None
    state.sessions.settings_changed(root)
    return {"folder": str(root), "trusted": not parsed.revoke, "changed": changed}


def _root(state: ServerState, cwd: str | None) -> Path:
    if cwd is None:
        return state.root or Path.cwd()
    path = Path(cwd).expanduser()
    if not path.is_absolute() or not path.is_dir():
        raise JsonRpcInvalidParams(f"cwd {cwd!r} must be an absolute path to a directory")
    return path.resolve()


async def _show(client: ClientChannel, markdown: str) -> None:
    try:
        path = write_transcript("permissions", markdown)
    except OSError as err:
        client.show_message(T.MessageType.Warning, f"agentls: {err}")
        return
    if not await open_document(client, path, take_focus=True):
        client.show_message(T.MessageType.Info, f"agentls: permissions report: {path}")

"""`/mcp`: the session's MCP servers, their state, and the tools the model gets from them."""

from __future__ import annotations

from typing import Any

from agentls.core.commands.mcp_prompts import command_name
from agentls.core.events import CommandOutput
from agentls.core.state import SessionState

NONE = (
    "No MCP servers in this session. Add one with `agentls mcp add`, or in the project's .mcp.json "
    "(see docs/extending.md, MCP servers)."
)


async def mcp_status(state: SessionState) -> CommandOutput:
    """Servers still starting are waited for (bounded by their start-up timeouts); one waiting for
    the user's approval is shown as such, not asked about (the next prompt asks)."""
    if state.mcp is None:
        return CommandOutput(command="mcp", text=NONE, data={"servers": []})
    await state.mcp.servers.settle(ask=False)
    servers: list[dict[str, Any]] = []
    lines: list[str] = []
    deferred = state.deferral.hidden() if state.deferral is not None else frozenset()
    for status in state.mcp.servers.status():
        hidden = state.policy.hidden_tools(status.tools)
        entry = status.to_json() | {
            "hidden": sorted(hidden),
            "deferred": sorted(t for t in status.tools if t in deferred),
        }
        servers.append(entry)
        label = (
            "awaiting your approval (asked at the next prompt)" if status.state == "pending" else status.state
        )
        state_text = label + (f": {status.detail}" if status.detail else "")
        lines.append(f"  {status.name} · {state_text}")
        lines.append(f"    {status.transport}: {status.target} · from {status.source}")
        if status.tools:
            shown = [
                f"{t} (hidden by a deny rule)" if t in hidden else f"{t} (deferred)" if t in deferred else t
                for t in status.tools
            ]
            lines.append(f"    tools ({len(shown)}): {', '.join(shown)}")
        if status.prompts:
            commands = ", ".join(f"/{command_name(status.name, p)}" for p in status.prompts)
            lines.append(f"    prompts ({len(status.prompts)}): {commands}")
        if status.resources:
            mentions = ", ".join(f"@{status.name}:{uri}" for uri in status.resources)
            lines.append(f"    resources ({len(status.resources)}): {mentions}")
    if not servers:
        return CommandOutput(command="mcp", text=NONE, data={"servers": []})
    connected = sum(1 for s in servers if s["state"] == "connected")
    head = f"MCP servers ({connected} of {len(servers)} connected):"
    search = _tool_search(state)
    if search is not None:
        lines.append(search)
    data = {"servers": servers, "toolSearch": state.deferral.active if state.deferral else False}
    return CommandOutput(command="mcp", text="\n".join([head, *lines]), data=data)


def _tool_search(state: SessionState) -> str | None:
    deferral = state.deferral
    if deferral is None or not deferral.active:
        return None
    count, loaded = deferral.counts()
    return (
        f"Tool search is on ({deferral.setting.describe()}): the model has loaded {loaded} of the "
        f"{count} MCP tools; it finds the others (marked deferred) with ToolSearch."
    )

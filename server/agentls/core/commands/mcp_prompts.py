"""MCP servers' prompts as slash commands: `/mcp__<server>__<prompt> args`, as Claude Code names
them. Listing one runs nothing; running one asks its server for the prompt (`prompts/get`) with
the typed words as its arguments, in the order the prompt declares them (the last takes the rest
of the line), and sends what comes back as the user's prompt."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from agentls.core.commands.custom import CommandInfo, CustomCommand
from agentls.core.commands.registry import CommandRegistry
from agentls.tools.base import ToolError

if TYPE_CHECKING:
    from agentls.core.state import SessionState
    from agentls.mcp.connection import PromptInfo

_UNSAFE = re.compile(r"[^\w.:-]")


class McpPromptError(Exception):
    """The prompt cannot be had as typed (a missing argument, the server failed); for the user."""


def command_name(server: str, prompt: str) -> str:
    return f"mcp__{server}__{_UNSAFE.sub('_', prompt)}"


def with_mcp_prompts(registry: CommandRegistry, prompts: Sequence[tuple[str, PromptInfo]]) -> CommandRegistry:
    """`registry` plus a command per MCP prompt (a file command of the same name wins)."""
    custom = dict(registry.custom)
    for server, prompt in prompts:
        name = command_name(server, prompt.name)
        if name in custom or name in registry.builtins:
            continue
        hint = " ".join(f"<{a.name}>" if a.required else f"[{a.name}]" for a in prompt.arguments) or None
        info = CommandInfo(
            name=name,
            description=prompt.description or f"The {prompt.name} prompt of the MCP server {server}",
            argument_hint=hint,
            source="mcp",
            calls_model=True,
            namespace=server,
        )
        custom[name] = CustomCommand(
            info=info, body="", allowed_tools=None, model=None, mcp_prompt=(server, prompt)
        )
    return replace(registry, custom=custom)


def prompt_arguments(prompt: PromptInfo, typed: str) -> dict[str, str]:
    """The typed words as the prompt's arguments, in order; the last declared one takes the rest.
    Quotes group words (`"two words"`)."""
    try:
        words = shlex.split(typed)
    except ValueError:
        words = typed.split()
    declared = prompt.arguments
    values: dict[str, str] = {}
    for i, argument in enumerate(declared):
        if i >= len(words):
            break
        values[argument.name] = " ".join(words[i:]) if i == len(declared) - 1 else words[i]
    if len(words) > len(declared) and not declared:
        raise McpPromptError(f"the prompt {prompt.name} takes no arguments")
    missing = [a.name for a in declared if a.required and a.name not in values]
    if missing:
        usage = " ".join(f"<{a.name}>" if a.required else f"[{a.name}]" for a in declared)
        raise McpPromptError(f"the prompt {prompt.name} needs {', '.join(missing)} (usage: {usage})")
    return values


async def mcp_prompt_text(state: SessionState, which: tuple[str, PromptInfo], typed: str) -> str:
    server, prompt = which
    if state.mcp is None:
        raise McpPromptError(f"the MCP server {server} is not part of this session")
    arguments = prompt_arguments(prompt, typed)
    try:
        text = await state.mcp.servers.get_prompt(server, prompt.name, arguments)
    except ToolError as err:
        raise McpPromptError(str(err)) from None
    if not text.strip():
        raise McpPromptError(f"the MCP server {server} gave an empty prompt for {prompt.name}")
    return text

"""Running a slash command: the built-ins, custom commands, user-invocable skills and MCP prompts
(`dispatch.py` says when a prompt is one, and comes here only then)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from agentls.core.commands import local
from agentls.core.commands.custom import CustomCommand
from agentls.core.commands.errors import CommandError, UnknownCommand
from agentls.core.commands.invocation import Invocation
from agentls.core.commands.mcp_prompts import McpPromptError, mcp_prompt_text, with_mcp_prompts
from agentls.core.commands.mcp_status import mcp_status
from agentls.core.commands.registry import CommandRegistry, CommandSources, load_commands
from agentls.core.commands.review import (
    ReviewError,
    file_review_prompt,
    working_tree_review_prompt,
)
from agentls.core.commands.rewind import rewind_command
from agentls.core.commands.runs import Emit, LocalRun, Run, ScopedTurn
from agentls.core.events import CommandOutput, Notice
from agentls.core.skills.content import skill_prompt
from agentls.policy.decision import PermissionPolicy
from agentls.policy.tool_scope import ScopedPolicy, ToolScope
from agentls.tools.base import display_path
from agentls.tools.report_finding import REPORT_FINDING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from agentls.core.session import Session
    from agentls.core.state import SessionState


def command_sources(state: SessionState) -> CommandSources:
    return CommandSources.of(local.settings_sources(state))


async def session_commands(state: SessionState, *, wait_for_servers: bool = False) -> CommandRegistry:
    """The commands this session offers now (the files are read again each time: cheap, and an
    edited command applies at once), with its connected MCP servers' prompts; `wait_for_servers`
    first waits for servers still starting (to run an `mcp__` command typed right away)."""
    registry = await asyncio.to_thread(load_commands, command_sources(state))
    if state.mcp is None:
        return registry
    if wait_for_servers:
        await state.mcp.servers.settle(ask=False)
    return with_mcp_prompts(registry, state.mcp.servers.prompts())


async def run_slash_command(session: Session, parsed: Invocation) -> Run:
    """Run a slash command (`dispatch.py` decided the prompt is one)."""
    state = session.state
    registry = await session_commands(state, wait_for_servers=parsed.name.startswith("mcp__"))
    state.blackbox.write("command", name=parsed.name, arguments=parsed.arguments)
    notices = [Notice(level="warning", message=w) for w in registry.warnings]
    if parsed.name in registry.builtins:
        return await _builtin(session, registry, parsed, notices)
    custom = registry.custom.get(parsed.name)
    if custom is None:
        raise UnknownCommand(parsed.name, registry.similar(parsed.name), registry.warnings)
    return _custom(session, custom, await _prompt(state, custom, parsed.arguments), notices)


def _local(
    session: Session, name: str, notices: list[Notice], body: Callable[[Emit], Awaitable[CommandOutput]]
) -> LocalRun:
    async def run(emit: Emit) -> None:
        for notice in notices:
            emit(notice)
        emit(await body(emit))

    return LocalRun(name, run, session.state.blackbox)


async def _builtin(
    session: Session, registry: CommandRegistry, parsed: Invocation, notices: list[Notice]
) -> Run:
    state = session.state
    name, args = parsed.name, parsed.arguments

    async def now(output: CommandOutput) -> CommandOutput:
        return output

    match name:
        case "compact":
            return _local(session, name, notices, lambda emit: local.compact(state, args, emit))
        case "clear":
            return _local(session, name, notices, lambda emit: local.clear(state, emit))
        case "cost":
            return _local(session, name, notices, lambda _emit: now(local.cost(state)))
        case "context":
            return _local(session, name, notices, lambda _emit: now(local.context(state)))
        case "model":
            return _local(session, name, notices, lambda _emit: now(local.model(state, args)))
        case "permissions":
            return _local(session, name, notices, lambda _emit: local.permissions(state))
        case "agents":
            return _local(session, name, notices, lambda _emit: asyncio.to_thread(local.agents, state))
        case "mcp":
            return _local(session, name, notices, lambda _emit: mcp_status(state))
        case "rewind":
            return _local(session, name, notices, lambda _emit: rewind_command(session, args))
        case "help":
            return _local(session, name, notices, lambda _emit: now(local.help_text(registry)))
        case "review":
            return _scoped(session, await _review_prompt(state, args), notices)
        case "init":
            return _scoped(session, await _init_prompt(state, args), notices)
    raise CommandError(f"/{name} is not implemented")  # pragma: no cover - BUILTINS and this agree


def _scoped(session: Session, prompt: str, notices: list[Notice]) -> ScopedTurn:
    """A built-in command's turn: no scope of its own, only the notices first."""
    return ScopedTurn(session.run(prompt), _nothing, _nothing, before=notices)


def _nothing() -> None:
    pass


async def _prompt(state: SessionState, command: CustomCommand, arguments: str) -> str:
    """A custom command's prompt; a skill's is its text (`core/skills/content.py`); an MCP
    prompt's is what its server makes of the arguments."""
    if command.mcp_prompt is not None:
        try:
            return await mcp_prompt_text(state, command.mcp_prompt, arguments)
        except McpPromptError as err:
            raise CommandError(f"/{command.info.name}: {err}") from None
    if command.skill is None:
        return command.expand(arguments)
    root = state.tool_ctx.workspace.root
    return await skill_prompt(command.skill, arguments, project=root, session_id=state.session_id)


def _custom(session: Session, command: CustomCommand, prompt: str, notices: list[Notice]) -> ScopedTurn:
    state = session.state
    info = command.info
    scope: ToolScope | None = None
    if command.allowed_tools is not None:
        scope = ToolScope.parse(
            command.allowed_tools,
            label=f"/{info.name} (allowed-tools)",
            root=state.tool_ctx.workspace.root,
            home=local.settings_sources(state).home,
            source_file=info.path,
            known_tools=state.registry.names(),
        )
        notices = [*notices, *(Notice(level="warning", message=w) for w in scope.warnings)]
    saved_policy: list[PermissionPolicy] = []
    saved_model: list[str] = []

    def enter() -> None:
        if scope is not None:
            saved_policy.append(state.policy)
            state.policy = ScopedPolicy(state.policy, scope)
        if command.model is not None and command.model != state.config.model:
            saved_model.append(state.config.model)
            state.switch_model(command.model)

    def leave() -> None:
        if saved_policy:
            state.policy = saved_policy.pop()
        if saved_model and state.config.model == command.model:
            state.switch_model(saved_model.pop())

    return ScopedTurn(session.run(prompt), enter, leave, before=notices)


async def _review_prompt(state: SessionState, arguments: str) -> str:
    report_tool = REPORT_FINDING in state.registry
    workspace = state.tool_ctx.workspace
    target = arguments.strip()
    try:
        if not target:
            return (await working_tree_review_prompt(workspace, report_tool=report_tool)).prompt
    except ReviewError as err:
        raise CommandError(f"/review: {err}") from None
    path = workspace.root / target
    if await workspace.stat(path) is None:
        raise CommandError(f"/review: no such file: {target}")
    return file_review_prompt(display_path(path, workspace.root), report_tool=report_tool).prompt


INIT_PROMPT = """Explore this project and write an AGENTS.md file at its root: the instructions a \
coding agent (or a new contributor) needs to work in it well.

Find out by reading the repository (the README, build and package files, CI configuration, \
instructions for other agents or editors such as CLAUDE.md, .cursorrules or \
.github/copilot-instructions.md, and the code itself):
- what the project is and how it is laid out: the main directories and modules, and what lives where;
- the exact commands to set it up, build it, run it, run the tests (all of them, and a single one), \
the linters and the type checker;
- the conventions the code follows that one file does not show: style, naming, error handling, \
how tests are written;
- anything the repository says an agent must or must not do.

Keep it short and concrete: commands in code blocks, no generic advice, nothing you did not check."""


async def _init_prompt(state: SessionState, arguments: str) -> str:
    workspace = state.tool_ctx.workspace
    prompt = INIT_PROMPT
    if await workspace.stat(workspace.root / "AGENTS.md") is not None:
        prompt += (
            "\n\nAn AGENTS.md already exists: read it first and improve it in place, keeping what is "
            "still true."
        )
    else:
        prompt += "\n\nCreate it with the Write tool when you are done exploring."
    if arguments.strip():
        prompt += f"\n\nThe user asks you to focus on: {arguments.strip()}"
    return prompt

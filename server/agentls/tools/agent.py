"""The Agent tool: hand a self-contained task to a subagent, with Claude Code's name and input
schema so Claude models use it as trained.

The subagent runs in the core (`core/subagents.py`), reached through the `Subagents` port in the
tool context: a nested turn with its own conversation, tools and transcript; its final answer is
this tool's result. The call itself changes nothing (`read_only`), so several Agent calls in one
response run at once; what the subagent does is checked call by call, like the parent's own.
`resume` continues an earlier subagent of the session by its id; `run_in_background` returns at
once, and the answer reaches the model later (`core/background.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import Field

from agentls.tools.base import Tool, ToolContext, ToolEnv, ToolError, ToolInput, ToolOutput


class AgentInput(ToolInput):
    description: str = Field(
        min_length=1, max_length=200, description="A short (3-5 word) description of the task"
    )
    prompt: str = Field(min_length=1, max_length=100_000, description="The task for the agent to perform")
    subagent_type: str = Field(
        min_length=1, max_length=100, description="The type of specialized agent to use for this task"
    )
    model: str | None = Field(
        default=None,
        max_length=200,
        description="Optional model for this agent; by default the agent's own or yours",
    )
    run_in_background: bool | None = Field(
        default=None,
        description=(
            "Start the agent and return at once with its agentId; its answer comes to you later "
            "in a <task-notification>"
        ),
    )
    resume: str | None = Field(
        default=None,
        max_length=128,
        description=(
            "The agentId of an earlier agent of this session to continue: it keeps its "
            "conversation and finished work, and `prompt` is its next instruction"
        ),
    )


@dataclass(frozen=True)
class SubagentReport:
    text: str
    """The subagent's final answer, or why it stopped."""
    is_error: bool = False
    note: str | None = None
    """For display: its requests, tokens and cost."""


def resume_hint(agent_type: str, agent_id: str) -> str:
    """For an Agent call that stopped before its subagent answered."""
    return (
        f"The {agent_type} agent's work so far is kept: to finish its task, call Agent with "
        f'resume: "{agent_id}" (its finished tool calls do not run again).\n\nagentId: {agent_id}'
    )


class Subagents(Protocol):
    """What the core offers the Agent tool (the parent session's side of a subagent)."""

    def types(self) -> Sequence[tuple[str, str]]:
        """(name, description) of every agent type, for the tool description."""
        ...

    async def run(self, args: AgentInput, ctx: ToolContext) -> SubagentReport:
        """Run (or resume) the subagent for the Agent call `ctx.call_id`; its events go to
        `ctx.emit`."""
        ...


class AgentTool(Tool[AgentInput]):
    name = "Agent"
    input_model = AgentInput
    read_only = True  # The call changes nothing itself; the subagent's own calls are checked.

    def description(self, env: ToolEnv) -> str:
        types = "\n".join(f"- {name}: {text}" for name, text in env.agent_types) or "- (none)"
        return (
            "Launch a subagent to handle a complex, multi-step task on its own. It starts with an "
            "empty context, works with its own tools and returns one final message, which is all "
            "you see of its work: brief it completely in `prompt` (what to do, what to return).\n\n"
            f"Agent types (`subagent_type`):\n{types}\n\n"
            "Use it to keep your own context small (broad searches: explore), to plan (plan) or to "
            "check work (verify). Launch several at once, in one message, when their tasks are "
            "independent; they run concurrently. Do not use it for a single file read or a simple "
            "search: use Read, Grep or Glob directly.\n\n"
            "Each result ends with the agent's `agentId`. To continue that agent (a follow-up, or "
            "one that was interrupted) pass it as `resume`: it keeps everything it has done, "
            "and nothing it finished runs again. With `run_in_background` the call returns at "
            "once and the answer comes later as a <task-notification>: use it for long work you "
            "need not wait for; your turn does not end before every background agent has answered."
        )

    def summary(self, args: AgentInput, root: Path) -> str:
        return f"Agent ({args.subagent_type}): {args.description}"

    async def call(self, args: AgentInput, ctx: ToolContext) -> ToolOutput:
        if ctx.subagents is None:
            raise ToolError("Subagents are not available in this session.")
        report = await ctx.subagents.run(args, ctx)
        return ToolOutput(report.text, is_error=report.is_error, note=report.note)

"""The Skill tool: load a skill's instructions into the conversation, with Claude Code's name and
input schema (`skill`, `args`) so Claude models use it as trained.

Only the skills' names and descriptions are in the tool's description (`ToolEnv.skill_listing`,
fitted to a token budget by the core); the instructions reach the model as this tool's result, when
it asks for them. The skills themselves live in the core (`core/skills/`), reached through the
`SkillHost` port in the tool context: it finds the skill, substitutes the arguments, lists the
skill's other files and, when the skill has `allowed-tools`, narrows the session's tools for the
rest of the turn. The call changes nothing in the workspace (`read_only`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import Field

from agentls.tools.base import Tool, ToolContext, ToolEnv, ToolError, ToolInput, ToolOutput

SKILL = "Skill"


class SkillInput(ToolInput):
    skill: str = Field(
        min_length=1, max_length=200, description='The name of the skill to load, as listed (e.g. "pdf")'
    )
    args: str | None = Field(
        default=None,
        max_length=100_000,
        description="Optional arguments for the skill, as a user would type them after /name",
    )


@dataclass(frozen=True)
class LoadedSkill:
    text: str
    """The instructions, with the arguments substituted, and where the skill's files are."""
    note: str | None = None
    """For display only: e.g. the tools the skill limits the turn to."""


class SkillHost(Protocol):
    """What the core offers the Skill tool."""

    async def load(self, name: str, arguments: str, ctx: ToolContext) -> LoadedSkill:
        """The skill `name` for the call `ctx.call_id`; raises `ToolError`, naming the skills there
        are, when `name` is not one the model may load."""
        ...


class SkillTool(Tool[SkillInput]):
    name = SKILL
    input_model = SkillInput
    read_only = True  # It only reads the skill's file; what the instructions lead to is checked call by call.

    def description(self, env: ToolEnv) -> str:
        listing = env.skill_listing or "- (none)"
        return (
            "Load a skill: instructions for a kind of task (often with scripts, templates or "
            "references next to them), written by the user or for this project. When the task "
            "in front of you matches a skill below, load it before you start on the task and "
            "follow what it says; do not load skills on the off chance, and do not load one that "
            "is already loaded in this conversation.\n\n"
            f"Skills (`skill`: what it is for):\n{listing}\n\n"
            "`args` goes to the skill as the user would type it after /name (a file, an issue "
            "number, …). The result is the skill's instructions and a list of the other files in "
            "its folder: Read those only when the instructions call for them. A skill may limit "
            "the tools you can use until the end of the turn; the result says so."
        )

    def summary(self, args: SkillInput, root: Path) -> str:
        return f"Skill {args.skill}"

    async def call(self, args: SkillInput, ctx: ToolContext) -> ToolOutput:
        if ctx.skills is None:
            raise ToolError("There are no skills in this session.")
        # The model sometimes writes the name as the user types it (`/pdf`).
        loaded = await ctx.skills.load(args.skill.strip().removeprefix("/"), args.args or "", ctx)
        return ToolOutput(loaded.text, note=loaded.note)

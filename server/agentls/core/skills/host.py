"""The core's side of the Skill tool (`tools/skill.py`'s `SkillHost`): a session's skills, loaded
at its start, and what loading one does.

Loading a skill returns its text (`content.py`) as the tool result and, when the skill has
`allowed-tools`, narrows the session's tools from that moment to the end of the turn
(`SessionState.narrow_turn`; the loop undoes it when the turn ends). A scope only takes tools
away: whatever a skill's instructions say, every call still goes through the session's whole
permission pipeline. A skill's `model` applies only when the user runs it as `/name` (switching
models in the middle of the model's own turn would throw away its prompt cache).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from agentls.core.events import Notice
from agentls.core.skills.catalog import SkillCatalog, SkillDefinition
from agentls.core.skills.content import skill_prompt
from agentls.core.skills.listing import SkillListing
from agentls.policy.tool_scope import ToolScope
from agentls.tools.base import ToolContext, ToolError
from agentls.tools.skill import LoadedSkill

if TYPE_CHECKING:
    from agentls.core.state import SessionState


class SessionSkills:
    def __init__(self, state: SessionState, catalog: SkillCatalog, listing: SkillListing) -> None:
        self._state = state
        self.catalog = catalog
        self.listing = listing
        """What the Skill tool's description lists (and how big it is, for `/context`)."""

    async def load(self, name: str, arguments: str, ctx: ToolContext) -> LoadedSkill:
        skill = self._find(name)
        state = self._state
        root = ctx.workspace.root
        text = await skill_prompt(skill, arguments, project=root, session_id=state.session_id)
        note: str | None = None
        if skill.allowed_tools is not None:
            scope = ToolScope.parse(
                skill.allowed_tools,
                label=f"the skill {skill.name} (allowed-tools)",
                root=root,
                home=state.permissions.sources.home if state.permissions is not None else Path.home(),
                source_file=skill.path,
                known_tools=state.registry.names(),
            )
            if ctx.emit is not None:
                for warning in scope.warnings:
                    ctx.emit(Notice(level="warning", message=warning))
            state.narrow_turn(scope)
            text += (
                f"\n\nWhile this skill is active (until the end of this turn) you can use only: "
                f"{scope.names()}."
            )
            note = f"tools limited to {scope.names()} until the end of the turn"
        state.blackbox.write(
            "skill_loaded",
            name=skill.name,
            path=str(skill.path),
            by="model",
            allowed_tools=list(skill.allowed_tools) if skill.allowed_tools is not None else None,
        )
        return LoadedSkill(text, note)

    def _find(self, name: str) -> SkillDefinition:
        skill = self.catalog.get(name)
        if skill is not None and skill.model_invocable:
            return skill
        available = ", ".join(s.name for s in self.catalog.model_invocable()) or "none"
        if skill is not None:
            raise ToolError(
                f"The skill {name} is not yours to load: only the user runs it (/{name}). "
                f"The skills you can load: {available}."
            )
        raise ToolError(f"Unknown skill: {name}. The skills you can load: {available}.")

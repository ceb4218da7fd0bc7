"""What a skill says once it is loaded, by the model (`Skill` tool) or the user (`/name`): its
instructions with the arguments and variables substituted, where its folder is, and which other
files are in it.

Substitution is the custom commands' (`commands/custom.py` `expand`: `$ARGUMENTS`, `$1`, …, the
arguments appended when the body uses neither) plus `${CLAUDE_SKILL_DIR}`,
`${CLAUDE_PROJECT_DIR}` and `${CLAUDE_SESSION_ID}`. The other files are listed with their sizes,
never inlined: the model reads the ones the instructions call for, so a large reference costs
nothing until it is needed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentls.core.commands.custom import expand
from agentls.core.skills.catalog import SkillDefinition
from agentls.store.skill_files import Resources, skill_resources


def skill_variables(skill: SkillDefinition, *, project: Path, session_id: str) -> dict[str, str]:
    return {
        "CLAUDE_SKILL_DIR": str(skill.directory),
        "CLAUDE_PROJECT_DIR": str(project),
        "CLAUDE_SESSION_ID": session_id,
    }


async def skill_prompt(skill: SkillDefinition, arguments: str, *, project: Path, session_id: str) -> str:
    """The skill's text for `arguments` (its folder is listed now: files added since the session
    started are in it)."""
    resources = await asyncio.to_thread(skill_resources, skill.directory)
    return render(skill, arguments, project=project, session_id=session_id, resources=resources)


def render(
    skill: SkillDefinition, arguments: str, *, project: Path, session_id: str, resources: Resources
) -> str:
    variables = skill_variables(skill, project=project, session_id=session_id)
    parts = [f"Base directory for this skill: {skill.directory}", expand(skill.body, arguments, variables)]
    if resources.files:
        lines = [f"- {r.path} ({_size(r.size)})" for r in resources.files]
        if resources.truncated:
            lines.append("- … (more files; list the folder to see them)")
        parts.append(
            "Other files in this skill's folder (not loaded: Read the ones the instructions call "
            "for, when they call for them):\n" + "\n".join(lines)
        )
    return "\n\n".join(parts)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"

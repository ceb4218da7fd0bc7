"""The skills a session has: `SKILL.md` folders in Claude Code's format, found and parsed.

    .claude/skills/release-notes/SKILL.md
    ---
    name: release-notes                # optional; default: the folder's name
    description: Drafts release notes from the git log. Use when asked for a changelog.
    when_to_use: Before tagging a release   # optional; shown to the model after the description
    argument-hint: [since-tag]         # optional; shown when completing /release-notes
    allowed-tools: Read, Bash(git log:*)    # optional; narrows the tools while the skill is active
    disable-model-invocation: false    # optional; true: only the user runs it (/release-notes)
    user-invocable: true               # optional; false: not a /command, only the model loads it
    model: claude-haiku-4-5            # optional; the model of a /release-notes turn
    ---
    Read the git log since $1 and ... (the body: the skill's instructions)

Skills are read from, lowest precedence first, `~/.claude/skills/`, `~/.config/agentls/skills/`
(the user's) and, only in a trusted workspace (the same rule as the project's agents, commands and
hooks), `.claude/skills/`, `.agentls/skills/` (the project's). A later directory overrides an
earlier one by name; within one directory the first folder (by name) of a name wins. Every key is
optional; unknown keys (Claude Code has more) are ignored; booleans may be written yes/no, on/off,
true/false or 1/0. A folder whose `SKILL.md` does not parse is skipped with a warning naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agentls.core.commands.custom import CommandInfo, CustomCommand, description_of, text_field, tool_rules
from agentls.store.frontmatter import FrontmatterError, read_markdown
from agentls.store.skill_files import MAX_SKILLS, SKILL_FILE, skill_folders

SkillSource = Literal["project", "user"]

NAME = re.compile(r"[A-Za-z0-9][\w.:-]{0,63}")
"""A command's name (`/name` must work), at most 64 characters as in Claude Code."""
MAX_DESCRIPTION = 1024
"""Claude Code's limit; the listing the model sees shortens them further when there are many."""

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


@dataclass(frozen=True)
class SkillDefinition:
    name: str
    description: str
    body: str
    """The instructions, with `$ARGUMENTS`, `$1`, `${CLAUDE_SKILL_DIR}`, … not yet substituted."""
    path: Path
    """Its `SKILL.md`; the folder holding it is the skill's."""
    source: SkillSource
    when_to_use: str | None = None
    argument_hint: str | None = None
    allowed_tools: tuple[str, ...] | None = None
    """Rules naming the tools usable while the skill is active; None: no narrowing."""
    model: str | None = None
    """The model of a turn the user starts with `/name`; None: the session's."""
    model_invocable: bool = True
    """False (`disable-model-invocation: true`): never listed for the model, which cannot load it."""
    user_invocable: bool = True
    """False: not offered as a `/name` command."""

    @property
    def directory(self) -> Path:
        return self.path.parent

    def as_command(self) -> CustomCommand:
        """The `/name` command that runs it; its prompt is built by `content.skill_prompt`."""
        info = CommandInfo(
            name=self.name,
            description=self.description,
            argument_hint=self.argument_hint,
            source="skill",
            calls_model=True,
            path=self.path,
            namespace=self.source,  # Its label reads `skill:project` or `skill:user`.
        )
        return CustomCommand(info, self.body, self.allowed_tools, self.model, skill=self)


@dataclass(frozen=True)
class SkillCatalog:
    skills: dict[str, SkillDefinition]
    warnings: tuple[str, ...] = ()
    """Folders skipped and why, and project skills ignored in an untrusted folder."""

    def get(self, name: str) -> SkillDefinition | None:
        return self.skills.get(name)

    def model_invocable(self) -> list[SkillDefinition]:
        """What the model may load, in the order it is listed (and dropped from the end when the
        listing is over budget): the project's first, then the user's, each by name."""
        found = [s for s in self.skills.values() if s.model_invocable]
        return sorted(found, key=lambda s: (s.source != "project", s.name))

    def user_invocable(self) -> list[SkillDefinition]:
        return sorted((s for s in self.skills.values() if s.user_invocable), key=lambda s: s.name)


def user_directories(home: Path, config: Path) -> list[Path]:
    return [home / ".claude" / "skills", config / "skills"]


def project_directories(project: Path) -> list[Path]:
    return [project / ".claude" / "skills", project / ".agentls" / "skills"]


def load_skills(project: Path, home: Path, config: Path, *, trusted: bool) -> SkillCatalog:
    """Every skill of the user's and (`trusted`) the project's skills directories."""
    skills: dict[str, SkillDefinition] = {}
    warnings: list[str] = []
    directories: list[tuple[Path, SkillSource]] = [(d, "user") for d in user_directories(home, config)]
    if trusted:
        directories += [(d, "project") for d in project_directories(project)]
    else:
        ignored = [d for d in project_directories(project) if skill_folders(d).folders]
        if ignored:
            warnings.append(
                f"the skills in {', '.join(str(d) for d in ignored)} are ignored: the folder "
                f"{project} is not trusted (agentls trust)"
            )
    for directory, source in directories:
        listing = skill_folders(directory)
        if listing.truncated:
            warnings.append(f"{directory}: more than {MAX_SKILLS} skills; the rest were ignored")
        seen: dict[str, Path] = {}
        for folder in listing.folders:
            try:
                skill = parse_skill(folder / SKILL_FILE, source)
            except (FrontmatterError, ValueError) as err:
                warnings.append(f"skill skipped: {err}")
                continue
            if skill.name in seen:
                earlier = seen[skill.name]
                warnings.append(f"skill skipped: {skill.path}: the skill {skill.name} is already {earlier}")
                continue
            seen[skill.name] = skill.path
            if not skill.model_invocable and not skill.user_invocable:
                warnings.append(
                    f"{skill.path}: disable-model-invocation is true and user-invocable false, so "
                    "nothing can use this skill"
                )
            skills[skill.name] = skill
    return SkillCatalog(skills, tuple(warnings))


def parse_skill(path: Path, source: SkillSource) -> SkillDefinition:
    """One `SKILL.md`; raises `FrontmatterError` or `ValueError` naming the file and the problem."""
    doc = read_markdown(path)
    meta = doc.meta
    name = meta.get("name", path.parent.name)
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(
            f"{path}: {name!r} cannot be a skill name (up to 64 letters, digits, _, -, . and :, "
            "starting with a letter or digit)"
        )
    body = doc.body.strip()
    if not body:
        raise ValueError(f"{path}: the body (the skill's instructions) is empty")
    description = text_field(meta, "description", path)
    description = description_of(description, body, MAX_DESCRIPTION)
    allowed = tool_rules(meta.get("allowed-tools"), path)
    model = text_field(meta, "model", path)
    return SkillDefinition(
        name=name,
        description=description,
        body=body,
        path=path,
        source=source,
        when_to_use=text_field(meta, "when_to_use", path),
        argument_hint=text_field(meta, "argument-hint", path),
        allowed_tools=allowed,
        model=None if model in (None, "inherit") else model,
        model_invocable=not _flag(meta, "disable-model-invocation", False, path),
        user_invocable=_flag(meta, "user-invocable", True, path),
    )


def _flag(meta: dict[str, Any], key: str, default: bool, path: Path) -> bool:
    """A boolean key. YAML already reads yes/no/on/off/true/false as booleans; quoted words and
    1/0 are accepted too. Anything else skips the skill rather than guess which way it was meant
    (a mistyped `disable-model-invocation` must not let the model in)."""
    value = meta.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"{path}: `{key}` must be true or false (or yes/no, on/off, 1/0), got {value!r}")

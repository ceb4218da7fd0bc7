"""The slash commands a session offers, by name: the built-in ones and the user's Markdown files.

Metadata first, as the tool registry: building or listing a registry reads the command files'
frontmatter and bodies (small, bounded) and runs nothing. Custom commands come from, lowest
precedence first:

- the user's: `~/.claude/commands/`, `~/.config/agentls/commands/`;
- the project's, only in a trusted workspace (`agentls trust`, as for the project's settings):
  `.claude/commands/`, `.agentls/commands/`.

A later directory overrides an earlier one by name (the project's over the user's, `.agentls`
over `.claude`); within one directory the first file of a name wins (a folder's files before its
subfolders', by name) and the others are skipped with a warning. A built-in command cannot be
overridden. A file that does not parse is skipped with a warning naming it.

User-invocable skills (`core/skills/`) are commands too (source `skill`). A skill and a command
of the same name: the project's wins over the user's and, at the same level, the skill wins (as in
Claude Code, where skills took commands over); a warning says which one `/name` runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from agentls.core.commands.custom import CommandInfo, CommandSource, CustomCommand, parse_command_file
from agentls.core.skills.catalog import load_skills
from agentls.policy.loader import SettingsSources
from agentls.store.command_files import MAX_FILES, markdown_files
from agentls.store.frontmatter import FrontmatterError

BUILTINS: tuple[CommandInfo, ...] = (
    CommandInfo(
        "compact",
        "Summarise the conversation so far to free the context window (the instructions say what "
        "the summary must keep)",
        "[instructions]",
        "builtin",
        calls_model=True,
    ),
    CommandInfo(
        "clear",
        "Start the conversation over in this session (the transcript keeps the earlier one)",
        None,
        "builtin",
        calls_model=False,
    ),
    CommandInfo("cost", "Tokens and cost of this session so far", None, "builtin", calls_model=False),
    CommandInfo(
        "context",
        "What fills the context window: system prompt, tools, messages, tool results",
        None,
        "builtin",
        calls_model=False,
    ),
    CommandInfo("model", "Show the session's model, or switch to another", "[model]", "builtin", False),
    CommandInfo(
        "permissions",
        "The effective permission rules, the mode, trust, and recent decisions",
        None,
        "builtin",
        calls_model=False,
    ),
    CommandInfo("agents", "The agent types this session can start as subagents", None, "builtin", False),
    CommandInfo("mcp", "The session's MCP servers, their state and their tools", None, "builtin", False),
    CommandInfo(
        "review",
        "Review the uncommitted changes (or one file) for bugs",
        "[path]",
        "builtin",
        calls_model=True,
    ),
    CommandInfo(
        "init",
        "Explore the project and write an AGENTS.md that tells agents how to work in it",
        "[what to focus on]",
        "builtin",
        calls_model=True,
    ),
    CommandInfo(
        "rewind",
        "List the checkpoints, or put back what the agent changed since one (and/or the conversation)",
        "[N] [code|conversation|both]",
        "builtin",
        calls_model=False,
    ),
    CommandInfo("help", "The commands available here", None, "builtin", calls_model=False),
)


@dataclass(frozen=True)
class CommandSources:
    """Where a session's custom commands come from."""

    project: Path
    home: Path
    config: Path
    """agentls' user configuration directory (`~/.config/agentls`)."""
    trusted: bool
    """The project is trusted: its own commands count."""

    @classmethod
    def of(cls, settings: SettingsSources) -> CommandSources:
        trusted, _ = settings.trusted()
        return cls(settings.project, settings.home, settings.config, trusted)

    def user_directories(self) -> list[Path]:
        return [self.home / ".claude" / "commands", self.config / "commands"]

    def project_directories(self) -> list[Path]:
        return [self.project / ".claude" / "commands", self.project / ".agentls" / "commands"]


@dataclass(frozen=True)
class CommandRegistry:
    builtins: dict[str, CommandInfo]
    custom: dict[str, CustomCommand] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def info(self, name: str) -> CommandInfo | None:
        builtin = self.builtins.get(name)
        if builtin is not None:
            return builtin
        command = self.custom.get(name)
        return command.info if command is not None else None

    def names(self) -> list[str]:
        return [*self.builtins, *sorted(self.custom)]

    def infos(self) -> list[CommandInfo]:
        """Built-in commands first, then the custom ones by name."""
        return [*self.builtins.values(), *(self.custom[n].info for n in sorted(self.custom))]

    def similar(self, name: str, limit: int = 5) -> list[str]:
        """Names close to `name` (a typo, another case, a prefix), best first."""
        names = self.names()
        lowered = {n.lower(): n for n in names}
        out: list[str] = []
        if name.lower() in lowered:
            out.append(lowered[name.lower()])
        out += [n for n in names if n.lower().startswith(name.lower()) and n not in out]
        out += [n for n in difflib.get_close_matches(name, names, n=limit, cutoff=0.6) if n not in out]
        return out[:limit]


def builtin_registry() -> CommandRegistry:
    return CommandRegistry({c.name: c for c in BUILTINS})


def load_commands(sources: CommandSources) -> CommandRegistry:
    """The built-in commands and the custom ones `sources` name (see the module's docstring)."""
    builtins = {c.name: c for c in BUILTINS}
    warnings: list[str] = []
    custom: dict[str, CustomCommand] = {}
    directories: list[tuple[Path, CommandSource]] = [(d, "user") for d in sources.user_directories()]
    if sources.trusted:
        directories += [(d, "project") for d in sources.project_directories()]
    else:
        ignored = [d for d in sources.project_directories() if markdown_files(d).files]
        if ignored:
            warnings.append(
                f"the commands in {', '.join(str(d) for d in ignored)} are ignored: the folder "
                f"{sources.project} is not trusted (agentls trust)"
            )
    for directory, source in directories:
        for command in _directory(directory, source, builtins, warnings):
            custom[command.info.name] = command
    _add_skills(sources, builtins, custom, warnings)
    return CommandRegistry(builtins, custom, tuple(warnings))


_LEVEL = {"user": 0, "project": 1}


def _add_skills(
    sources: CommandSources,
    builtins: dict[str, CommandInfo],
    custom: dict[str, CustomCommand],
    warnings: list[str],
) -> None:
    """The user-invocable skills, as commands (see the module's docstring for a shared name)."""
    catalog = load_skills(sources.project, sources.home, sources.config, trusted=sources.trusted)
    warnings += catalog.warnings
    for skill in catalog.user_invocable():
        name = skill.name
        if name in builtins:
            still = " (the model can still load it)" if skill.model_invocable else ""
            warnings.append(f"the skill {skill.path} is not a command: /{name} is a built-in command{still}")
            continue
        command = custom.get(name)
        if command is not None:
            if _LEVEL[command.info.source] > _LEVEL[skill.source]:
                warnings.append(
                    f"/{name} runs the project's command {command.info.path}, not the user's skill "
                    f"{skill.path} of the same name"
                )
                continue
            warnings.append(
                f"/{name} runs the skill {skill.path}, not the command {command.info.path} of the same name"
            )
        custom[name] = skill.as_command()


def _directory(
    directory: Path, source: CommandSource, builtins: dict[str, CommandInfo], warnings: list[str]
) -> Iterable[CustomCommand]:
    listing = markdown_files(directory)
    if listing.truncated:
        warnings.append(f"{directory}: more than {MAX_FILES} command files; the rest were ignored")
    seen: dict[str, Path] = {}
    for found in listing.files:
        try:
            command = parse_command_file(found.path, found.folders, source)
        except (FrontmatterError, ValueError) as err:
            warnings.append(f"command file skipped: {err}")
            continue
        name = command.info.name
        if name in builtins:
            warnings.append(f"command file skipped: {found.path}: /{name} is a built-in command")
            continue
        if name in seen:
            warnings.append(f"command file skipped: {found.path}: /{name} is already {seen[name]}")
            continue
        seen[name] = found.path
        yield command

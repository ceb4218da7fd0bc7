"""Custom commands: Markdown prompts in Claude Code's command format, and their expansion.

    ---
    description: Fix a GitHub issue
    argument-hint: <issue-number> [priority]
    allowed-tools: Read, Edit, Bash(git diff:*)
    model: claude-haiku-4-5
    ---
    Fix issue #$1 (priority $2). Everything the user typed: $ARGUMENTS

Every frontmatter key is optional; unknown keys (Claude Code has more) are ignored. The file's name
is the command's name (`fix-issue.md` is `/fix-issue`); subfolders organise commands without
changing their names, as in Claude Code (`frontend/component.md` is `/component`, described as
coming from `project:frontend`). The body is the prompt: `$ARGUMENTS` becomes everything after the
name, `$1`, `$2`, … the words of it (shell-like: quotes group words); a body that uses neither gets
the arguments appended as `ARGUMENTS: …`, as Claude Code does. Substitution is one pass, so an
argument containing `$1` stays as typed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agentls.core.commands.invocation import split_arguments
from agentls.store.frontmatter import read_markdown

if TYPE_CHECKING:
    from agentls.core.skills.catalog import SkillDefinition
    from agentls.mcp.connection import PromptInfo

CommandSource = Literal["builtin", "project", "user", "skill", "mcp"]

_PLACEHOLDER = re.compile(r"\$(ARGUMENTS\b|\d+)")
_SUBSTITUTION = re.compile(r"\$(ARGUMENTS\b|\d+)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_DESCRIPTION = 300


@dataclass(frozen=True)
class CommandInfo:
    """What a registry lists about a command: enough to show and complete it, nothing run."""

    name: str
    description: str
    argument_hint: str | None
    source: CommandSource
    calls_model: bool
    """Running it sends a request to the model (a prompt, a summary); the others only report or
    change the session."""
    path: Path | None = None
    """The file a custom command comes from."""
    namespace: str = ""
    """The subfolders it is in (`frontend`, `frontend/forms`), shown in its label."""

    @property
    def label(self) -> str:
        """Where it comes from, as Claude Code shows it: `project`, `user:frontend`, `built-in`."""
        if self.source == "builtin":
            return "built-in"
        return f"{self.source}:{self.namespace}" if self.namespace else self.source

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "argumentHint": self.argument_hint,
            "source": self.source,
            "label": self.label,
            "callsModel": self.calls_model,
            "path": str(self.path) if self.path is not None else None,
        }


@dataclass(frozen=True)
class CustomCommand:
    info: CommandInfo
    body: str
    allowed_tools: tuple[str, ...] | None
    """Rules naming the tools the command's turn may use (`Read`, `Bash(git diff:*)`); None: all."""
    model: str | None
    """The model for the command's turn; None: the session's."""
    skill: SkillDefinition | None = None
    """Set when the command is a user-invocable skill (`core/skills/`): its prompt is built there."""
    mcp_prompt: tuple[str, PromptInfo] | None = None
    """Set when the command is an MCP server's prompt: (server, prompt); the server builds it."""

    def expand(self, arguments: str) -> str:
        return expand(self.body, arguments)


def parse_command_file(path: Path, folders: tuple[str, ...], source: CommandSource) -> CustomCommand:
    """One command file; raises `FrontmatterError` or `ValueError` naming the file and the problem."""
    doc = read_markdown(path)
    meta = doc.meta
    name = path.stem
    if not re.fullmatch(r"[A-Za-z0-9][\w.:-]*", name):
        raise ValueError(
            f"{path}: {name!r} cannot be a command name (letters, digits, _, -, . and :, "
            "starting with a letter or digit)"
        )
    body = doc.body.strip()
    if not body:
        raise ValueError(f"{path}: the body (the command's prompt) is empty")
    description = text_field(meta, "description", path)
    hint = text_field(meta, "argument-hint", path)
    model = text_field(meta, "model", path)
    tools = tool_rules(meta.get("allowed-tools"), path)
    description = description_of(description, body, MAX_DESCRIPTION)
    info = CommandInfo(
        name=name,
        description=description,
        argument_hint=hint,
        source=source,
        calls_model=True,
        path=path,
        namespace="/".join(folders),
    )
    return CustomCommand(
        info=info,
        body=body,
        allowed_tools=tools,
        model=None if model in (None, "inherit") else model,
    )


def text_field(meta: dict[str, Any], key: str, path: Path) -> str | None:
    """A frontmatter key that holds one line of text (whitespace collapsed); None if absent."""
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{path}: `{key}` must be text, got {type(value).__name__}")
    text = " ".join(str(value).split())
    return text or None


def description_of(description: str | None, body: str, limit: int) -> str:
    """The description, or (as Claude Code shows it) the body's first line; at most `limit`
    characters."""
    text = description or body.splitlines()[0].lstrip("# ").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tool_rules(value: Any, path: Path) -> tuple[str, ...] | None:
    """`allowed-tools` as a YAML list or one string (`Read, Bash(git add:*)`: commas inside
    parentheses do not split)."""
    if value is None:
        return None
    if isinstance(value, str):
        rules = _split_rules(value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        rules = [v.strip() for v in value if v.strip()]
    else:
        raise ValueError(f"{path}: `allowed-tools` must be a list of tool rules or a comma-separated string")
    return tuple(rules)


def _split_rules(text: str) -> list[str]:
    rules: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            rules.append("".join(current))
            current = []
        else:
            current.append(char)
    rules.append("".join(current))
    return [r.strip() for r in rules if r.strip()]


def expand(body: str, arguments: str, variables: Mapping[str, str] | None = None) -> str:
    """The prompt of a command body for `arguments` (see the module's docstring). `variables` are
    the `${NAME}`s to substitute as well, in the same pass (a skill's `${CLAUDE_SKILL_DIR}`, …);
    any other `${…}` stays as written."""
    words = split_arguments(arguments)
    known = variables or {}

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key is None:
            return known.get(match.group(2), match.group(0))
        if key.startswith("ARGUMENTS"):
            return arguments
        index = int(key)
        return words[index - 1] if 1 <= index <= len(words) else ""

    expanded = _SUBSTITUTION.sub(value, body)
    if _PLACEHOLDER.search(body) is None and arguments:
        return f"{expanded}\n\nARGUMENTS: {arguments}"
    return expanded

"""Agent types a session can start as subagents: the built-in ones and the user's own files.

A user-defined agent is a Markdown file with YAML frontmatter, in Claude Code's format, read from
`~/.claude/agents/`, `~/.config/agentls/agents/` (the user's) and `.claude/agents/`,
`.agentls/agents/` (the project's, searched recursively; only in a trusted workspace):

    ---
    name: reviewer
    description: Reviews a change for bugs. Use after editing.
    tools: Read, Grep          # optional; default: every tool the parent has
    disallowedTools: Bash      # optional
    model: inherit             # optional; a model id, or inherit (the parent's)
    permissionMode: plan       # optional; can only tighten the parent's mode
    maxTurns: 20               # optional
    ---
    You are a careful reviewer. ...   (the body is the agent's system prompt)

A later source overrides an earlier one by name (built-in < user < project). A file that does not
parse is skipped with a warning naming it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from agentls.policy.decision import PERMISSION_MODES, PermissionMode
from agentls.store.command_files import markdown_files
from agentls.store.frontmatter import FrontmatterError, read_markdown, string_list

READ_ONLY_TOOLS = ("Read", "Grep", "Glob")
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class AgentDefinition:
    name: str
    description: str
    prompt: str
    """The subagent's instructions (its system prompt, before the environment block)."""
    tools: tuple[str, ...] | None = None
    """Tools it may have (of those its parent has); None: all of them."""
    disallowed_tools: tuple[str, ...] = ()
    model: str | None = None
    """None: the parent's model."""
    permission_mode: PermissionMode | None = None
    max_turns: int | None = None
    source: str = "built-in"


_EXPLORE = """You are an exploration subagent. Another agent sent you to find things out in this
codebase so that it does not have to read everything itself. Search widely and quickly: use Glob
to find files by name, Grep to find code by content, and Read only the parts you need. Do not
change anything. When you are done, answer with what you found: the relevant files with paths and
line numbers, how the pieces connect, and anything surprising. Be complete but brief: your answer is
all the other agent will see of your work."""

_PLAN = """You are a planning subagent. Another agent asked you to work out how to carry out a task
in this codebase. Read what you need (Glob, Grep, Read) but change nothing. Answer with a plan:
the files to change and how, in order, the risks and open questions, and how to check the result
(tests to run or write). Your answer is all the other agent will see of your work."""

_VERIFY = """You are a verification subagent. Another agent changed this codebase and asked you to
check the work. Find and run the project's tests, linters and type checks (Bash, within the
permission rules), read the changed code, and do not edit anything. Answer with what you ran and
what passed or failed, with the exact failing output, and what looks wrong in the code. Your answer
is all the other agent will see of your work."""

_GENERAL = """You are a general-purpose subagent. Another agent handed you a self-contained task.
Do it completely with the tools you have, then answer with what you did and what you found: the
files you changed, the commands you ran and their results. Your answer is all the other agent will
see of your work."""

BUILT_IN: tuple[AgentDefinition, ...] = (
    AgentDefinition(
        "explore",
        "Fast, read-only search of the codebase: finds files, code and how things connect, and "
        "reports back. Use it for broad questions so your own context stays small.",
        _EXPLORE,
        tools=READ_ONLY_TOOLS,
    ),
    AgentDefinition(
        "plan",
        "Read-only planning: works out how to carry out a task and returns a step-by-step plan.",
        _PLAN,
        tools=READ_ONLY_TOOLS,
    ),
    AgentDefinition(
        "verify",
        "Checks work: runs the project's tests, linters and type checks and reads the change; "
        "reports failures. Never edits.",
        _VERIFY,
        tools=(*READ_ONLY_TOOLS, "Bash"),
    ),
    AgentDefinition(
        "general-purpose",
        "Any self-contained task, with every tool you have: research, multi-step changes.",
        _GENERAL,
    ),
)


@dataclass(frozen=True)
class AgentCatalog:
    agents: dict[str, AgentDefinition]
    warnings: tuple[str, ...] = ()

    def get(self, name: str) -> AgentDefinition | None:
        return self.agents.get(name)

    def names(self) -> list[str]:
        return sorted(self.agents)


def load_catalog(project: Path, home: Path, config: Path, *, trusted: bool) -> AgentCatalog:
    agents = {a.name: a for a in BUILT_IN}
    warnings: list[str] = []
    directories = [home / ".claude" / "agents", config / "agents"]
    project_dirs = [project / ".claude" / "agents", project / ".agentls" / "agents"]
    if trusted:
        directories += project_dirs
    elif any(markdown_files(d).files for d in project_dirs):
        warnings.append(
            f"the agents in {project}/.claude/agents and .agentls/agents are ignored: the folder is not "
            "trusted (agentls trust)"
        )
    for path in _markdown_files(directories):
        try:
            agent = parse_agent(path)
        except (FrontmatterError, ValueError) as e:
            warnings.append(f"agent file skipped: {e}")
            continue
        agents[agent.name] = agent
    return AgentCatalog(agents, tuple(warnings))


def _markdown_files(directories: Iterable[Path]) -> list[Path]:
    return [found.path for directory in directories for found in markdown_files(directory).files]


def parse_agent(path: Path) -> AgentDefinition:
    """One agent file; raises `FrontmatterError` or `ValueError` naming the file and the problem."""
    doc = read_markdown(path)
    meta = doc.meta
    name = meta.get("name", path.stem)
    if not isinstance(name, str) or not name or not set(name.lower()) <= NAME_CHARS:
        raise ValueError(f"{path}: `name` must be lowercase letters, digits, - or _ (got {name!r})")
    description = meta.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ValueError(f"{path}: `description` is required (it tells the model when to use the agent)")
    if not doc.body.strip():
        raise ValueError(f"{path}: the body (the agent's instructions) is empty")
    try:
        tools = string_list(meta.get("tools"))
        disallowed = string_list(meta.get("disallowedTools")) or []
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    model = meta.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise ValueError(f"{path}: `model` must be a model id or `inherit`")
    mode = meta.get("permissionMode")
    if mode is not None and mode not in get_args(PermissionMode):
        raise ValueError(f"{path}: `permissionMode` must be one of {', '.join(PERMISSION_MODES)}")
    max_turns = meta.get("maxTurns")
    if max_turns is not None and (
        not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns < 1
    ):
        raise ValueError(f"{path}: `maxTurns` must be a whole number of at least 1")
    return AgentDefinition(
        name=name.lower(),
        description=" ".join(description.split()),
        prompt=doc.body.strip(),
        tools=tuple(tools) if tools is not None else None,
        disallowed_tools=tuple(disallowed),
        model=None if model in (None, "inherit") else model.strip(),
        permission_mode=mode,
        max_turns=max_turns,
        source=str(path),
    )


_STRICTNESS: dict[str, int] = {
    "bypassPermissions": 0,
    "acceptEdits": 1,
    "default": 2,
    "dontAsk": 3,
    "plan": 4,
}
"""How much a mode lets through, least strict first: `dontAsk` never asks (so it never allows what
would ask), `plan` changes nothing."""


def tightened(parent: PermissionMode, wanted: PermissionMode | None) -> PermissionMode:
    """The subagent's mode: the agent's own if it is at least as strict as the parent's, else the
    parent's. A definition can tighten the rules, never loosen them."""
    if wanted is None or _STRICTNESS[wanted] < _STRICTNESS[parent]:
        return parent
    return wanted

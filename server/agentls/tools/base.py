"""The tool contract: metadata the registry lists without running anything, and `call`."""

from __future__ import annotations

import json
import os.path
import platform
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from agentls.tools.schema_cache import input_schema as cached_input_schema
from agentls.workspace.port import Workspace
from agentls.workspace.sandbox import SandboxPolicy

if TYPE_CHECKING:
    from agentls.tools.agent import Subagents
    from agentls.tools.skill import SkillHost
    from agentls.tools.tool_search import ToolSearchHost

TrustTier = Literal["builtin", "plugin", "user"]
"""Built-in tools outrank plugin/MCP tools, which outrank user skills."""


class ToolError(Exception):
    """An expected failure (bad path, no match, ...): becomes an `is_error` result for the model."""


class ToolInput(BaseModel):
    """Base of every tool's input model: unknown fields are an error, as in Claude Code."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TodoItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    content: str = Field(min_length=1, max_length=2000)
    status: Literal["pending", "in_progress", "completed"]
    activeForm: str = Field(min_length=1, max_length=2000)

    def checkbox_line(self) -> str:
        """`[x] done`, `[~] doing`, `[ ] to do`: how the CLI and a compacted context show it."""
        return f"{_CHECKBOX[self.status]} {self.content}"


_CHECKBOX = {"completed": "[x]", "in_progress": "[~]", "pending": "[ ]"}


@dataclass(frozen=True)
class FileChange:
    """What an edit did to one file, whole texts, for editors that render their own diff."""

    path: Path
    old_text: str | None
    """None when the file was created."""
    new_text: str


@dataclass(frozen=True)
class ToolOutput:
    content: str
    """What the model reads as the tool result."""
    is_error: bool = False
    diff: str | None = None
    """A unified diff of what an edit changed, for display."""
    todos: tuple[TodoItem, ...] | None = None
    """Set by TodoWrite: the new plan."""
    change: FileChange | None = None
    """Set by file edits."""
    note: str | None = None
    """For display only, never sent to the model: e.g. what a subagent used and cost."""


@dataclass(frozen=True)
class ToolLimits:
    read_max_lines: int = 2000
    read_max_line_chars: int = 2000
    read_max_output_chars: int = 100_000
    read_max_file_bytes: int = 50 * 1024 * 1024
    bash_default_timeout_ms: int = 120_000
    bash_max_timeout_ms: int = 600_000
    bash_output_chars: int = 30_000
    glob_max_results: int = 100
    grep_default_head_limit: int = 250
    grep_output_chars: int = 30_000
    mcp_output_chars: int = 100_000
    """What an MCP tool's result may bring into the context (Claude Code: 25,000 tokens)."""


@dataclass(frozen=True)
class ToolEnv:
    """The live environment tool descriptions may mention."""

    root: Path
    platform: str = field(default_factory=lambda: platform.system())
    limits: ToolLimits = field(default_factory=lambda: ToolLimits())
    sandbox: SandboxPolicy | None = None
    """The sandbox Bash commands run in, if any (the description tells the model its limits)."""
    agent_types: tuple[tuple[str, str], ...] = ()
    """(name, description) of the subagent types the Agent tool offers."""
    skill_listing: str = ""
    """The skills the Skill tool offers, one line each, already fitted to their token budget."""
    deferred_listing: str = ""
    """The deferred tools ToolSearch loads, one line each, already fitted to their token budget."""


class FileReadState:
    """Which file versions the model has seen in this session.

    Edit and overwriting Write require that the model read the file first and that it has not
    changed since; successful edits record the new version so follow-up edits need no re-read.
    """

    def __init__(self) -> None:
        self._seen: dict[Path, str] = {}

    def record(self, path: Path, version: str) -> None:
        self._seen[path] = version

    def seen_version(self, path: Path) -> str | None:
        return self._seen.get(path)

    def forget(self, path: Path) -> None:
        self._seen.pop(path, None)


@dataclass
class ToolContext:
    """What a tool may use. Built once per session by the core."""

    workspace: Workspace
    read_state: FileReadState
    limits: ToolLimits = field(default_factory=ToolLimits)
    env_for_subprocess: dict[str, str] | None = None
    """Scrubbed environment for Bash; None means `agentls.tools.bash.scrubbed_env()`."""
    sandbox: SandboxPolicy | None = None
    """The OS sandbox Bash runs in. Sessions always set it unless the user turned the sandbox off;
    None (unit tests of tools, or the user's choice) runs commands directly."""
    hidden: Callable[[Path], bool] | None = None
    """Files a Read deny rule covers: search tools leave them out of their results."""

    subagents: Subagents | None = None
    """The session's side of the Agent tool (None: no subagents here)."""
    skills: SkillHost | None = None
    """The session's side of the Skill tool (None: no skills here)."""
    tool_search: ToolSearchHost | None = None
    """The session's side of the ToolSearch tool (None: no deferred tools here)."""
    call_id: str | None = None
    """For the call being run: its tool_use id. Set per call by the core."""
    emit: Callable[[Any], None] | None = None
    """For the call being run: where events it causes go (a subagent's, tagged). Set per call."""
    if_cancelled: Callable[[str], None] | None = None
    """For the call being run: what its result should add if the call is cancelled from now on
    (the subagent it started and how to resume it). Set per call."""
    checked: Mapping[Path, Path] = field(default_factory=dict)
    """For the call being run: each path the permission check saw, with the symlink-resolved file
    it allowed. File tools pass it to the workspace, which refuses to read or write anywhere else
    (a link swapped in after the check). Set per call by the core."""

    def is_hidden(self, path: Path) -> bool:
        return self.hidden is not None and self.hidden(path)

    def checked_target(self, path: Path) -> Path | None:
        return self.checked.get(path)


In = TypeVar("In", bound=ToolInput)


class Tool(ABC, Generic[In]):
    name: ClassVar[str]
    input_model: ClassVar[type[ToolInput]]
    read_only: ClassVar[bool] = False
    """Every call of the tool only reads: the default of `is_read_only`."""
    destructive: ClassVar[bool] = False
    """Can destroy data the user cannot get back from the editor's undo (rm, overwrite)."""
    edits_files: ClassVar[bool] = False
    """A file edit that `acceptEdits` mode may approve."""
    tier: ClassVar[TrustTier] = "builtin"

    @abstractmethod
    def description(self, env: ToolEnv) -> str: ...

    def input_schema(self) -> dict[str, Any]:
        return cached_input_schema(self.input_model)  # Computed once per installation.

    def parse(self, raw: dict[str, Any]) -> In:
        """Validate raw model input; raises `pydantic.ValidationError`."""
        return self.input_model.model_validate(raw)  # type: ignore[return-value]

    def is_read_only(self, args: In) -> bool:
        """This call only reads, so it may run beside the other reads of a response
        (`core/tool_exec.py`). The class's `read_only` unless the input decides (Bash)."""
        return self.read_only

    def paths(self, args: In, root: Path) -> tuple[Path, ...]:
        """Absolute paths the call touches; empty when unknown (the policy then treats it as such)."""
        return ()

    def summary(self, args: In, root: Path) -> str:
        """A one-line title, e.g. `Read src/app.py` (paths shown relative to `root` when inside it)."""
        return f"{self.name} {json.dumps(args.model_dump(by_alias=True, exclude_none=True))[:120]}"

    async def preview(self, args: In, ctx: ToolContext) -> str | None:
        """A diff of what the call would change, for permission prompts; None if not an edit."""
        return None

    @abstractmethod
    async def call(self, args: In, ctx: ToolContext) -> ToolOutput:
        """Do the work. Raise `ToolError` for expected failures."""


class FileInput(ToolInput):
    """Input of a tool that acts on one file; subclasses redefine `file_path` with their own wording."""

    file_path: str


FileIn = TypeVar("FileIn", bound=FileInput)


class FileTool(Tool[FileIn]):
    """A tool whose call touches exactly the file its `file_path` names (Read, Write, Edit)."""

    def paths(self, args: FileIn, root: Path) -> tuple[Path, ...]:
        return (resolve_path(args.file_path, root),)

    def summary(self, args: FileIn, root: Path) -> str:
        return f"{self.name} {display_path(resolve_path(args.file_path, root), root)}"


def display_path(path: Path, root: Path | None) -> str:
    """`path` relative to `root` when it lies inside it, else absolute."""
    if root is not None and path.is_relative_to(root):
        return str(path.relative_to(root)) or "."
    return str(path)


def resolve_path(raw: str, root: Path) -> Path:
    """The absolute, normalised path a tool argument names (relative paths are taken from root).

    Symlinks are not resolved here: the policy checks both the link and its target.
    """
    p = Path(raw).expanduser()
    if not p.is_absolute():
        p = root / p
    # Normalise `..` lexically, without touching the disk.
    return Path(os.path.normpath(p))

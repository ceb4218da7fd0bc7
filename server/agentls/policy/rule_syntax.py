"""Permission rules in Claude Code's syntax: parsed once, with every anchor resolved, then matched.

`parse_rule` turns `Tool`, `Tool(specifier)`, `mcp__server[__tool]` into a `Rule`, or into a
`RuleWarning` when the text is malformed or names an unknown tool. A warning is never a rule: a typo
must not silently widen access (Claude Code warns for the same reason), and the caller shows it.

Why each choice (bypass classes from `research/security.md` §2):
- Path anchors are resolved at parse time against an explicit root: `/p` is relative to the *settings
  file's* root, so a user-level `Read(/secrets)` is `~/.agentls/secrets`, never the project's.
- Paths are compared by components after `normpath`, and both the path and its symlink target are
  checked: deny fires if either matches, allow needs both (CVE-2026-25724: `ln -s ~/.ssh/id_rsa x`).
- Single-segment directory patterns float to any depth as deny/ask (`Read(secrets/**)`) but stay
  anchored at the cwd as allow (`Edit(src/**)`), so each reading is the stricter one.
- Anything a matcher cannot decide (no Bash analyser, an unparsable URL, a call without paths) matches
  a deny/ask rule and does not match an allow rule: fail closed (bypass class (d)).
- `Bash(command:rm *)` (a rule on the main field) is refused: a compound command would slip past it.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from agentls.policy.decision import CallFacts
from agentls.workspace.pinned import real_path

if TYPE_CHECKING:
    from pathspec.patterns.gitignore.basic import GitIgnoreBasicPattern

ListKind = Literal["allow", "ask", "deny"]

DEFAULT_KNOWN_TOOLS = frozenset(
    {"Read", "Write", "Edit", "Glob", "Grep", "Bash", "TodoWrite", "WebFetch", "WebSearch"}
    | {"NotebookEdit", "Task", "Agent", "ToolSearch"}
)
EDIT_TOOLS = frozenset({"Edit", "Write", "NotebookEdit", "MultiEdit"})
"""Calls an `Edit` rule covers."""
READ_TOOLS = frozenset({"Read", "Grep", "Glob", "NotebookRead", "LS"})
"""Calls a `Read` rule covers (Claude Code applies Read rules to every file-reading tool)."""
_UNCONSULTED_PATH_TOOLS = frozenset({"Write", "Glob", "NotebookEdit", "Grep"})
_MAIN_FIELDS = {"Bash": "command", "Read": "file_path", "Edit": "file_path", "WebFetch": "url"}
_TOOL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_MCP_NAME = re.compile(r"mcp__[A-Za-z0-9_.-]+?(?:__[A-Za-z0-9_.*-]+)?")
_HOST = re.compile(r"[a-z0-9.:-]+")
_BASH_PARAMS = re.compile(r"(run_in_background|timeout|description|dangerouslyDisableSandbox)\s*:\s*[^*\s]")
_DOMAIN = re.compile(r"(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


@dataclass(frozen=True)
class RuleSource:
    """Where a rule came from: the level, its file (None for the command line) and the list."""

    level: str
    file: Path | None
    kind: ListKind
    root: Path
    """What `/p` is relative to: the project root for project/local files, the config dir for user files."""

    def describe(self) -> str:
        where = str(self.file) if self.file is not None else "the command line"
        return f"{self.level} settings ({where}), permissions.{self.kind}"


@dataclass(frozen=True)
class RuleWarning:
    """A rule that was ignored, and why."""

    text: str
    source: RuleSource
    message: str

    def __str__(self) -> str:
        return f"{self.source.describe()}: ignored rule {self.text!r}: {self.message}"


@dataclass(frozen=True)
class PathPattern:
    """A gitignore-style pattern below an absolute base directory."""

    base: Path
    pattern: str
    """Relative to `base`; a leading `/` anchors it there, otherwise it floats (gitignore rules)."""
    _compiled: GitIgnoreBasicPattern = field(repr=False, compare=False)
    _bases: tuple[Path, ...] = field(repr=False, compare=False)

    @classmethod
    def make(cls, base: Path, pattern: str) -> PathPattern:
        # Imported on first use: settings without path rules never pay for pathspec (issue 15).
        from pathspec.patterns.gitignore.basic import GitIgnoreBasicPattern

        base = Path(os.path.normpath(base))
        bases = tuple(dict.fromkeys((base, real_path(base))))
        with warnings.catch_warnings():
            # `[[]` is a set holding `[` to gitignore and to `re` alike; `re` only warns that a
            # future Python might read it as a nested set (found by the property test).
            warnings.simplefilter("ignore", FutureWarning)
            compiled = GitIgnoreBasicPattern(pattern)
        return cls(base, pattern, compiled, bases)

    def __str__(self) -> str:
        return f"{self.base.as_posix().rstrip('/')}/{self.pattern.lstrip('/')}"

    def matches(self, path: Path) -> bool:
        """`path` is absolute and already normalised; directories also match as `dir/`."""
        for base in self._bases:
            if path == base or not path.is_relative_to(base):
                continue
            rel = path.relative_to(base).as_posix()
            if self._compiled.match_file(rel) is not None:
                return True
            if path.is_dir() and self._compiled.match_file(rel + "/") is not None:
                return True
        return False


BashMatcher = Callable[["Rule", CallFacts], bool]
"""Decides a `Bash(specifier)` rule against a call; supplied by the shell-analysis module."""


@dataclass(frozen=True)
class Rule:
    """A parsed rule; `matches` answers for one call, the engine applies deny → ask → allow."""

    text: str
    source: RuleSource
    tool: str
    """The tool as written (`Task` and `Agent` are aliases); for MCP, the name or name glob."""
    specifier: str | None = None
    path: PathPattern | None = None
    domain: str | None = None

    def describe(self) -> str:
        """For audit records and `agentls permissions`: the rule and where it came from."""
        return f"{self.text} from {self.source.describe()}"

    @property
    def restrictive(self) -> bool:
        return self.source.kind != "allow"

    @property
    def is_bare(self) -> bool:
        """A bare tool name: as a deny rule it takes the tool out of the model's tool list."""
        return self.specifier is None and self.path is None and "*" not in self.tool

    def covers_tool(self, tool: str) -> bool:
        if self.tool.startswith("mcp__"):
            if "*" in self.tool:
                return re.fullmatch(".*".join(map(re.escape, self.tool.split("*"))), tool) is not None
            return tool == self.tool or (self.tool.count("__") == 1 and tool.startswith(self.tool + "__"))
        if self.tool == "Edit":
            return tool in EDIT_TOOLS
        if self.tool == "Read":
            # A Read deny/ask with a path also blocks edits of that path (Claude Code does the same).
            return tool in READ_TOOLS or (self.restrictive and self.path is not None and tool in EDIT_TOOLS)
        if self.tool in ("Task", "Agent"):
            return tool in ("Task", "Agent")
        return tool == self.tool

    def matches(self, call: CallFacts, *, bash_matcher: BashMatcher | None = None) -> bool:
        if not self.covers_tool(call.tool):
            return False
        if self.path is not None:
            return self._matches_paths(call.paths, self.path)
        if self.specifier is None:
            return True
        if self.tool == "Bash":
            # Without the shell analyser nothing can be decided: restrictive rules hold, allow does not.
            return bash_matcher(self, call) if bash_matcher is not None else self.restrictive
        if self.domain is not None:
            return self._matches_url(call.input.get("url"))
        if self.tool in ("Task", "Agent"):
            return call.input.get("subagent_type") == self.specifier
        return False

    def _matches_paths(self, paths: tuple[Path, ...], pattern: PathPattern) -> bool:
        if not paths or not all(p.is_absolute() for p in paths):
            return self.restrictive  # Cannot tell what the call touches.
        hits = [[pattern.matches(c) for c in _link_and_target(p)] for p in paths]
        if self.restrictive:
            return any(any(h) for h in hits)
        return all(all(h) for h in hits)

    def _matches_url(self, url: object) -> bool:
        host = _host(url)
        if host is None:
            return self.restrictive
        assert self.domain is not None
        if self.domain.startswith("*."):
            return host.endswith(self.domain[1:])
        return host == self.domain


def _link_and_target(path: Path) -> tuple[Path, ...]:
    lexical = Path(os.path.normpath(path))
    return tuple(dict.fromkeys((lexical, real_path(lexical))))


def _host(url: object) -> str | None:
    """The URL's host, or None when parsers could disagree about it."""
    if not isinstance(url, str) or any(ord(c) < 33 or c == "\\" for c in url):
        # NUL: the SOCKS5 `evil.com\x00.allowed.com` trick; `\`: `https://evil.com\@allowed.com` is
        # evil.com to a browser-style parser and allowed.com to `urlsplit`.
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    host = host.rstrip(".") if host else None
    return host if host and _HOST.fullmatch(host) else None


def parse_rule(
    text: str,
    *,
    source: RuleSource,
    cwd: Path,
    home: Path | None = None,
    known_tools: frozenset[str] = DEFAULT_KNOWN_TOOLS,
) -> Rule | RuleWarning:
    """Parse one rule; `cwd` anchors `./p` and bare `p`, `home` anchors `~/p` (default: the user's)."""

    def warn(message: str) -> RuleWarning:
        return RuleWarning(text, source, message)

    stripped = text.strip()
    name, paren, rest = stripped.partition("(")
    name = name.strip()
    if paren and not rest.endswith(")"):
        return warn("unbalanced parentheses: a rule is `Tool` or `Tool(specifier)`")
    if not paren and ")" in name:
        return warn("unbalanced parentheses: a rule is `Tool` or `Tool(specifier)`")
    specifier = rest[:-1].strip() if paren else None
    if name.startswith("mcp__"):
        return _parse_mcp(name, specifier, source, warn)
    if not _TOOL_NAME.fullmatch(name):
        return warn(f"{name!r} is not a tool name")
    if name not in known_tools:
        hint = next((k for k in sorted(known_tools) if k.lower() == name.lower()), None)
        return warn(f"unknown tool {name!r}" + (f" (did you mean {hint!r}?)" if hint else ""))
    if specifier is None:
        return Rule(stripped, source, name)
    return _with_specifier(stripped, name, specifier, source, cwd, home or Path.home(), warn)


def _with_specifier(
    stripped: str,
    name: str,
    specifier: str,
    source: RuleSource,
    cwd: Path,
    home: Path,
    warn: Callable[[str], RuleWarning],
) -> Rule | RuleWarning:
    if not specifier:
        return warn("empty specifier: write the bare tool name to match every call")
    if not _balanced(specifier):
        return warn("unbalanced parentheses or quotes in the specifier")
    main = _MAIN_FIELDS.get(name)
    if main and re.match(rf"{main}\s*:", specifier):
        return warn(f"rules on the main field `{main}:` are not supported; write {name}(…) instead")
    if name == "Bash":
        if _BASH_PARAMS.match(specifier):
            return warn("rules on Bash parameters are not supported yet")
        return Rule(stripped, source, name, None if specifier == "*" else specifier)
    if name in ("Read", "Edit"):
        pattern = _path_pattern(specifier, source, cwd, home)
        if isinstance(pattern, str):
            return warn(pattern)
        return Rule(stripped, source, name, specifier, path=pattern)
    if name in _UNCONSULTED_PATH_TOOLS:
        return warn(f"{name}(path) rules are never consulted; use Edit(…) or Read(…) for paths")
    if name == "WebFetch":
        domain = specifier.removeprefix("domain:").strip().lower()
        if not specifier.startswith("domain:") or not _DOMAIN.fullmatch(domain):
            return warn("WebFetch rules take `domain:example.com` (or `domain:*.example.com`)")
        return Rule(stripped, source, name, specifier, domain=domain)
    if name in ("Task", "Agent"):
        return Rule(stripped, source, name, specifier)
    return warn(f"{name} does not take a specifier")


def _parse_mcp(
    name: str, specifier: str | None, source: RuleSource, warn: Callable[[str], RuleWarning]
) -> Rule | RuleWarning:
    if specifier is not None:
        return warn("MCP rules take no specifier: write mcp__server or mcp__server__tool")
    if not _MCP_NAME.fullmatch(name):
        return warn("an MCP rule is mcp__server, mcp__server__tool or mcp__server__* (glob after the server)")
    return Rule(name, source, name)


def _balanced(text: str) -> bool:
    depth, quote, escaped = 0, "", False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "()":
            depth += 1 if ch == "(" else -1
            if depth < 0:
                return False
    return depth == 0 and not quote


def _path_pattern(spec: str, source: RuleSource, cwd: Path, home: Path) -> PathPattern | str:
    """Resolve the anchor; returns an error message for patterns that cannot be made safe."""
    if spec.startswith("!"):
        return "negated path patterns are not supported"
    if spec.startswith("//"):
        base, rest, anchored = Path("/"), spec[2:], True
    elif spec == "~" or spec.startswith("~/"):
        base, rest, anchored = home, spec[2:], True
    elif spec.startswith("~"):
        return "`~user` paths are not supported; write `~/p` or `//abs/p`"
    elif spec.startswith("/"):
        base, rest, anchored = source.root, spec[1:], True
    else:
        base, rest, anchored = cwd, spec, False
    segments = rest.split("/")
    while segments and segments[0] in (".", ".."):
        if segments.pop(0) == "..":
            base, anchored = base.parent, True
    floats = not anchored  # Written relative to the cwd, without `..`.
    if segments and not anchored and segments[0] and len([s for s in segments if s]) > 1:
        anchored = True  # gitignore: a pattern with a slash in the middle is anchored.
    if ".." in segments:
        return "`..` is only supported at the start of a path pattern"
    body = "/".join(segments).lstrip("/") if any(segments) else "**"
    single_dir = bool(re.fullmatch(r"[^/*?\[]+/(\*\*)?", body))
    anchored = anchored or (single_dir and source.kind == "allow")
    if single_dir and floats and source.kind != "allow":
        body, anchored = "**/" + body, False  # Deny/ask `secrets/**` matches a `secrets` dir at any depth.
    if not Path(cwd).is_absolute() or not base.is_absolute():
        return "path rules need an absolute cwd and settings root"
    if body.startswith("#"):
        body = "\\" + body  # A literal `#`, not a gitignore comment that would match nothing.
    try:
        pattern = PathPattern.make(base, ("/" if anchored else "") + body)
    except ValueError as err:  # GitIgnorePatternError is a ValueError.
        return f"not a valid gitignore-style pattern ({err})"
    return pattern if pattern._compiled.include else "the pattern matches nothing"

"""A session's deferred tools: which MCP tools' definitions its requests leave out, and which the
model has loaded (the core's side of the ToolSearch tool, `tools/tool_search.py`).

`view` runs whenever the session's tool pool changes (`SessionState.sync_tools`, before a request).
Deferral begins when the MCP tools' definitions would take more than the setting's share of the
context window (`setting.py`); ToolSearch then joins the pool, after the session's own tools, with
the deferred tools listed in its description within a budget. Built-in tools are never deferred.

The requests' tool list only grows within a session, so the prompt cache is not thrown away for
nothing: deferral, once begun, lasts the session (MCP tools already sent before it began count as
loaded), a loaded tool stays loaded (through compactions and `/clear` too: its definition is in the
tools, not in the messages), and every load is a `tools_loaded` record, so a resume sends the same
tools. A call to a deferred tool the model has not loaded is not run (its input is a guess: the
model has not seen the schema); it loads the tool and says so, so the next response can call it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, Literal

from agentls.core.context.tokens import fixed_tokens
from agentls.core.deferred_tools.search import Candidate, find
from agentls.core.deferred_tools.setting import SearchSetting
from agentls.core.journal import Journal
from agentls.core.model import ToolSpec
from agentls.core.records import ToolsLoadedRecord
from agentls.core.skills.listing import SkillListing, fit_lines, listing_budget
from agentls.tools.base import Tool, ToolEnv, ToolError
from agentls.tools.registry import ToolRegistry
from agentls.tools.tool_search import TOOL_SEARCH, ToolSearchTool

Pool = tuple[ToolRegistry, tuple[ToolSpec, ...]]
Denied = Callable[[Iterable[str]], frozenset[str]]
"""The tools a deny rule hides (`PermissionPolicy.hidden_tools`), asked at the moment."""
Note = Callable[..., None]
"""Writes to the session's black box (`BlackBox.write`: a kind, then fields)."""


def deferrable(tool: Tool[Any]) -> bool:
    """MCP tools only (the built-in ones are what every task needs, and the model knows them),
    unless their server marked them `anthropic/alwaysLoad` (`McpTool.always_load`)."""
    pinned = getattr(tool, "always_load", False) is True
    return tool.name.startswith("mcp__") and tool.tier == "plugin" and not pinned


class ToolDeferral:
    def __init__(
        self, setting: SearchSetting, env: ToolEnv, journal: Journal, denied: Denied, note: Note
    ) -> None:
        self.setting = setting
        self._env = env
        self._journal = journal
        self._denied = denied
        self._note = note
        self.active = False
        self._loaded: dict[str, None] = {}
        """In load order (a dict as an ordered set)."""
        self._sent: set[str] = set()
        """MCP tools sent in full before deferral began."""
        self._deferrable: dict[str, Tool[Any]] = {}
        self._source: Pool | None = None
        self._view: Pool | None = None
        self._tool = ToolSearchTool()
        self.listing = SkillListing("", 0, ())
        """What ToolSearch's description lists (for `/context`)."""
        self._notices: list[str] = []

    # ------------------------------------------------------------------ the pool

    def view(self, registry: ToolRegistry, specs: tuple[ToolSpec, ...], window: int) -> Pool:
        """The pool as the session offers it: ToolSearch added once deferral has begun (requests
        leave the unloaded tools out: `hidden`). Recomputed only when the pool itself changed."""
        if self._source is not None and self._source[0] is registry and self._source[1] is specs:
            assert self._view is not None
            return self._view
        mcp = [t for t in registry.tools() if deferrable(t)]
        self._deferrable = {t.name: t for t in mcp}
        if not self.active:
            self._consider(mcp, specs, window)
        if not self.active:
            self._sent |= self._deferrable.keys()
            out: Pool = (registry, specs)
        else:
            out = self._with_search(registry, specs, window)
        self._source, self._view = (registry, specs), out
        return out

    def _consider(self, mcp: list[Tool[Any]], specs: tuple[ToolSpec, ...], window: int) -> None:
        percent = self.setting.percent
        if percent is None or not mcp or TOOL_SEARCH in self._denied([TOOL_SEARCH]):
            return  # Off, nothing to defer, or a deny rule took ToolSearch away: send them all.
        names = {t.name for t in mcp}
        tokens = fixed_tokens((), (s for s in specs if s.name in names))
        if tokens <= window * percent / 100:
            return
        self.active = True
        kept = sorted(self._sent - self._loaded.keys())
        if kept:
            self._load(kept, "deferral")
        self._note(
            "tools_deferred",
            tools=len(names),
            tokens=tokens,
            window=window,
            setting=self.setting.describe(),
            kept=kept,
        )
        self._notices.append(
            f"MCP tools: the definitions of {len(names)} tools (about {tokens:,} tokens, more than "
            f"{percent:g}% of the context window) are left out of the requests; the model loads the "
            "ones it needs with ToolSearch (see /mcp)."
        )

    def _with_search(self, registry: ToolRegistry, specs: tuple[ToolSpec, ...], window: int) -> Pool:
        denied = self._denied(self._deferrable)
        entries = [
            (name, _first_line(tool.description(self._env)))
            for name, tool in self._deferrable.items()
            if name not in denied
        ]
        self.listing = fit_lines(entries, listing_budget(window), noun="tool")
        env = replace(self._env, deferred_listing=self.listing.text)
        search = ToolSpec(
            name=TOOL_SEARCH, description=self._tool.description(env), input_schema=self._tool.input_schema()
        )
        # After the session's own tools, before the MCP ones (the pool keeps that order).
        tools = [t for t in registry.tools() if t.name != TOOL_SEARCH]
        at = next((i for i, t in enumerate(tools) if t.name.startswith("mcp__")), len(tools))
        own = [s for s in specs if s.name != TOOL_SEARCH]
        spec_at = next((i for i, s in enumerate(own) if s.name.startswith("mcp__")), len(own))
        return (
            ToolRegistry([*tools[:at], self._tool, *tools[at:]]),
            (*own[:spec_at], search, *own[spec_at:]),
        )

    def hidden(self) -> frozenset[str]:
        """Deferred tools the model has not loaded: left out of the request's tools."""
        if not self.active or TOOL_SEARCH in self._denied([TOOL_SEARCH]):
            return frozenset()  # (A deny rule on ToolSearch since: they could not be reached.)
        return frozenset(n for n in self._deferrable if n not in self._loaded)

    def take_notices(self) -> list[str]:
        out, self._notices = self._notices, []
        return out

    def counts(self) -> tuple[int, int]:
        """(deferred tools in the pool, of which loaded), for `/mcp` and `/context`."""
        return len(self._deferrable), sum(1 for n in self._deferrable if n in self._loaded)

    # ------------------------------------------------------------------ loading

    def restore(self, names: Iterable[str]) -> None:
        """A resumed session's loaded tools (already on record)."""
        for name in names:
            self._loaded[name] = None

    def refusal(self, unloaded: frozenset[str], name: str) -> str | None:
        """Why a call to `name` is not run (None: it may be): the tool was among the `unloaded`
        ones when the request was sent, so the model wrote its input without the schema. The tool
        is loaded (if a search in the same response has not done it), so the model can call it in
        its next response."""
        if name not in unloaded:
            return None
        if name not in self._loaded:
            self._load([name], "call")
        return (
            f"{name} is a deferred tool and its definition was not loaded, so this call was not run "
            "(its input was written without the tool's input schema). It is loaded now: its "
            "definition is in your tool list from your next response on. Call it again with input "
            "that follows its schema. (Next time, load deferred tools with ToolSearch first.)"
        )

    def search(self, query: str, max_results: int) -> str:
        if not self.active:
            raise ToolError("There are no deferred tools in this session: every tool is in your tool list.")
        hidden = self._denied(self._deferrable)
        candidates = [
            Candidate(name, getattr(tool, "server", ""), tool.description(self._env))
            for name, tool in self._deferrable.items()
            if name not in hidden
        ]
        found = find(query, candidates, max_results)
        fresh = [c.name for c in found.tools if c.name not in self._loaded]
        if fresh:
            self._load(fresh, "search")
        return _result(query, found.tools, set(fresh), found.missing)

    def _load(self, names: list[str], by: Literal["search", "call", "deferral"]) -> None:
        for name in names:
            self._loaded[name] = None
        self._journal.write(ToolsLoadedRecord(names=names, by=by))


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _result(query: str, tools: tuple[Candidate, ...], fresh: set[str], missing: tuple[str, ...]) -> str:
    lines: list[str] = []
    if tools:
        lines.append(
            "Loaded: these tools' definitions are in your tool list from your next response on, "
            "for the rest of the conversation; call them as any other tool."
        )
        for tool in tools:
            already = "" if tool.name in fresh else " (already loaded)"
            lines.append(f"- {tool.name}{already}: {_first_line(tool.description)}")
    if missing:
        lines.append(
            f"Not deferred tools here: {', '.join(missing)}. A tool already in your tool list needs no "
            "loading; the deferred ones are listed in ToolSearch's description."
        )
    if not tools and not missing:
        lines.append(
            f"No deferred tool matches {query.strip()!r}. Try other words, or select:<name> with a "
            "name from the list in ToolSearch's description."
        )
    return "\n".join(lines)

"""What a ToolSearch query finds among the deferred tools: pure functions, no session.

Query forms, as Claude Code's tool: `select:a,b` names tools exactly; otherwise the query is
keywords, matched against each tool's name (its words: `mcp__github__create_issue` is `mcp`,
`github`, `create`, `issue`), its server and its description, best matches first; a keyword
written `+word` must be in the tool's name, and the others rank what is left.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

SELECT = "select:"

_WORD = re.compile(r"[a-z0-9]+")
_PUNCTUATION = ".,;:!?\"'()[]{}"
_NAME_WEIGHT = 10
"""A keyword that is a whole word of the name says more than one found in the description."""
_SERVER_WEIGHT = 8
_NAME_PART_WEIGHT = 4
_DESCRIPTION_WORD_WEIGHT = 2
_DESCRIPTION_PART_WEIGHT = 1


@dataclass(frozen=True)
class Candidate:
    name: str
    server: str
    description: str


@dataclass(frozen=True)
class Found:
    tools: tuple[Candidate, ...]
    missing: tuple[str, ...] = ()
    """Names a `select:` asked for that are not deferred tools."""


def find(query: str, candidates: Sequence[Candidate], max_results: int) -> Found:
    text = query.strip()
    if text.lower().startswith(SELECT):
        return _select(text[len(SELECT) :], candidates)
    return Found(_ranked(text, candidates, max_results))


def _select(names: str, candidates: Sequence[Candidate]) -> Found:
    by_name = {c.name: c for c in candidates}
    by_folded = {c.name.lower(): c for c in candidates}
    tools: list[Candidate] = []
    missing: list[str] = []
    for raw in names.split(","):
        name = raw.strip()
        if not name:
            continue
        tool = by_name.get(name) or by_folded.get(name.lower())
        if tool is None:
            missing.append(name)
        elif tool not in tools:
            tools.append(tool)
    return Found(tuple(tools), tuple(missing))


def _ranked(query: str, candidates: Sequence[Candidate], max_results: int) -> tuple[Candidate, ...]:
    words = [w.strip(_PUNCTUATION) for w in query.lower().split()]
    words = [w for w in words if w.strip("+")]
    required = [w[1:] for w in words if w.startswith("+")]
    ranking = [w for w in words if not w.startswith("+")]
    scored: list[tuple[int, Candidate]] = []
    for tool in candidates:
        name = tool.name.lower()
        if any(word not in name for word in required):
            continue
        if name == query.strip().lower():
            scored.append((1_000, tool))  # The exact name, written without `select:`.
            continue
        score = sum(_score(word, tool) for word in ranking)
        if score > 0 or (required and not ranking):
            scored.append((score, tool))
    scored.sort(key=lambda pair: (-pair[0], pair[1].name))
    return tuple(tool for _, tool in scored[:max_results])


def _score(word: str, tool: Candidate) -> int:
    name = tool.name.lower()
    parts = set(_WORD.findall(name))
    description = tool.description.lower()
    score = 0
    if word in parts:
        score += _NAME_WEIGHT
    elif word in name:
        score += _NAME_PART_WEIGHT
    if word == tool.server.lower():
        score += _SERVER_WEIGHT
    if word in _WORD.findall(description):
        score += _DESCRIPTION_WORD_WEIGHT
    elif word in description:
        score += _DESCRIPTION_PART_WEIGHT
    return score

"""The skills as the model sees them before it loads one: a name and what it is for, one line per
skill, in the `Skill` tool's description (progressive disclosure: a body costs nothing until the
model asks for it).

The listing is in every request, so it has a budget: 1% of the model's context window, between
`MIN_BUDGET` and `MAX_BUDGET` tokens. Over it, the descriptions are shortened, all to the same
length, down to `MIN_ABOUT` characters; past that, skills are left out from the end of the list
(the user's after the project's) and a last line says how many.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agentls.core.context.tokens import text_tokens
from agentls.core.skills.catalog import SkillDefinition

MIN_BUDGET = 500
MAX_BUDGET = 2_000
MIN_ABOUT = 60
"""Characters of a description kept at the least before whole skills are left out."""


@dataclass(frozen=True)
class SkillListing:
    text: str
    """The lines for the tool description (empty: no skill to list)."""
    tokens: int
    """Its estimated size (`context/tokens.py`); 0 when empty."""
    listed: tuple[str, ...]
    shortened: bool = False
    """Descriptions were cut to fit the budget."""
    left_out: tuple[str, ...] = ()
    """Skills not listed at all (the model can still load them by name, if it learns it)."""


def listing_budget(context_window: int) -> int:
    return max(MIN_BUDGET, min(MAX_BUDGET, context_window // 100))


def skill_listing(skills: Sequence[SkillDefinition], budget: int) -> SkillListing:
    return fit_lines([(s.name, _about(s)) for s in skills], budget)


def fit_lines(entries: Sequence[tuple[str, str]], budget: int, noun: str = "skill") -> SkillListing:
    """`- name: about` lines within `budget` tokens, shortened and then cut as the module says
    (also the deferred tools' list in ToolSearch's description: `noun` names what is left out)."""
    if not entries:
        return SkillListing("", 0, ())
    names = tuple(name for name, _ in entries)
    text = _render(entries, None)
    if text_tokens(text) <= budget:
        return SkillListing(text, text_tokens(text), names)
    cap = _longest_fitting(entries, budget)
    if cap is not None:
        text = _render(entries, cap)
        return SkillListing(text, text_tokens(text), names, shortened=True)
    kept = list(entries)
    while kept:
        kept.pop()
        text = _render(kept, MIN_ABOUT) + _left_out_note(len(entries) - len(kept), bool(kept), noun)
        if text_tokens(text) <= budget:
            break
    else:
        text = _left_out_note(len(entries), False, noun)
    listed = tuple(name for name, _ in kept)
    return SkillListing(text, text_tokens(text), listed, shortened=True, left_out=names[len(kept) :])


def _about(skill: SkillDefinition) -> str:
    if skill.when_to_use:
        return f"{skill.description} — {skill.when_to_use}"
    return skill.description


def _render(entries: Sequence[tuple[str, str]], cap: int | None) -> str:
    return "\n".join(f"- {name}: {_cut(about, cap)}" for name, about in entries)


def _cut(text: str, cap: int | None) -> str:
    if cap is None or len(text) <= cap:
        return text
    return text[: cap - 1].rstrip() + "…"


def _longest_fitting(entries: Sequence[tuple[str, str]], budget: int) -> int | None:
    """The longest description length at which every entry fits (None: not even at `MIN_ABOUT`)."""
    low, high = MIN_ABOUT, max(len(about) for _, about in entries)
    best: int | None = None
    while low <= high:
        middle = (low + high) // 2
        if text_tokens(_render(entries, middle)) <= budget:
            best, low = middle, middle + 1
        else:
            high = middle - 1
    return best


def _left_out_note(count: int, after_lines: bool, noun: str) -> str:
    plural = "s" if count > 1 else ""
    note = f"- ({count} more {noun}{plural} not listed, to keep this list short)"
    return f"\n{note}" if after_lines else note

"""Tier 4, collapse: staged compression of the compacted head for very long sessions.

Each compaction appends a stage to the head; left alone, a session of thousands of tool calls
would grow a head that fills the window by itself. When the stages' text passes a budget, or
there are more than `max_stages`, all stages but the newest are merged into one: by the model
(`summary.merge_request`), or mechanically (each text cut to its share of the budget) when the
model cannot. The user's messages of merged stages are all kept, verbatim and in order: only
summaries are compressed, never the user's words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agentls.core.context.base import Base, Stage


@dataclass(frozen=True)
class CollapsePlan:
    count: int
    """Merge stages [0, count): every stage but the newest."""


def plan_collapse(
    base: Base, *, budget: int, max_stages: int, tokens: Callable[[str], int]
) -> CollapsePlan | None:
    stages = base.stages
    if len(stages) < 2:
        return None
    if len(stages) <= max_stages and sum(tokens(s.text) for s in stages) <= budget:
        return None
    return CollapsePlan(count=len(stages) - 1)


def merged_stage(stages: Sequence[Stage], text: str, *, by_model: bool) -> Stage:
    return Stage(
        kind="summary" if by_model or any(s.kind == "summary" for s in stages) else "snip",
        text=text,
        user_messages=tuple(u for s in stages for u in s.user_messages),
        messages=sum(s.messages for s in stages),
        tool_calls=sum(s.tool_calls for s in stages),
    )


def mechanical_text(stages: Sequence[Stage], max_chars: int) -> str:
    """The stages' texts, oldest first, each cut to an equal share of `max_chars`."""
    share = max(200, max_chars // max(1, len(stages)))
    parts = []
    for n, stage in enumerate(stages, 1):
        text = stage.text.strip()
        if len(text) > share:
            text = text[:share].rstrip() + " […cut when older parts were merged]"
        parts.append(f"Part {n}:\n{text}")
    return "\n\n".join(parts)


def collapsed(base: Base, plan: CollapsePlan, stage: Stage) -> Base:
    return base.model_copy(update={"stages": (stage, *base.stages[plan.count :])})

"""What a rewind and the checkpoints look like to people and to clients: the JSON the editor
front ends get (camelCase) and the text the CLI and plain editors show. One place, so every front
end says the same."""

from __future__ import annotations

from typing import Any

from agentls.core.checkpoints.rewind import FileStep, RewindPlan
from agentls.core.checkpoints.rewinding import RewindOutcome
from agentls.core.checkpoints.timeline import Change, Checkpoint


def checkpoint_json(c: Checkpoint) -> dict[str, Any]:
    return {
        "n": c.n,
        "kind": c.kind,
        "label": c.label,
        "prompt": c.prompt,
        "at": c.at,
        "files": [{"path": ch.path, "by": ch.by, "agent": ch.agent or None} for ch in _last_per_path(c)],
        "notes": c.notes,
        "rewinds": [{"to": r.to, "code": r.code, "conversation": r.conversation} for r in c.rewound],
    }


def _last_per_path(c: Checkpoint) -> list[Change]:
    seen: dict[str, Change] = {}
    for change in c.changes:
        seen[change.path] = change
    return list(seen.values())


def _step(s: FileStep) -> dict[str, Any]:
    return {"path": s.path, "action": s.action, "why": s.why or None}


def plan_json(plan: RewindPlan) -> dict[str, Any]:
    return {
        "to": plan.to.n,
        "kind": plan.to.kind,
        "label": plan.to.label,
        "prompt": plan.to.prompt,
        "files": [_step(s) for s in plan.steps if s.action != "unchanged"],
        "conflicts": [s.path for s in plan.conflicts],
        "notRestorable": [s.path for s in plan.not_restorable],
    }


def outcome_json(outcome: RewindOutcome) -> dict[str, Any]:
    return {
        **plan_json(outcome.plan),
        "part": outcome.part,
        "dryRun": outcome.dry_run,
        "restored": [s.path for s in outcome.applied],
        "kept": [s.path for s in outcome.kept],
        "undo": outcome.undo,
        "conversation": outcome.part != "code" and not outcome.dry_run,
        "message": summary(outcome),
    }


_WHAT = {"code": "the code", "conversation": "the conversation", "both": "the code and the conversation"}
_VERBS = {"restore": "restore", "create": "bring back", "delete": "remove"}


def describe_plan(plan: RewindPlan, part: str) -> str:
    """The preview a plain client shows before asking."""
    lines = [f"Rewind {_WHAT[part]} to checkpoint {plan.to.n} ({plan.to.label})?"]
    if part != "conversation":
        for step in plan.changes:
            lines.append(f"- {_VERBS[step.action]} {step.path}")
        for step in plan.conflicts:
            lines.append(f"- CONFLICT {step.path}: {step.why}; kept unless you overwrite it")
        for step in plan.not_restorable:
            lines.append(f"- cannot restore {step.path}: {step.why}")
        if not plan.changes and not plan.conflicts:
            lines.append("- no file to change")
    if part != "code":
        lines.append("The conversation continues from before that prompt.")
    return "\n".join(lines)


def summary(outcome: RewindOutcome) -> str:
    n = outcome.checkpoint.n
    if outcome.dry_run:
        plan = outcome.plan
        changes, conflicts = len(plan.changes), len(plan.conflicts)
        return f"rewind to checkpoint {n}: {changes} file(s) would change, {conflicts} conflict(s)"
    parts: list[str] = []
    if outcome.part != "conversation":
        parts.append(f"{len(outcome.applied)} file(s) restored")
        if outcome.kept:
            parts.append(
                f"{len(outcome.kept)} conflicting file(s) kept: {', '.join(s.path for s in outcome.kept)}"
            )
    if outcome.part != "code":
        parts.append("the conversation continues from before that prompt")
    undo = f" (undo: rewind to checkpoint {outcome.undo})" if outcome.undo is not None else ""
    return f"rewound to checkpoint {n}: {'; '.join(parts)}{undo}"

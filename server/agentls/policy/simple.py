"""The default policy until the rule engine lands: decided by permission mode and workspace bounds.

- Read-only tools whose paths are all inside the workspace run without asking.
- `acceptEdits` also lets file edits inside the workspace through.
- `plan` denies everything that is not read-only; `dontAsk` turns every "ask" into a deny;
  `bypassPermissions` allows everything.
- Everything else asks.

Paths are compared by components after resolving symlinks (both the link and its target must be
inside), so `/srv/proj_evil` is not inside `/srv/proj` and a link out of the workspace is outside.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from agentls.policy.decision import Allow, Ask, CallFacts, Decision, Deny, PermissionMode
from agentls.policy.rules import PermissionRules


def is_inside(path: Path, root: Path) -> bool:
    """True if `path` as written and its symlink-resolved target both lie under `root`."""
    real_root = Path(os.path.realpath(root))
    lexical = Path(os.path.normpath(path))
    real = Path(os.path.realpath(path))
    # `is_relative_to` compares components: /srv/proj_evil is not relative to /srv/proj.
    return real.is_relative_to(real_root) and (
        lexical.is_relative_to(root) or lexical.is_relative_to(real_root)
    )


@dataclass
class SimplePolicy:
    root: Path
    mode: PermissionMode = "default"
    rules: PermissionRules = field(default_factory=PermissionRules)
    """Rules from the project's local settings (answers of "always" in earlier prompts)."""

    def decide(self, call: CallFacts) -> Decision:
        decision = self._decide(call)
        if isinstance(decision, Ask) and self.mode == "dontAsk":
            return Deny(f"{decision.reason}; permission mode dontAsk denies anything that would ask")
        return decision

    def _decide(self, call: CallFacts) -> Decision:
        if denied := self.rules.denies(call):
            return Deny(f"denied by the rule {denied} in the project's local settings")
        if self.mode == "bypassPermissions":
            return Allow("permission mode bypassPermissions")
        inside = all(is_inside(p, self.root) for p in call.paths)
        if call.read_only:
            if inside:
                return Allow("read-only inside the workspace")
            return Ask(f"{call.tool} reads outside the workspace ({self.root})")
        if self.mode != "plan" and (allowed := self.rules.allows(call)) and (inside or not call.paths):
            return Allow(f"allowed by the rule {allowed} in the project's local settings")
        if self.mode == "plan":
            return Deny(
                "plan mode: only read-only tools may run. Finish the plan and present it; "
                "the user will switch modes to let you make changes"
            )
        if call.edits_files and self.mode == "acceptEdits":
            if inside and call.paths:
                return Allow("acceptEdits: file edit inside the workspace")
            return Ask(f"{call.tool} writes outside the workspace ({self.root})")
        return Ask(f"{call.tool} needs approval")

"""Session configuration: everything a session needs to know that is not the conversation.

A snapshot goes into the transcript header, so a resumed session can say what it ran with.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentls.core.context.settings import BudgetConfig, ContextConfig
from agentls.core.defaults import DEFAULT_MAX_TURNS
from agentls.core.model import ThinkingConfig
from agentls.policy.decision import PermissionMode

THINKING_MAX_TOKENS = 32_000
ANSWER_ROOM = 16_000
"""Tokens left for the answer after a thinking budget when `max_tokens` is not set."""


class AgentConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    max_turns: int = Field(default=DEFAULT_MAX_TURNS, ge=1)
    """Model requests allowed in one turn before it stops with `max_turns`."""
    max_tokens: int = Field(default=16_000, ge=1)
    thinking: ThinkingConfig | None = None
    """Extended thinking; None turns it off."""

    @model_validator(mode="before")
    @classmethod
    def _max_tokens_for_thinking(cls, data: Any) -> Any:
        """Thinking tokens count against `max_tokens`: unless it is set, leave room for the
        answer after the budget (every front end gets this; it used to be the CLI's alone)."""
        if not isinstance(data, dict) or data.get("max_tokens") is not None or not data.get("thinking"):
            return data
        thinking = data["thinking"]
        budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else thinking.budget_tokens
        return {**data, "max_tokens": max(THINKING_MAX_TOKENS, (budget or 0) + ANSWER_ROOM)}

    @model_validator(mode="after")
    def _room_to_answer(self) -> AgentConfig:
        budget = self.thinking.budget_tokens if self.thinking else None
        if budget is not None and budget >= self.max_tokens:
            raise ValueError(f"the thinking budget ({budget}) must be below max_tokens ({self.max_tokens})")
        return self

    checkpoints: bool = True
    """Record what the agent changes after each prompt, so it can be rewound (`core/checkpoints/`);
    only for sessions with a transcript."""
    permission_mode: PermissionMode | None = None
    """Chosen by the user for this session; None: the settings' `defaultMode` (else `default`)."""
    max_retries: int = Field(default=10, ge=0)
    """Retries of one API call after a retryable failure (rate limit, overload, dropped or stalled
    stream), as Claude Code does; unlimited in unattended mode."""
    retry_after_cap_s: float = Field(default=60.0, gt=0)
    """A server's `retry-after` is obeyed up to this many seconds: a turn never sleeps for an hour."""
    retry_base_delay_s: float = Field(default=0.5, ge=0)
    """The first back-off; it doubles with each retry (with jitter) up to `retry_max_delay_s`."""
    retry_max_delay_s: float = Field(default=30.0, ge=0)
    retry_report_s: float = Field(default=20.0, ge=0)
    """A wait longer than this is reported to the user as it starts (`Retrying.long_wait`)."""
    idle_timeout_s: float = Field(default=90.0, gt=0)
    """A response that sends no byte (SSE pings count) for this long is abandoned and retried."""
    fallback_model: str | None = Field(default=None, min_length=1)
    """Switched to after `overloads_before_fallback` overloads (529) in a row; for the rest of the session."""
    overloads_before_fallback: int = Field(default=3, ge=1)
    unattended: bool = False
    """Nobody is watching: retry without limit (back-off up to `unattended_max_delay_s`, a heartbeat
    event every `heartbeat_s` while waiting) until `deadline_s`."""
    unattended_max_delay_s: float = Field(default=300.0, ge=0)
    heartbeat_s: float = Field(default=30.0, gt=0)
    deadline_s: float | None = Field(default=None, gt=0)
    """Wall-clock seconds from the start of a turn after which no retry starts (None: no deadline)."""
    read_only_concurrency: int = Field(default=8, ge=1)
    context: ContextConfig = ContextConfig()
    """Context window and compaction, as the front end set them (settings files fill the rest)."""
    budget: BudgetConfig = BudgetConfig()
    """Cost and token limits for the session, as the front end set them (the lowest limit applies)."""

"""Serving the ACP agent on stdin/stdout (what `agentls acp` runs)."""

from __future__ import annotations

from typing import Any, cast

from acp import Agent, run_agent

from agentls.acp.agent import AcpAgent
from agentls.core.anthropic_model import AnthropicModel
from agentls.store.sessions import SessionStore


async def serve_stdio(*, model: str | None, config: dict[str, Any]) -> None:
    agent = AcpAgent(store=SessionStore(), model_for=AnthropicModel, default_model=model, config=config)
    # The SDK's `Agent` protocol lists every method ACP has; its router answers "method not
    # found" for the ones an agent does not define (fork, resume, config options, elicitation).
    await run_agent(cast(Agent, agent))

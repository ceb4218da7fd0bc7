"""Compaction and the prompt cache, measured on the fake API's cache: what a compaction changes
is rewritten, what it leaves alone is still read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentls.core.anthropic_model import AnthropicModel
from agentls.core.config import AgentConfig
from agentls.core.context.settings import ContextConfig
from agentls.core.events import Compacted, RequestStarted, UsageUpdated
from agentls.core.session import Session, SessionDeps
from agentls.policy.loader import SettingsSources
from agentls.store.sessions import SessionStore
from agentls.workspace.disk import DiskWorkspace
from tests.core.context.agents import LongAgent, make_files
from tests.core.fakes import ScriptedApprover
from tests.fakeapi import FakeMessagesAPI
from tests.fakeapi.tokens import count_request_tokens


async def run_against_fake(
    project: Path, tmp: Path, context: ContextConfig, calls: int
) -> tuple[list[Any], FakeMessagesAPI]:
    agent = LongAgent(make_files(project, count=8, size=6000), calls=calls)

    def step(body: dict[str, Any]) -> Any:
        return agent(_request_view(body))

    fake = FakeMessagesAPI([step] * (calls * 3 + 20), context_window=context.window).start()
    model = AnthropicModel("claude-sonnet-5-5", api_key="k", base_url=fake.base_url)
    deps = SessionDeps(
        config=AgentConfig(
            model="claude-sonnet-5-5", permission_mode="bypassPermissions", max_turns=1000, context=context
        ),
        model=model,
        workspace=DiskWorkspace(project),
        approver=ScriptedApprover([]),
        store=SessionStore(tmp / "sessions"),
        settings=SettingsSources(project=project),
    )
    try:
        session = await Session.start(deps)
        events = [e async for e in session.run("read on").events()]
        session.close()
    finally:
        await model.aclose()
        fake.stop()
    return events, fake


def _request_view(body: dict[str, Any]) -> Any:
    """Enough of a ModelRequest for `LongAgent` to tell summary requests apart."""
    from agentls.core.messages import Message, TextBlock
    from agentls.core.model import ModelRequest

    def text(m: dict[str, Any]) -> str:
        content = m["content"]
        return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)

    messages = tuple(
        Message(role=m["role"], content=(TextBlock(text=text(m) or "-"),)) for m in body["messages"]
    )
    return ModelRequest(model=body["model"], system=(), messages=messages)


async def test_after_a_micro_compaction_the_unchanged_prefix_is_still_read(
    project: Path, tmp_path: Path
) -> None:
    context = ContextConfig(window=40_000, snip=False, auto_compact=False, keep_tool_results=1)
    events, fake = await run_against_fake(project, tmp_path, context, calls=45)
    micro = [i for i, e in enumerate(events) if isinstance(e, Compacted) and e.tier == "micro"]
    assert len(micro) >= 3
    first_body = fake.requests[0]
    prefix = count_request_tokens({**first_body, "messages": first_body["messages"][:1]})
    reads_after = []
    for index in micro[1:]:
        usage = next(e for e in events[index:] if isinstance(e, UsageUpdated))
        reads_after.append(usage.request.cache_read_input_tokens)
    # Each request after a batch reads more than the tools and system prompt: the cleared region
    # before the batch's first change comes from the cache, it is not written again.
    assert all(read > prefix for read in reads_after), (reads_after, prefix)
    assert reads_after == sorted(reads_after) and reads_after[-1] > reads_after[0]
    assert not fake.rejections
    assert sum(1 for e in events if isinstance(e, RequestStarted)) == len(fake.usages)

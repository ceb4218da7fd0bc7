"""The context tiers in whole sessions (ScriptedModel, real tools, real transcripts): long
sessions stay inside the window, keep the user's words, never re-run a tool, and resume from
their compacted context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentls.core.config import AgentConfig
from agentls.core.context.settings import BudgetConfig, ContextConfig
from agentls.core.context.tokens import MessageTokens, fixed_tokens
from agentls.core.errors import ErrorCause, ModelError
from agentls.core.events import (
    Compacted,
    CompactionStarted,
    Notice,
    ToolCallFinished,
    ToolCallStarted,
    TurnEnded,
    UsageUpdated,
)
from agentls.core.model import ModelRequest, TokenUsage
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.core.session import Session, SessionDeps
from agentls.policy.loader import SettingsSources
from agentls.store.sessions import SessionStore
from agentls.workspace.disk import DiskWorkspace
from tests.core.context.agents import LongAgent, is_summary_request, make_files
from tests.core.context.conversations import assert_valid, user_texts
from tests.core.fakes import ScriptedApprover

WINDOW = 30_000
NO_CHEAP_TIERS = ContextConfig(window=WINDOW, snip=False, micro_compact=False)
PHRASE = "purple-elephant-42"


def deps(
    project: Path, model: Any, home: Path, *, settings: dict[str, Any] | None = None, **config: Any
) -> SessionDeps:
    cfg = AgentConfig(
        model=config.pop("model", "claude-sonnet-5-5"),
        permission_mode="bypassPermissions",
        retry_base_delay_s=0.0,
        max_turns=config.pop("max_turns", 1000),
        context=config.pop("context", ContextConfig(window=WINDOW)),
        **config,
    )
    return SessionDeps(
        config=cfg,
        model=model,
        workspace=DiskWorkspace(project),
        approver=ScriptedApprover([]),
        store=SessionStore(home),
        settings=SettingsSources(project=project, cli=settings),
    )


async def run(session: Session, prompt: str) -> list[Any]:
    return [e async for e in session.run(prompt).events()]


def request_size(request: ModelRequest) -> int:
    return fixed_tokens(request.system, request.tools) + MessageTokens().total(request.messages)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


async def test_a_long_session_stays_inside_the_window_and_keeps_the_users_words(
    project: Path, home: Path
) -> None:
    agent = LongAgent(make_files(project), calls=120)
    model = agent.model()
    session = await Session.start(deps(project, model, home))
    events = await run(session, f"Read every file, over and over. Remember {PHRASE}.")
    end = events[-1]
    assert isinstance(end, TurnEnded) and end.stop.kind == "end_turn", end.stop
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert len(finished) == 120 and not any(e.is_error for e in finished)
    assert len({e.call_id for e in finished}) == 120  # Nothing ran twice.
    tiers = {e.tier for e in events if isinstance(e, Compacted)}
    assert "micro" in tiers and tiers & {"snip", "summary"}, tiers
    for request in agent.requests:
        assert_valid(request.messages)
        assert request_size(request) < WINDOW
    last = agent.requests[-1]
    assert PHRASE in " ".join(user_texts(last.messages)) or any(PHRASE in m.text() for m in last.messages)
    assert PHRASE in str([m.model_dump() for m in last.messages])
    assert end.context_window == WINDOW and 0 < end.context_tokens < WINDOW


async def test_a_resumed_session_continues_from_its_compacted_context(project: Path, home: Path) -> None:
    agent = LongAgent(make_files(project), calls=60)
    session = await Session.start(deps(project, agent.model(), home))
    events = await run(session, f"Go. {PHRASE}")
    assert any(isinstance(e, Compacted) for e in events)
    live = list(session.state.history)
    live_base = session.state.context.base
    session.close()

    again = ScriptedModel([Reply([Text("resumed fine")])], model_name="scripted")
    resumed = await Session.resume(deps(project, again, home), session.id)
    assert resumed.state.history == live
    assert resumed.state.context.base == live_base
    assert resumed.state.context.cleared == session.state.context.cleared
    assert any("compacted" in n for n in resumed.notices)
    await run(resumed, "and now?")
    sent = again.requests[0].messages
    assert list(sent[: len(live)]) == live  # The next request carries the compacted context.
    assert PHRASE in str([m.model_dump() for m in sent])
    assert_valid(sent)


async def test_a_summary_reply_never_runs_tools_and_its_text_is_kept(project: Path, home: Path) -> None:
    def summary_with_a_tool_call(request: ModelRequest, n: int) -> Reply:
        return Reply(
            [
                Text(f"<summary>The summary number {n}, with enough words in it.</summary>"),
                ToolCall("Bash", {"command": "touch should-not-exist"}),
            ]
        )

    agent = LongAgent(make_files(project), calls=60, on_summary=summary_with_a_tool_call)
    session = await Session.start(deps(project, agent.model(), home, context=NO_CHEAP_TIERS))
    events = await run(session, "go")
    assert agent.summaries >= 1
    assert not (project / "should-not-exist").exists()
    assert not [
        e for e in events if isinstance(e, ToolCallStarted) and e.name == "Bash" and "touch" in str(e.input)
    ]
    summaries = [e for e in events if isinstance(e, Compacted) and e.tier == "summary"]
    assert summaries and "The summary number 1" in (summaries[0].summary or "")
    assert isinstance(events[-1], TurnEnded) and events[-1].stop.kind == "end_turn"


@pytest.mark.parametrize("failure", ["error", "empty"])
async def test_a_failed_summary_falls_back_to_snip(project: Path, home: Path, failure: str) -> None:
    def broken(request: ModelRequest, n: int) -> Reply | ModelError:
        if failure == "error":
            return ModelError(ErrorCause(kind="overloaded", message="Overloaded"))
        return Reply([Text("")])

    agent = LongAgent(make_files(project), calls=60, on_summary=broken)
    session = await Session.start(deps(project, agent.model(), home, context=NO_CHEAP_TIERS))
    events = await run(session, "go")
    assert agent.summaries >= 1
    assert any(isinstance(e, Notice) and "summary failed" in e.message for e in events)
    assert any(isinstance(e, Compacted) and e.tier == "snip" for e in events)
    assert isinstance(events[-1], TurnEnded) and events[-1].stop.kind == "end_turn"


async def test_a_pre_compact_hook_can_block_the_summary(project: Path, home: Path) -> None:
    hook = {
        "PreCompact": [{"matcher": "auto", "hooks": [{"type": "command", "command": "echo not now; exit 2"}]}]
    }
    agent = LongAgent(make_files(project), calls=60)
    session = await Session.start(
        deps(
            project,
            agent.model(),
            home,
            settings={"hooks": hook},
            context=NO_CHEAP_TIERS,
        )
    )
    events = await run(session, "go")
    assert agent.summaries == 0
    assert any(
        isinstance(e, Notice) and "PreCompact hook blocked" in e.message and "not now" in e.message
        for e in events
    )
    assert any(isinstance(e, Compacted) and e.tier == "snip" for e in events)


async def test_an_overflow_teaches_the_window_and_the_same_request_is_retried(
    project: Path, home: Path
) -> None:
    """The table says a million tokens; the API says 20,000. One 400, then no more."""
    files = make_files(project)
    agent = LongAgent(files, calls=40)
    overflows: list[int] = []

    def api(request: ModelRequest) -> Reply:
        size = request_size(request)
        if size > 20_000:
            overflows.append(size)
            raise ModelError(
                ErrorCause(
                    kind="context_overflow",
                    message=f"too long for the model: prompt is too long: {size} tokens > 20000 maximum",
                    status=400,
                )
            )
        return agent(request)

    model = ScriptedModel([api] * 400, model_name="scripted")
    session = await Session.start(deps(project, model, home, context=ContextConfig()))
    assert session.state.context.meter.window == 1_000_000
    events = await run(session, "go")
    assert len(overflows) == 1
    assert session.state.context.meter.window == 20_000
    assert any(isinstance(e, Notice) and "20,000 tokens" in e.message for e in events)
    assert any(isinstance(e, Compacted) and e.trigger == "reactive" for e in events)
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert len(finished) == 40 == len({e.call_id for e in finished})
    assert isinstance(events[-1], TurnEnded) and events[-1].stop.kind == "end_turn"
    session.close()
    # A resumed session keeps what the API taught it, unless it is given a window.
    resumed = await Session.resume(
        deps(project, ScriptedModel([]), home, context=ContextConfig()), session.id
    )
    assert resumed.state.context.meter.window == 20_000
    given = await Session.resume(deps(project, ScriptedModel([]), home), session.id)
    assert given.state.context.meter.window == WINDOW


async def test_overflows_that_compaction_cannot_fix_end_the_turn_with_context_overflow(
    project: Path, home: Path
) -> None:
    agent = LongAgent(make_files(project), calls=12)
    tooth = {"n": 0}

    def api(request: ModelRequest) -> Reply:
        if is_summary_request(request):
            return agent(request)
        tooth["n"] += 1
        if tooth["n"] > 12:  # After the tool calls, every request is too long.
            raise ModelError(
                ErrorCause(
                    kind="context_overflow",
                    message="prompt is too long: 999999 tokens > 20000 maximum",
                    status=400,
                )
            )
        return agent(request)

    model = ScriptedModel([api] * 100, model_name="scripted")
    session = await Session.start(deps(project, model, home))
    events = await run(session, "go")
    end = events[-1]
    assert isinstance(end, TurnEnded) and end.stop.kind == "context_overflow"
    assert end.stop.attempts == 3 and end.stop.window == 20_000  # type: ignore[union-attr]
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert len(finished) == 12 == len({e.call_id for e in finished})


async def test_a_reply_cut_off_by_the_window_is_dropped_and_retried_after_compacting(
    project: Path, home: Path
) -> None:
    agent = LongAgent(make_files(project), calls=20)
    cut = {"done": False}

    def api(request: ModelRequest) -> Reply:
        if not is_summary_request(request) and agent.made == 15 and not cut["done"]:
            cut["done"] = True
            return Reply([Text("I was saying something when")], stop_reason="model_context_window_exceeded")
        return agent(request)

    model = ScriptedModel([api] * 200, model_name="scripted")
    session = await Session.start(deps(project, model, home))
    events = await run(session, "go")
    assert cut["done"]
    assert any(isinstance(e, Compacted) and e.trigger == "reactive" for e in events)
    assert "I was saying something" not in str([m.model_dump() for m in session.state.history])
    assert isinstance(events[-1], TurnEnded) and events[-1].stop.kind == "end_turn"


async def test_collapse_merges_older_summaries_and_keeps_every_user_message(
    project: Path, home: Path
) -> None:
    files = make_files(project)
    small = ContextConfig(window=WINDOW, snip=False, micro_compact=False)
    session = await Session.start(deps(project, ScriptedModel([]), home, context=small))
    prompts = [f"prompt number {n} {PHRASE}" for n in range(12)]
    merges = 0
    for prompt in prompts:
        agent = LongAgent(files, calls=14)
        session.state.model = agent.model()
        session.state.context._deps.model = session.state.model
        events = await run(session, prompt)
        assert isinstance(events[-1], TurnEnded) and events[-1].stop.kind == "end_turn", events[-1]
        merges += agent.merges
    base = session.state.context.base
    assert base is not None and merges >= 1
    assert len(base.stages) <= 8
    words = " ".join(user_texts(session.state.history))
    for prompt in prompts:
        assert prompt in words
    assert request_size(session.state.context.request(session.state.history)) < WINDOW


async def test_manual_compaction_summarises_with_the_users_instructions(project: Path, home: Path) -> None:
    agent = LongAgent(make_files(project), calls=5)
    session = await Session.start(deps(project, agent.model(), home))
    await run(session, f"Read a few files. {PHRASE}")
    events: list[Any] = []
    outcome = await session.compact("focus on the config files", events.append)
    assert outcome.compacted and outcome.tokens_after < outcome.tokens_before
    summary_request = agent.requests[-1]
    assert "focus on the config files" in summary_request.messages[-1].text()
    assert [type(e) for e in events if isinstance(e, CompactionStarted | Compacted)] == [
        CompactionStarted,
        Compacted,
    ]
    assert any(isinstance(e, UsageUpdated) and e.purpose == "compaction" for e in events)
    assert PHRASE in " ".join(user_texts(session.state.history))
    assert_valid(session.state.history)


async def test_the_budget_stops_before_the_request_that_would_cross_it(project: Path, home: Path) -> None:
    # Each scripted reply reports 10,000 input tokens: $0.02 a request at $2/MTok.
    usage = TokenUsage(input_tokens=10_000, output_tokens=10)
    model = ScriptedModel([Reply([ToolCall("Bash", {"command": "true"})], usage=usage)] * 10, model_name="x")
    session = await Session.start(deps(project, model, home, budget=BudgetConfig(max_usd=0.05)))
    events = await run(session, "spend")
    end = events[-1]
    assert isinstance(end, TurnEnded) and end.stop.kind == "budget_exceeded", end.stop
    assert end.stop.limit == 0.05 and end.stop.spent <= 0.05  # type: ignore[union-attr]
    assert end.session_cost_usd is not None and end.session_cost_usd <= 0.05
    assert len(model.requests) == 2


async def test_thousands_of_small_exchanges_are_snipped_to_keep_requests_quick(
    project: Path, home: Path
) -> None:
    """Tokens never come near the window, but the message count would grow without end."""
    calls = 1400
    (project / "tiny.txt").write_text("small\n")
    read = Reply([ToolCall("Read", {"file_path": str(project / "tiny.txt")})])
    model = ScriptedModel([read] * calls + [Reply([Text("ok")])], model_name="scripted")
    session = await Session.start(
        deps(project, model, home, context=ContextConfig(window=1_000_000), max_turns=calls + 10)
    )
    events = await run(session, f"Echo a lot. {PHRASE}")
    assert isinstance(events[-1], TurnEnded) and events[-1].stop.kind == "end_turn"
    snips = [e for e in events if isinstance(e, Compacted) and e.tier == "snip"]
    assert snips
    assert max(len(r.messages) for r in model.requests) <= 301
    base = session.state.context.base
    assert base is not None and len(base.stages) <= 8  # Snip stages collapse too (mechanically).
    assert PHRASE in " ".join(user_texts(model.requests[-1].messages))
    for request in model.requests[-3:]:
        assert_valid(request.messages)


async def test_a_summary_that_would_not_shrink_the_context_is_not_applied(project: Path, home: Path) -> None:
    (project / "a.txt").write_text("tiny\n")
    summary = Reply([Text("<summary>" + "A long-winded summary of nothing much. " * 40 + "</summary>")])
    model = ScriptedModel(
        [Reply([ToolCall("Read", {"file_path": str(project / "a.txt")})]), Reply([Text("ok")]), summary],
        model_name="scripted",
    )
    session = await Session.start(deps(project, model, home))
    await run(session, "read a.txt")
    before = list(session.state.history)
    events: list[Any] = []
    outcome = await session.compact(None, events.append)
    assert not outcome.compacted and "would not make the context smaller" in outcome.message
    assert session.state.history == before and session.state.context.base is None
    assert any(isinstance(e, Notice) and "would not make" in e.message for e in events)

"""The turn loop against a ScriptedModel: streaming tool execution, ordering, stops, recovery."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentls.core.errors import ErrorCause, ModelError
from agentls.core.events import (
    AssistantMessage,
    PermissionDecided,
    PermissionRequested,
    Retrying,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnEnded,
    UsageUpdated,
)
from agentls.core.messages import ToolResultBlock
from agentls.core.model import BlockStop, InputJsonDelta, MessageStart, ToolUseStart
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall, reply_events
from tests.core.fakes import (
    ChangeTool,
    EventsThenError,
    LookTool,
    ScriptedApprover,
    Timeline,
    collect,
    make_session,
)


def ended(events: list) -> TurnEnded:  # type: ignore[type-arg]
    last = events[-1]
    assert isinstance(last, TurnEnded), last
    return last


def results_sent(model: ScriptedModel, request_index: int) -> list[ToolResultBlock]:
    last = model.requests[request_index].messages[-1]
    assert last.role == "user"
    return [b for b in last.content if isinstance(b, ToolResultBlock)]


async def test_text_turn_streams_deltas_and_ends(project: Path) -> None:
    model = ScriptedModel([Reply([Text("Hello there, this is a longer reply than one chunk.")])])
    session = await make_session(project, model)
    events = await collect(session, "hi")
    assert (
        "".join(e.text for e in events if isinstance(e, TextDelta))
        == "Hello there, this is a longer reply than one chunk."
    )
    assert sum(isinstance(e, TextDelta) for e in events) > 1
    end = ended(events)
    assert end.stop.kind == "end_turn"
    assert end.text.startswith("Hello there")
    assert end.requests == 1
    model.assert_consumed()
    # The request carried the system prompt, the tools and the prompt.
    request = model.requests[0]
    assert request.system[0].cache and not request.system[1].cache
    assert request.messages[-1].text() == "hi"


async def test_tool_result_goes_back_and_loop_continues(project: Path) -> None:
    timeline = Timeline()
    model = ScriptedModel(
        [
            Reply([Text("Looking."), ToolCall("Look", {"label": "a"})]),
            Reply([Text("Done.")]),
        ]
    )
    session = await make_session(project, model, tools=[LookTool(timeline)])
    events = await collect(session, "go")
    assert ended(events).stop.kind == "end_turn"
    [result] = results_sent(model, 1)
    assert result.content == "Look did a" and not result.is_error
    assert result.tool_use_id == model.requests[1].messages[-2].tool_uses()[0].id
    model.assert_consumed()


async def test_tool_starts_before_message_stop(project: Path) -> None:
    timeline = Timeline()
    model = ScriptedModel(
        [
            Reply([ToolCall("Look", {"label": "early"})], delay_before_stop_s=0.5),
            Reply([Text("ok")]),
        ]
    )
    session = await make_session(project, model, tools=[LookTool(timeline)])
    events = await collect(session, "go")
    kinds = [e.kind for e in events]
    # The tool finished while the model was still holding message_stop back.
    assert kinds.index("tool_call_finished") < kinds.index("assistant_message")
    assert kinds.index("tool_call_finished") < kinds.index("usage")


async def test_read_only_tools_run_concurrently(project: Path) -> None:
    timeline = Timeline()
    calls = [ToolCall("Look", {"label": f"r{i}", "sleep": 0.3}) for i in range(4)]
    model = ScriptedModel([Reply(calls), Reply([Text("ok")])])
    session = await make_session(project, model, tools=[LookTool(timeline)])
    await collect(session, "go")
    assert timeline.peak == 4
    assert [r.content for r in results_sent(model, 1)] == [f"Look did r{i}" for i in range(4)]


async def test_mutating_tools_run_one_at_a_time_in_order(project: Path) -> None:
    timeline = Timeline()
    calls = [
        ToolCall("Change", {"label": "w1", "sleep": 0.3}),
        ToolCall("Change", {"label": "w2", "sleep": 0.0}),
        ToolCall("Look", {"label": "r-after-w2", "sleep": 0.0}),
        ToolCall("Change", {"label": "w3", "sleep": 0.1}),
    ]
    model = ScriptedModel([Reply(calls), Reply([Text("ok")])])
    session = await make_session(
        project, model, tools=[LookTool(timeline), ChangeTool(timeline)], mode="bypassPermissions"
    )
    await collect(session, "go")
    assert timeline.order() == ["w1", "w2", "r-after-w2", "w3"]
    assert timeline.peak == 1
    spans = {label: (start, end) for _, label, start, end in timeline.spans}
    assert spans["w2"][0] >= spans["w1"][1]
    assert spans["r-after-w2"][0] >= spans["w2"][1]
    assert spans["w3"][0] >= spans["r-after-w2"][1]


async def test_results_come_back_in_call_order(project: Path) -> None:
    timeline = Timeline()
    calls = [ToolCall("Look", {"label": f"r{i}", "sleep": 0.3 - 0.1 * i}) for i in range(3)]
    model = ScriptedModel([Reply(calls), Reply([Text("ok")])])
    session = await make_session(project, model, tools=[LookTool(timeline)])
    await collect(session, "go")
    assert timeline.order() == ["r0", "r1", "r2"]
    finished = sorted(timeline.spans, key=lambda s: s[3])
    assert [s[1] for s in finished] == ["r2", "r1", "r0"]
    assert [r.content for r in results_sent(model, 1)] == ["Look did r0", "Look did r1", "Look did r2"]


async def test_bad_tool_input_is_an_error_result_and_the_loop_recovers(project: Path) -> None:
    timeline = Timeline()
    model = ScriptedModel(
        [
            Reply(
                [
                    ToolCall("Look", {"label": 5, "extra": True}),
                    ToolCall("Nope", {}),
                    ToolCall("Look", {}, raw_json='{"label": "x"'),
                    ToolCall("Look", {}, raw_json='["not", "an", "object"]'),
                    ToolCall("Look", {"label": "x" * 10}),
                ]
            ),
            Reply([Text("Recovered.")]),
        ]
    )
    session = await make_session(project, model, tools=[LookTool(timeline)])
    events = await collect(session, "go")
    assert ended(events).stop.kind == "end_turn"
    wrong, unknown, torn, array, good = results_sent(model, 1)
    assert wrong.is_error and "Invalid input for tool Look" in wrong.content
    assert "label" in wrong.content and "extra" in wrong.content
    assert unknown.is_error and "No such tool: Nope" in unknown.content and "Look" in unknown.content
    assert torn.is_error and "not valid JSON" in torn.content
    assert array.is_error and "JSON object" in array.content
    assert not good.is_error
    assert [s[1] for s in timeline.spans] == ["x" * 10]  # Only the valid call ran.


async def test_ask_then_allow_runs_and_deny_does_not(project: Path) -> None:
    timeline = Timeline()
    approver = ScriptedApprover(["allow_once", "reject_once"])
    model = ScriptedModel(
        [
            Reply([ToolCall("Change", {"label": "yes"}), ToolCall("Change", {"label": "no"})]),
            Reply([Text("ok")]),
        ]
    )
    session = await make_session(project, model, tools=[ChangeTool(timeline)], approver=approver)
    events = await collect(session, "go")
    assert [s[1] for s in timeline.spans] == ["yes"]
    allowed, rejected = results_sent(model, 1)
    assert not allowed.is_error
    assert rejected.is_error and "rejected" in rejected.content
    assert [e.outcome for e in events if isinstance(e, PermissionDecided)] == ["allow", "deny"]
    assert sum(isinstance(e, PermissionRequested) for e in events) == 2
    assert [r.call.summary for r in approver.asked] == ["Change yes", "Change no"]


async def test_allow_always_is_remembered_for_the_session(project: Path) -> None:
    timeline = Timeline()
    approver = ScriptedApprover(["allow_always"])
    model = ScriptedModel(
        [
            Reply([ToolCall("Change", {"label": "1"})]),
            Reply([ToolCall("Change", {"label": "2"})]),
            Reply([Text("ok")]),
        ]
    )
    session = await make_session(project, model, tools=[ChangeTool(timeline)], approver=approver)
    await collect(session, "go")
    assert len(approver.asked) == 1
    assert [s[1] for s in timeline.spans] == ["1", "2"]


@pytest.mark.parametrize(("mode", "expect"), [("dontAsk", "dontAsk"), ("plan", "plan mode")])
async def test_modes_that_deny_without_asking(project: Path, mode: str, expect: str) -> None:
    timeline = Timeline()
    approver = ScriptedApprover([])
    model = ScriptedModel(
        [Reply([ToolCall("Change", {"label": "x"}), ToolCall("Look", {"label": "y"})]), Reply([Text("ok")])]
    )
    session = await make_session(
        project, model, tools=[ChangeTool(timeline), LookTool(timeline)], approver=approver, mode=mode
    )
    await collect(session, "go")
    denied, looked = results_sent(model, 1)
    assert denied.is_error and expect in denied.content
    assert not looked.is_error
    assert approver.asked == []


async def test_max_turns_stops_before_the_next_request(project: Path) -> None:
    timeline = Timeline()
    model = ScriptedModel([Reply([ToolCall("Look", {"label": str(i)})]) for i in range(2)])
    session = await make_session(project, model, tools=[LookTool(timeline)], max_turns=2)
    events = await collect(session, "go")
    stop = ended(events).stop
    assert stop.kind == "max_turns" and stop.limit == 2
    model.assert_consumed()
    # The history is still valid: every tool call answered.
    assert session.state.history[-1].role == "user"


@pytest.mark.parametrize(
    ("api", "kind"),
    [
        ("max_tokens", "max_tokens"),
        ("refusal", "refusal"),
        ("model_context_window_exceeded", "context_overflow"),
    ],
)
async def test_stop_reasons_map(project: Path, api: str, kind: str) -> None:
    model = ScriptedModel([Reply([Text("partial")], stop_reason=api)])  # type: ignore[arg-type]
    session = await make_session(project, model)
    assert ended(await collect(session, "go")).stop.kind == kind


async def test_retryable_error_before_any_tool_is_retried(project: Path) -> None:
    overloaded = ModelError(ErrorCause(kind="overloaded", message="overloaded", retryable=True))
    model = ScriptedModel([overloaded, overloaded, Reply([Text("finally")])])
    session = await make_session(project, model)
    events = await collect(session, "go")
    assert [e.attempt for e in events if isinstance(e, Retrying)] == [1, 2]
    assert ended(events).stop.kind == "end_turn"
    assert ended(events).text == "finally"


async def test_retry_after_is_capped(project: Path) -> None:
    limited = ModelError(
        ErrorCause(kind="rate_limited", message="slow down", retryable=True, retry_after_s=3600)
    )
    model = ScriptedModel([limited, Reply([Text("ok")])])
    session = await make_session(project, model, retry_after_cap_s=0.01)
    events = await collect(session, "go")
    [retry] = [e for e in events if isinstance(e, Retrying)]
    assert retry.delay_s == 0.01


async def test_non_retryable_error_ends_the_turn_with_its_cause(project: Path) -> None:
    model = ScriptedModel([ModelError(ErrorCause(kind="authentication", message="bad key", status=401))])
    session = await make_session(project, model)
    stop = ended(await collect(session, "go")).stop
    assert stop.kind == "error" and stop.cause.kind == "authentication" and stop.cause.status == 401


async def test_retries_run_out(project: Path) -> None:
    err = ModelError(ErrorCause(kind="connection", message="refused", retryable=True))
    model = ScriptedModel([err, err, err])
    session = await make_session(project, model, max_retries=2)
    stop = ended(await collect(session, "go")).stop
    assert stop.kind == "error" and stop.cause.kind == "connection"
    model.assert_consumed()


async def test_stream_that_breaks_after_a_tool_started_is_not_retried(project: Path) -> None:
    timeline = Timeline()
    head = reply_events(
        Reply([Text("Reading."), ToolCall("Change", {"label": "once"}), ToolCall("Change", {"label": "cut"})])
    )
    # Cut inside the second tool_use block: its input never completes.
    cut = next(i for i, e in enumerate(head) if isinstance(e, BlockStop) and e.index == 1) + 1
    events = [
        *head[:cut],
        ToolUseStart(index=2, id="toolu_cut", name="Change"),
        InputJsonDelta(index=2, partial_json='{"lab'),
    ]
    model = EventsThenError(
        events,
        ModelError(ErrorCause(kind="connection", message="peer closed", retryable=True)),
        then=[reply_events(Reply([Text("Continuing.")]))],
    )
    session = await make_session(project, model, tools=[ChangeTool(timeline)], mode="bypassPermissions")
    out = await collect(session, "go")
    assert [s[1] for s in timeline.spans] == ["once"]
    assert ended(out).stop.kind == "end_turn"
    second = model.requests[1].messages
    assert [b.name for b in second[-2].tool_uses()] == ["Change"]  # The torn call is not in history.
    assert isinstance(second[-1].content[0], ToolResultBlock)
    assert any(e.kind == "notice" for e in out)


async def test_cancel_while_a_tool_runs(project: Path) -> None:
    timeline = Timeline()
    model = ScriptedModel([Reply([ToolCall("Look", {"label": "slow", "sleep": 30})]), Reply([Text("after")])])
    session = await make_session(project, model, tools=[LookTool(timeline)])
    turn = session.run("go")
    events = []
    async for event in turn.events():
        events.append(event)
        if isinstance(event, ToolCallStarted):
            await asyncio.wait_for(timeline.started.wait(), 5)
            turn.cancel()
    assert ended(events).stop.kind == "cancelled"
    [finished] = [e for e in events if isinstance(e, ToolCallFinished)]
    assert finished.is_error and "Cancelled" in finished.output
    # The session goes on with a valid history.
    events = await collect(session, "next")
    assert ended(events).text == "after"
    sent = model.requests[1].messages
    assert [m.role for m in sent] == ["user", "assistant", "user"]
    assert isinstance(sent[-1].content[0], ToolResultBlock) and sent[-1].text() == "next"


async def test_cancel_while_waiting_for_permission(project: Path) -> None:
    timeline = Timeline()
    approver = ScriptedApprover([None])
    model = ScriptedModel([Reply([ToolCall("Change", {"label": "x"})])])
    session = await make_session(project, model, tools=[ChangeTool(timeline)], approver=approver)
    turn = session.run("go")
    events = []
    async for event in turn.events():
        events.append(event)
        if isinstance(event, PermissionRequested):
            turn.cancel()
    assert ended(events).stop.kind == "cancelled"
    assert timeline.spans == []


async def test_consumer_cancellation_stops_the_turn(project: Path) -> None:
    timeline = Timeline()
    model = ScriptedModel([Reply([ToolCall("Look", {"label": "slow", "sleep": 30})])])
    session = await make_session(project, model, tools=[LookTool(timeline)])

    async def consume() -> None:
        async for _ in session.run("go").events():
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(timeline.started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert timeline.running == 0
    assert not session.busy


async def test_usage_accumulates_over_requests(project: Path) -> None:
    timeline = Timeline()
    model = ScriptedModel([Reply([ToolCall("Look", {"label": "a"})]), Reply([Text("ok")])])
    session = await make_session(project, model, tools=[LookTool(timeline)])
    events = await collect(session, "go")
    usages = [e for e in events if isinstance(e, UsageUpdated)]
    assert [u.session.input_tokens for u in usages] == [100, 200]
    assert ended(events).usage.output_tokens == 40
    assert sum(isinstance(e, AssistantMessage) for e in events) == 2


async def test_second_prompt_while_busy_is_refused(project: Path) -> None:
    from agentls.core.session import SessionBusy

    model = ScriptedModel([Reply([Text("x")], delay_before_stop_s=0.2)])
    session = await make_session(project, model)
    turn = session.run("one")
    agen = turn.events()
    await agen.__anext__()
    with pytest.raises(SessionBusy):
        session.run("two")
    async for _ in agen:
        pass
    assert not session.busy


async def test_message_start_only_stream_is_a_connection_error(project: Path) -> None:
    model = EventsThenError([MessageStart()], ModelError(ErrorCause(kind="api", message="boom")))
    session = await make_session(project, model)
    stop = ended(await collect(session, "go")).stop
    assert stop.kind == "error" and stop.cause.kind == "api"


async def test_cancel_mid_stream_closes_the_model_stream(project: Path) -> None:
    closed = asyncio.Event()

    class SlowModel:
        name = "slow"
        streams: list = []  # type: ignore[type-arg]  # noqa: RUF012 - Held: garbage collection must not be what closes them.

        def stream(self, request):  # type: ignore[no-untyped-def]
            gen = self._stream()
            self.streams.append(gen)
            return gen

        async def _stream(self):  # type: ignore[no-untyped-def]
            try:
                yield MessageStart()
                await asyncio.sleep(60)
            finally:
                closed.set()

    session = await make_session(project, SlowModel())
    turn = session.run("go")
    async for event in turn.events():
        if event.kind == "request_started":
            turn.cancel()
    assert closed.is_set()
    assert turn.stop is not None and turn.stop.kind == "cancelled"


async def test_tokens_of_a_cancelled_response_are_counted(project: Path) -> None:
    timeline = Timeline()
    model = ScriptedModel([Reply([ToolCall("Look", {"label": "slow", "sleep": 30})], delay_before_stop_s=30)])
    session = await make_session(project, model, tools=[LookTool(timeline)])
    turn = session.run("go")
    events = []
    async for event in turn.events():
        events.append(event)
        if isinstance(event, ToolCallStarted):
            await asyncio.wait_for(timeline.started.wait(), 5)
            turn.cancel()
    end = ended(events)
    assert end.stop.kind == "cancelled"
    assert end.requests == 1 and end.usage.input_tokens == 100
    assert session.state.usage.input_tokens == 100


async def test_tokens_of_failed_attempts_are_counted_once(project: Path) -> None:
    err = ModelError(ErrorCause(kind="overloaded", message="overloaded", retryable=True))
    head = reply_events(Reply([Text("par")]))[:3]  # message_start, text_start, one delta
    model = EventsThenError(head, err, then=[reply_events(Reply([Text("ok")]))])
    session = await make_session(project, model)
    end = ended(await collect(session, "go"))
    assert end.stop.kind == "end_turn" and end.requests == 1
    assert end.usage.input_tokens == 200  # The failed attempt's input was billed too.


async def test_always_answers_are_saved_as_rules_and_honoured_by_the_next_session(project: Path) -> None:
    from agentls.core.events import Notice
    from agentls.store.settings import read_settings

    timeline = Timeline()
    model = ScriptedModel([Reply([ToolCall("Bash", {"command": "touch done.txt"})]), Reply([Text("ok")])])
    from agentls.tools.bash import BashTool

    session = await make_session(
        project, model, tools=[BashTool()], approver=ScriptedApprover(["allow_always"])
    )
    events = await collect(session, "go")
    [notice] = [e for e in events if isinstance(e, Notice)]
    assert "Bash(touch done.txt)" in notice.message
    assert read_settings(project / ".agentls" / "settings.local.json")["permissions"]["allow"] == [
        "Bash(touch done.txt)"
    ]

    again = ScriptedModel([Reply([ToolCall("Bash", {"command": "touch done.txt"})]), Reply([Text("ok")])])
    approver = ScriptedApprover([])
    second = await make_session(project, again, tools=[BashTool()], approver=approver)
    await collect(second, "go")
    assert approver.asked == []
    [result] = results_sent(again, 1)
    assert not result.is_error
    assert timeline.spans == []


async def test_events_of_the_cleanup_are_kept_for_a_consumer_that_was_cancelled(project: Path) -> None:
    timeline = Timeline()
    model = ScriptedModel([Reply([ToolCall("Look", {"label": "slow", "sleep": 30})])])
    session = await make_session(project, model, tools=[LookTool(timeline)])
    turn = session.run("go")

    async def consume() -> None:
        async for _ in turn.events():
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(timeline.started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    left = turn.leftover()
    assert [e.kind for e in left][-1] == "turn_ended"
    [finished] = [e for e in left if isinstance(e, ToolCallFinished)]
    assert finished.is_error and "Cancelled" in finished.output
    assert turn.leftover() == []

"""API faults through the real SDK, the adapter and the loop, against the fake Messages API:
stalled streams (the idle timeout), persistent overloads (back-off, the fallback model), long
`retry-after` waits, and unattended mode (no retry limit, heartbeats, the deadline).

Back-off runs on a `FakeClock` (its sleeps return at once); only the idle timeout is real time,
and short."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentls.core.anthropic_model import AnthropicModel
from agentls.core.config import AgentConfig
from agentls.core.events import (
    AgentEvent,
    ModelFallback,
    RequestStarted,
    RetryHeartbeat,
    Retrying,
    SessionStarted,
    TurnEnded,
)
from agentls.core.model import ThinkingConfig
from agentls.core.session import Session, SessionDeps
from agentls.store.sessions import SessionStore
from agentls.workspace.disk import DiskWorkspace
from tests.core.fakes import FakeClock, ScriptedApprover
from tests.fakeapi import (
    DropConnection,
    FakeMessagesAPI,
    HttpError,
    Pings,
    Reply,
    Stall,
    Step,
    Text,
    Thinking,
)

MODEL = "claude-sonnet-5-5"
FALLBACK = "claude-haiku-4-5"
IDLE_S = 0.4
"""The idle timeout in these tests (the default is 90 s)."""


def deps(fake: FakeMessagesAPI, project: Path, clock: FakeClock | None, **config: Any) -> SessionDeps:
    return SessionDeps(
        config=AgentConfig(model=MODEL, permission_mode="bypassPermissions", **config),
        model=AnthropicModel(MODEL, api_key="test-key", base_url=fake.base_url),
        workspace=DiskWorkspace(project),
        approver=ScriptedApprover([]),
        store=SessionStore(project.parent / "sessions"),
        clock=clock,
    )


async def run(session: Session, prompt: str = "go") -> list[AgentEvent]:
    try:
        return [e async for e in session.run(prompt).events()]
    finally:
        await session.state.model.aclose()  # type: ignore[attr-defined]


async def turn(
    fake: FakeMessagesAPI, project: Path, clock: FakeClock | None = None, **config: Any
) -> tuple[Session, list[AgentEvent]]:
    session = await Session.start(deps(fake, project, clock, **config))
    return session, await run(session)


def ended(events: list[AgentEvent]) -> TurnEnded:
    end = events[-1]
    assert isinstance(end, TurnEnded), end
    return end


def of(kind: type[Any], events: list[AgentEvent]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def records(session: Session) -> list[dict[str, Any]]:
    assert session.transcript is not None
    return [json.loads(line) for line in session.transcript.read_text().splitlines()]


# --- Stalled streams ---------------------------------------------------------------------------


async def test_a_stalled_stream_fails_after_the_idle_timeout_not_the_read_timeout() -> None:
    with FakeMessagesAPI([Stall(after_events=4, hold_s=20)]) as fake:
        model = AnthropicModel(MODEL, api_key="test-key", base_url=fake.base_url, idle_timeout_s=IDLE_S)
        from agentls.core.errors import ModelError
        from agentls.core.messages import user_text
        from agentls.core.model import ModelRequest

        request = ModelRequest(model=MODEL, system=(), messages=(user_text("hi"),))
        got: list[object] = []
        with pytest.raises(ModelError) as info:
            async for event in model.stream(request):
                got.append(event)
        await model.aclose()
        # The client hung up on the silent connection; the fake noticed.
        assert fake.client_disconnected.wait(5)
    cause = info.value.cause
    assert (cause.kind, cause.retryable) == ("connection", True)
    assert cause.message == f"the response stream from {fake.base_url} stalled (no data for {IDLE_S:g} s)"
    assert got  # Some events arrived before the stall.


async def test_a_stall_mid_response_is_retried_and_the_turn_succeeds(project: Path) -> None:
    with FakeMessagesAPI([Stall(after_events=4, hold_s=20), Reply([Text("fine")])]) as fake:
        _, events = await turn(fake, project, FakeClock(), idle_timeout_s=IDLE_S)
        fake.assert_consumed()
    [retry] = of(Retrying, events)
    assert retry.attempt == 1 and "stalled" in retry.cause.message and retry.cause.retryable
    end = ended(events)
    assert end.stop.kind == "end_turn" and end.text == "fine"
    assert [e.attempt for e in of(RequestStarted, events)] == [1, 2]


async def test_a_stall_before_the_first_byte_is_retried_too(project: Path) -> None:
    from tests.fakeapi import Delay

    with FakeMessagesAPI([Delay(Reply([Text("late")]), before_s=20), Reply([Text("fine")])]) as fake:
        _, events = await turn(fake, project, FakeClock(), idle_timeout_s=IDLE_S)
    [retry] = of(Retrying, events)
    assert "timed out waiting for the API" in retry.cause.message
    assert ended(events).text == "fine"


async def test_pings_keep_a_slow_stream_alive(project: Path) -> None:
    # Silent but for pings for four idle timeouts: a model thinking for a long while is not a stall.
    pause = Pings(after_events=3, every_s=IDLE_S / 4, for_s=IDLE_S * 4, reply=Reply([Text("took a while")]))
    with FakeMessagesAPI([pause]) as fake:
        _, events = await turn(fake, project, FakeClock(), idle_timeout_s=IDLE_S)
        fake.assert_consumed()
        assert len(fake.requests) == 1
    assert of(Retrying, events) == []
    end = ended(events)
    assert end.stop.kind == "end_turn" and end.text == "took a while"


async def test_the_idle_timeout_defaults_to_90_seconds_and_reaches_the_request(project: Path) -> None:
    assert AgentConfig(model=MODEL).idle_timeout_s == 90.0
    with FakeMessagesAPI() as fake:
        session = await Session.start(deps(fake, project, None))
        session.close()
    assert session.state.context.request(session.state.history).idle_timeout_s == 90.0


# --- Persistent overloads ----------------------------------------------------------------------


def _backoff_caps(n: int, base: float = 0.5, cap: float = 30.0) -> list[float]:
    return [min(base * 2**i, cap) for i in range(n)]


def _assert_backoff(sleeps: list[float], caps: list[float]) -> None:
    assert len(sleeps) == len(caps), sleeps
    for slept, most in zip(sleeps, caps, strict=True):
        assert 0.75 * most <= slept <= most, (slept, most)  # Jitter: 75-100 % of the back-off.


async def test_a_persistent_overload_is_retried_10_times_with_capped_backoff(project: Path) -> None:
    clock = FakeClock()
    with FakeMessagesAPI([HttpError.overloaded()] * 11) as fake:
        _, events = await turn(fake, project, clock)
        fake.assert_consumed()
        assert len(fake.requests) == 11  # One attempt and ten retries.
        assert {r["model"] for r in fake.requests} == {MODEL}
    stop = ended(events).stop
    assert stop.kind == "error" and stop.cause.kind == "overloaded" and stop.cause.status == 529
    _assert_backoff(clock.sleeps, _backoff_caps(10))  # 0.5, 1, 2, … 16, then 30 s four times.
    retries = of(Retrying, events)
    assert [r.attempt for r in retries] == list(range(1, 11))
    assert {r.max_retries for r in retries} == {10}
    assert [r.delay_s for r in retries] == clock.sleeps
    # The waits near the 30 s cap are over 20 s: reported as long waits; the short ones are not.
    assert [r.long_wait for r in retries] == [delay > 20 for delay in clock.sleeps]
    assert retries[-1].long_wait and not retries[0].long_wait
    assert of(ModelFallback, events) == []


async def test_after_3_overloads_in_a_row_the_fallback_model_takes_over(project: Path) -> None:
    clock = FakeClock()
    script: list[Step] = [*[HttpError.overloaded()] * 3, Reply([Text("from the fallback")])]
    with FakeMessagesAPI(script) as fake:
        session, events = await turn(fake, project, clock, fallback_model=FALLBACK)
        fake.assert_consumed()
        models = [r["model"] for r in fake.requests]
    assert models == [MODEL, MODEL, MODEL, FALLBACK]
    _assert_backoff(clock.sleeps, _backoff_caps(2))  # The switch itself does not wait.
    [fallback] = of(ModelFallback, events)
    assert (fallback.from_model, fallback.to_model, fallback.overloads) == (MODEL, FALLBACK, 3)
    assert FALLBACK in fallback.message
    started = of(RequestStarted, events)
    assert [(r.model, r.attempt) for r in started] == [(MODEL, 1), (MODEL, 2), (MODEL, 3), (FALLBACK, 1)]
    end = ended(events)
    assert end.stop.kind == "end_turn" and end.text == "from the fallback"
    # The switch is in the transcript, and the session's prices and window are the fallback's.
    [record] = [r for r in records(session) if r["type"] == "model_fallback"]
    assert (record["from_model"], record["to_model"], record["overloads"]) == (MODEL, FALLBACK, 3)
    assert session.state.config.model == FALLBACK
    assert session.state.context.meter.window == 200_000


async def test_the_fallback_applies_to_the_rest_of_the_session_and_to_a_resume(project: Path) -> None:
    script: list[Step] = [*[HttpError.overloaded()] * 3, Reply([Text("one")]), Reply([Text("two")])]
    with FakeMessagesAPI(script) as fake:
        session, _ = await turn(fake, project, FakeClock(), fallback_model=FALLBACK)
        events = await run(session, "again")  # The next turn of the same session.
        session.close()
        resumed = await Session.resume(deps(fake, project, FakeClock(), fallback_model=FALLBACK), session.id)
        fake.add(Reply([Text("three")]))
        resumed_events = await run(resumed, "and again")
        resumed.close()
        explicit = await Session.resume(
            deps(fake, project, FakeClock(), fallback_model=FALLBACK), session.id, keep_fallback=False
        )
        fake.add(Reply([Text("four")]))
        await run(explicit, "on the first model")
        explicit.close()
        fake.assert_consumed()
        models = [r["model"] for r in fake.requests]
    assert ended(events).text == "two" and ended(resumed_events).text == "three"
    assert models == [MODEL, MODEL, MODEL, FALLBACK, FALLBACK, FALLBACK, MODEL]
    assert of(ModelFallback, events) == []  # Already switched: no second switch.
    assert resumed.started_event() == SessionStarted(
        session_id=session.id,
        model=FALLBACK,
        cwd=str(project),
        resumed=True,
        transcript=str(session.transcript),
    )
    assert any(FALLBACK in notice for notice in resumed.notices)


async def test_a_persistent_overload_of_the_fallback_model_too_ends_the_turn(project: Path) -> None:
    clock = FakeClock()
    with FakeMessagesAPI([HttpError.overloaded()] * 14) as fake:
        _, events = await turn(fake, project, clock, fallback_model=FALLBACK)
        fake.assert_consumed()
        models = [r["model"] for r in fake.requests]
    assert models == [MODEL] * 3 + [FALLBACK] * 11  # A fresh count of ten retries on the fallback.
    assert len(of(ModelFallback, events)) == 1
    assert ended(events).stop.cause.kind == "overloaded"  # type: ignore[union-attr]


async def test_only_overloads_in_a_row_count_towards_the_fallback(project: Path) -> None:
    script: list[Step] = [
        HttpError.overloaded(),
        HttpError.overloaded(),
        HttpError.server_error(),  # Not an overload: the count starts again.
        HttpError.overloaded(),
        HttpError.overloaded(),
        Reply([Text("still the first model")]),
    ]
    with FakeMessagesAPI(script) as fake:
        _, events = await turn(fake, project, FakeClock(), fallback_model=FALLBACK)
        assert {r["model"] for r in fake.requests} == {MODEL}
    assert of(ModelFallback, events) == []
    assert ended(events).text == "still the first model"


async def test_the_fallback_model_is_not_sent_the_first_models_thinking(project: Path) -> None:
    thinking = ThinkingConfig(type="enabled", budget_tokens=2048)
    script: list[Step] = [
        Reply([Thinking("let me think", signature="sig-of-the-first-model"), Text("first")]),
        *[HttpError.overloaded()] * 3,
        Reply([Text("second")]),
    ]
    with FakeMessagesAPI(script) as fake:
        session, _ = await turn(fake, project, FakeClock(), fallback_model=FALLBACK, thinking=thinking)
        await run(session, "more")
        fake.assert_consumed()
        first_model_requests = [r for r in fake.requests[1:] if r["model"] == MODEL]
        fallback_request = fake.requests[-1]
    for body in first_model_requests:  # Its own thinking goes back to the first model.
        assert "sig-of-the-first-model" in json.dumps(body)
    assert fallback_request["model"] == FALLBACK
    assert "sig-of-the-first-model" not in json.dumps(fallback_request)
    answer = fallback_request["messages"][1]
    assert answer["role"] == "assistant" and [b["type"] for b in answer["content"]] == ["text"]
    # The history and the transcript keep the block.
    assert any(
        getattr(b, "signature", "") == "sig-of-the-first-model"
        for m in session.state.history
        for b in m.content
    )


# --- retry-after -------------------------------------------------------------------------------


@pytest.mark.parametrize(("retry_after", "long_wait"), [(45, True), (5, False)])
async def test_a_retry_after_over_20_seconds_is_reported_and_honoured(
    project: Path, retry_after: int, long_wait: bool
) -> None:
    clock = FakeClock()
    limited = HttpError(529, "overloaded_error", "Overloaded", {"retry-after": str(retry_after)})
    with FakeMessagesAPI([limited, Reply([Text("ok")])]) as fake:
        _, events = await turn(fake, project, clock)
    [retry] = of(Retrying, events)
    assert retry.delay_s == retry_after and retry.cause.retry_after_s == retry_after
    assert retry.long_wait is long_wait
    assert clock.sleeps == [retry_after]
    assert ended(events).text == "ok"


async def test_retry_after_is_capped_at_a_minute_when_attended(project: Path) -> None:
    clock = FakeClock()
    with FakeMessagesAPI([HttpError.rate_limited(retry_after_s=3600), Reply([Text("ok")])]) as fake:
        _, events = await turn(fake, project, clock)
    assert clock.sleeps == [60.0]
    assert ended(events).text == "ok"


# --- Unattended mode ---------------------------------------------------------------------------


async def test_unattended_retries_past_10_with_backoff_capped_at_5_minutes_and_heartbeats(
    project: Path,
) -> None:
    clock = FakeClock()
    with FakeMessagesAPI([*[HttpError.overloaded()] * 15, Reply([Text("made it")])]) as fake:
        _, events = await turn(fake, project, clock, unattended=True)
        fake.assert_consumed()
        assert len(fake.requests) == 16
    end = ended(events)
    assert end.stop.kind == "end_turn" and end.text == "made it"
    retries = of(Retrying, events)
    assert [r.attempt for r in retries] == list(range(1, 16))
    assert {r.max_retries for r in retries} == {None}
    delays = [r.delay_s for r in retries]
    for delay, most in zip(delays, _backoff_caps(15, cap=300.0), strict=True):
        assert 0.75 * most <= delay <= most
    assert max(delays) > 200  # Past the attended cap of 30 s.
    # Waits are slept in heartbeat-sized steps, with a heartbeat after each but the last.
    assert max(clock.sleeps) <= 30.0 and sum(clock.sleeps) == pytest.approx(sum(delays))
    beats = of(RetryHeartbeat, events)
    expected = sum(int(-(-delay // 30)) - 1 for delay in delays)
    assert len(beats) == expected > 0
    for beat in beats:
        assert beat.remaining_s > 0 and beat.waited_s > 0 and beat.cause.kind == "overloaded"


async def test_unattended_gives_up_at_the_deadline(project: Path) -> None:
    clock = FakeClock()
    start = clock.now
    with FakeMessagesAPI([HttpError.overloaded()] * 40) as fake:
        _, events = await turn(fake, project, clock, unattended=True, deadline_s=600.0)
        sent = len(fake.requests)
    stop = ended(events).stop
    assert stop.kind == "error" and stop.cause.kind == "deadline"
    assert "deadline" in stop.cause.message and "Overloaded" in stop.cause.message
    assert not stop.cause.retryable
    assert clock.now - start <= 600.0  # No retry started after the deadline...
    retries = of(Retrying, events)
    assert len(retries) == sent - 1 > 5  # ...and it kept retrying until then.
    lefts = [r.deadline_in_s for r in retries]
    assert all(left is not None and left > 0 for left in lefts)
    assert lefts == sorted(lefts, reverse=True)  # type: ignore[type-var]


async def test_a_non_retryable_error_ends_an_unattended_turn_at_once(project: Path) -> None:
    with FakeMessagesAPI([HttpError.unauthorized()]) as fake:
        _, events = await turn(fake, project, FakeClock(), unattended=True)
        assert len(fake.requests) == 1
    assert ended(events).stop.cause.kind == "authentication"  # type: ignore[union-attr]


async def test_dropped_connections_are_retried_without_limit_when_unattended(project: Path) -> None:
    with FakeMessagesAPI([*[DropConnection(2)] * 12, Reply([Text("back")])]) as fake:
        _, events = await turn(fake, project, FakeClock(), unattended=True)
        fake.assert_consumed()
    assert len(of(Retrying, events)) == 12
    assert ended(events).text == "back"

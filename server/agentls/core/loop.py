"""One turn: prompt in, events out, until the model stops or a budget or the user stops it.

`Turn.events()` is an async generator over `AgentEvent`s. Internally a driver task runs the loop
and pushes events onto a queue, so tool events reach the consumer while the model is still
streaming. `Turn.cancel()` (or cancelling the consumer) cancels the driver at whatever it awaits:
running tools are killed, the history is left valid, and the turn ends with `cancelled`.

Each iteration is one API call; its outcome is a closed union (`Continue` or `Stop`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from agentls.core.assembler import Assembler
from agentls.core.checkpoints.tracker import checkpoint_label
from agentls.core.context.budget import Overrun
from agentls.core.context.meter import overflow_numbers
from agentls.core.errors import ErrorCause, ModelError
from agentls.core.event_pump import EventPump
from agentls.core.events import (
    AgentEvent,
    AssistantMessage,
    BudgetExceeded,
    Cancelled,
    CheckpointTaken,
    Compacted,
    ContextOverflow,
    EndTurn,
    Errored,
    MaxTokens,
    MaxTurns,
    ModelFallback,
    Notice,
    Refusal,
    RequestStarted,
    RetryHeartbeat,
    Retrying,
    StopReason,
    TextDelta,
    ThinkingDelta,
    TurnEnded,
    TurnStarted,
)
from agentls.core.history import append_message
from agentls.core.messages import Message, TextBlock, ToolResultBlock, ToolUseBlock, user_text
from agentls.core.model import ModelRequest, StreamEvent, TokenUsage
from agentls.core.records import (
    MessageRecord,
    ModelFallbackRecord,
    StateRecord,
    TurnEndRecord,
    TurnStartRecord,
)
from agentls.core.retry import format_duration, retry_delay, retry_limit, should_fall_back
from agentls.core.session_hooks import (
    answer_finished,
    context_message,
    conversation_restarted,
    prompt_submitted,
    waiting_for_user,
)
from agentls.core.state import SessionState
from agentls.core.tool_exec import ToolRunner


@dataclass(frozen=True)
class Continue:
    """Send another request: tool results are waiting, or the model paused."""


@dataclass(frozen=True)
class Stop:
    reason: StopReason


Outcome = Continue | Stop


@dataclass
class _Tries:
    """One API call's attempts so far."""

    attempt: int = 1
    overloads: int = 0
    """Overloaded answers in a row."""


@dataclass
class _InFlight:
    """The response being streamed, so cancellation can leave the history valid."""

    assembler: Assembler
    runner: ToolRunner
    committed: bool = False
    settled: bool = False
    """Its tokens are accounted (exactly once, however the response ended)."""


class Turn:
    def __init__(self, state: SessionState, prompt: str) -> None:
        self._state = state
        self._prompt = prompt
        self._pump = EventPump(state.blackbox)
        self._inflight: _InFlight | None = None
        self._usage_at_start = state.spending.usage
        self._cost_at_start = state.spending.cost_usd
        self._requests = 0
        self._started_at = 0.0
        """On the session's clock: the deadline counts from here."""
        self.stop: StopReason | None = None
        self._summarized = False
        """A summary compaction happened since the last request: SessionStart (`compact`) hooks run."""
        self._hook_stopped = False
        """A hook said `continue: false`: the turn ends, without Stop hooks."""

    def cancel(self) -> None:
        self._pump.cancel()

    def events(self) -> AsyncIterator[AgentEvent]:
        return self._pump.run(self._drive, "a turn")

    def leftover(self) -> list[AgentEvent]:
        """Events emitted after the consumer stopped iterating (e.g. it was cancelled while the turn
        cleaned up: the cancelled tools' results, `TurnEnded`), so a front end can still show them."""
        return self._pump.leftover()

    def _emit(self, event: AgentEvent) -> None:
        if isinstance(event, Compacted) and event.tier == "summary":
            self._summarized = True
        self._pump.emit(event)

    async def _drive(self) -> None:
        stop: StopReason
        try:
            stop = await self._loop()
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()  # We own this task; the cancellation is handled right here.
            await self._abandon_inflight()
            stop = Cancelled()
        except ModelError as err:
            stop = Errored(cause=err.cause)
        except Exception as err:  # A bug must end the turn visibly, not kill the server.
            self._state.log.exception("turn failed")
            stop = Errored(cause=ErrorCause(kind="internal", message=f"{type(err).__name__}: {err}"))
        self._state.end_turn_scope()  # A skill's allowed-tools hold until the turn ends, however it ends.
        await self._stop_background()
        await self._checkpoint_settled()
        await self._notify_waiting(stop)
        self.stop = stop
        st = self._state
        st.journal.write(StateRecord(state="idle"))
        st.journal.write(TurnEndRecord(stop=stop), sync=True)
        last = st.history[-1] if st.history else None
        # No request, no answer (a blocked prompt): the last message is an earlier turn's.
        answered = self._requests > 0 and last is not None and last.role == "assistant"
        text = last.text() if answered and last is not None else ""
        spending = st.spending
        cost = None if spending.session_cost is None else spending.cost_usd - self._cost_at_start
        self._emit(
            TurnEnded(
                session_id=st.session_id,
                stop=stop,
                text=text,
                usage=spending.usage - self._usage_at_start,
                requests=self._requests,
                cost_usd=cost,
                session_usage=spending.usage,
                session_cost_usd=spending.session_cost,
                context_tokens=st.context.fill(st.history),
                context_window=st.context.meter.window,
            )
        )
        self._pump.close()

    async def _loop(self) -> StopReason:
        st = self._state
        self._started_at = st.clock.monotonic()
        self._emit(TurnStarted(session_id=st.session_id, prompt=self._prompt))
        if st.checkpoints is not None and not st.is_subagent:
            # Before anything of the turn is on record: a conversation rewind to it drops the turn.
            label = checkpoint_label(self._prompt)
            n = await st.checkpoints.begin("prompt", label)
            self._emit(CheckpointTaken(n=n, checkpoint_kind="prompt", label=label))
        submitted = await prompt_submitted(st, self._prompt, self._emit)
        if submitted.refused is not None:
            return EndTurn()  # A UserPromptSubmit hook kept the prompt from the model.
        st.journal.write(TurnStartRecord(prompt=self._prompt))
        self._commit(submitted.message)
        stop_hook_active = False
        while True:
            if self._requests >= st.config.max_turns:
                return MaxTurns(limit=st.config.max_turns)
            await st.sync_tools(self._emit)  # MCP servers' tools as they are now (`mcp_pool.py`).
            await st.context.prepare(st.history, self._emit, st.spending.check)
            await self._after_compaction()
            outcome = await self._respond()
            if isinstance(outcome, Stop):
                if not isinstance(outcome.reason, EndTurn) or self._hook_stopped:
                    return outcome.reason
                if await self._background_answers():
                    continue  # The model reads what its background agents found, and goes on.
                go_on = await answer_finished(st, stop_hook_active, self._emit)
                if go_on is None:
                    return outcome.reason
                self._commit(user_text(go_on))  # A Stop hook blocked the end: the model goes on.
                stop_hook_active = True

    async def _after_compaction(self) -> None:
        """After a summary, SessionStart (`compact`) hooks; hook context waiting for the model
        joins the last user message."""
        st = self._state
        if self._summarized:
            self._summarized = False
            await conversation_restarted(st, "compact", self._emit)
        if st.pending_context and st.history and st.history[-1].role == "user":
            message = context_message(st)
            if message is not None:
                self._commit(message)
        background = st.background
        if background is not None and background.waiting() and st.history and st.history[-1].role == "user":
            notes = background.take()
            self._commit(Message(role="user", content=tuple(TextBlock(text=n) for n in notes)))

    async def _background_answers(self) -> bool:
        """The model would end the turn: if background agents have answered or still work, wait
        for the next answer and give it to the model (True); False when there are none."""
        background = self._state.background
        if background is None or not (background.running() or background.waiting()):
            return False
        if not background.waiting():
            count = background.running()
            self._emit(
                Notice(
                    level="info",
                    message=f"Waiting for {count} background agent{'s' if count > 1 else ''} to finish…",
                )
            )
            await background.wait()
        notes = background.take()
        self._commit(Message(role="user", content=tuple(TextBlock(text=n) for n in notes)))
        return True

    async def _stop_background(self) -> None:
        """A turn's background agents do not outlive it (their notifications wait for the next)."""
        background = self._state.background
        if background is None or not background.running():
            return
        try:
            await background.stop_all()
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()

    async def _checkpoint_settled(self) -> None:
        """The changes of the turn's last command are on record before the turn ends (a rewind
        right after it sees them)."""
        checkpoints = self._state.checkpoints
        if checkpoints is None:
            return
        try:
            await checkpoints.ready()
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()

    async def _notify_waiting(self, stop: StopReason) -> None:
        """Notification hooks: the turn is over and waits for the user (a cancel cuts them short)."""
        try:
            await waiting_for_user(self._state, stop, self._emit)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()

    async def _respond(self) -> Outcome:
        """One API call, retried while nothing has run yet; tools start as their blocks close."""
        st = self._state
        tries = _Tries()
        while True:
            overrun = st.spending.check(st.context.projected(st.history))
            if overrun is not None:
                return Stop(_budget_stop(overrun))
            runner = st.new_runner(self._emit)
            assembler = Assembler(functools.partial(self._submit, runner))
            self._inflight = _InFlight(assembler, runner)
            self._emit(RequestStarted(index=self._requests, model=st.config.model, attempt=tries.attempt))
            st.journal.write(StateRecord(state="streaming"))
            cause: ErrorCause | None = None
            request = self._request()
            st.context.sending(request.messages)
            stream = st.model.stream(request)
            try:
                async for event in stream:
                    delta = assembler.feed(event)
                    if delta is not None:
                        kind, chunk = delta
                        self._emit(TextDelta(text=chunk) if kind == "text" else ThinkingDelta(text=chunk))
            except ModelError as err:
                cause = err.cause
            else:
                if not assembler.finished:  # The adapter raises for this; a custom Model might not.
                    cause = ErrorCause(
                        kind="connection",
                        message="the response stream ended before message_stop",
                        retryable=True,
                    )
            finally:
                # Release the HTTP stream now, not when the generator is garbage-collected:
                # a cancelled turn must not keep a connection (and the server's work) open.
                await _aclose(stream)
            if (
                cause is None
                and assembler.stop_reason == "model_context_window_exceeded"
                and not runner.started
            ):
                # The context filled up while the model answered: drop the cut-off reply, compact, retry.
                cause = ErrorCause(
                    kind="context_overflow", message="the context window filled up during the reply"
                )
            if cause is None:
                self._settle(self._inflight)
                return await self._complete(assembler, runner)
            if cause.kind == "context_overflow" and not runner.started:
                self._settle(self._inflight, count_request=False)
                if await st.context.recover(st.history, cause.message, self._emit, st.spending.check):
                    continue
                return Stop(self._overflow_stop(cause))
            if runner.started:
                # Tools already ran from this response: never retry it. Keep what completed.
                self._settle(self._inflight)
                return await self._salvage(assembler, runner, cause)
            step = self._next_try(cause, tries)
            if isinstance(step, Stop):
                self._settle(self._inflight)
                return step
            self._settle(self._inflight, count_request=False)  # A retry is not another turn.
            if step == "fall_back":
                self._fall_back(tries.overloads)
                tries = _Tries()  # The fallback model gets retries of its own; no wait.
                continue
            await self._retry_after(step, tries.attempt, cause)
            tries.attempt += 1

    def _next_try(self, cause: ErrorCause, tries: _Tries) -> Stop | Literal["fall_back"] | float:
        """After a failed attempt nothing ran from: stop, switch to the fallback model, or wait
        this many seconds and send the call again."""
        cfg = self._state.config
        deadline_in = self._deadline_in()
        if cause.retryable:
            tries.overloads = tries.overloads + 1 if cause.kind == "overloaded" else 0
            if should_fall_back(cfg, tries.overloads) and (deadline_in is None or deadline_in > 0):
                return "fall_back"
        limit = retry_limit(cfg)
        if not cause.retryable or (limit is not None and tries.attempt > limit):
            return Stop(Errored(cause=cause))
        delay = retry_delay(cfg, cause, tries.attempt)
        if deadline_in is not None and delay > deadline_in:
            return Stop(Errored(cause=self._deadline_cause(cause, tries.attempt)))
        return delay

    async def _retry_after(self, delay: float, attempt: int, cause: ErrorCause) -> None:
        cfg = self._state.config
        self._emit(
            Retrying(
                attempt=attempt,
                delay_s=delay,
                cause=cause,
                max_retries=retry_limit(cfg),
                model=cfg.model,
                long_wait=delay > cfg.retry_report_s,
                deadline_in_s=self._deadline_in(),
            )
        )
        await self._wait(delay, attempt, cause)

    def _fall_back(self, overloads: int) -> None:
        """Switch the session to its fallback model, say so, and record it for resumes."""
        st = self._state
        old, new = st.config.model, st.config.fallback_model
        assert new is not None
        st.switch_model(new)
        at = datetime.now(UTC).isoformat()
        st.journal.write(
            ModelFallbackRecord(from_model=old, to_model=new, overloads=overloads, at=at), sync=True
        )
        message = (
            f"{old} was overloaded {overloads} times in a row: switched to the fallback model {new} "
            "for the rest of the session"
        )
        self._emit(ModelFallback(from_model=old, to_model=new, overloads=overloads, message=message))

    async def _wait(self, delay: float, attempt: int, cause: ErrorCause) -> None:
        """Sleep before a retry; unattended, with a heartbeat event every `heartbeat_s`."""
        st = self._state
        clock = st.clock
        if not st.config.unattended:
            await clock.sleep(delay)
            return
        beat = st.config.heartbeat_s
        left = delay
        while left > 0:
            step = min(beat, left)
            await clock.sleep(step)
            left -= step  # Counted, not read off the clock: float noise must not add a step.
            if left > 0:
                self._emit(
                    RetryHeartbeat(
                        attempt=attempt,
                        waited_s=delay - left,
                        remaining_s=left,
                        cause=cause,
                        deadline_in_s=self._deadline_in(),
                    )
                )

    def _deadline_in(self) -> float | None:
        """Seconds until the deadline after which no retry starts (None: there is none)."""
        st = self._state
        if st.config.deadline_s is None:
            return None
        return st.config.deadline_s - (st.clock.monotonic() - self._started_at)

    def _deadline_cause(self, cause: ErrorCause, attempt: int) -> ErrorCause:
        deadline = format_duration(self._state.config.deadline_s or 0.0)
        return ErrorCause(
            kind="deadline",
            message=f"gave up at the deadline ({deadline} after the turn started): the API still "
            f"failed after {attempt} attempt(s), and the next retry would start after it; "
            f"the last error: {cause.message}",
            status=cause.status,
        )

    def _submit(self, runner: ToolRunner, block: ToolUseBlock, error: str | None) -> None:
        assert self._inflight is not None
        # Make the blocks that led to this call durable before it can have any effect.
        self._state.record_partial(self._inflight.assembler)
        runner.submit(block, error)

    async def _complete(self, assembler: Assembler, runner: ToolRunner) -> Outcome:
        st = self._state
        message = assembler.message()
        self._commit_assistant(message, assembler.message_id)
        st.context.answered(assembler.usage, len(st.history))
        if runner.started:
            self._commit(Message(role="user", content=tuple(await runner.results())))
            if runner.hook_stop is not None:
                self._hook_stopped = True  # A tool hook said `continue: false`.
                return Stop(EndTurn())
            if assembler.stop_reason == "refusal":
                return Stop(Refusal())
            if assembler.stop_reason == "model_context_window_exceeded":
                st.context.overflowed_in_reply()
            return Continue()
        self._inflight = None
        match assembler.stop_reason:
            case "max_tokens" | "model_context_window_exceeded":
                return Stop(MaxTokens())
            case "refusal":
                return Stop(Refusal())
            case "pause_turn":
                return Continue()
            case _:
                if not message.content:
                    st.log.warning("empty assistant message (stop_reason=%s)", assembler.stop_reason)
                return Stop(EndTurn())

    async def _salvage(self, assembler: Assembler, runner: ToolRunner, cause: ErrorCause) -> Outcome:
        self._commit_assistant(assembler.message(), assembler.message_id)
        self._commit(Message(role="user", content=tuple(await runner.results())))
        self._emit(
            Notice(
                level="warning",
                message=f"The response broke off after tools had started ({cause.message}); "
                "their results were kept and were not re-run.",
            )
        )
        return Continue() if cause.retryable else Stop(Errored(cause=cause))

    async def _abandon_inflight(self) -> None:
        inflight, self._inflight = self._inflight, None
        if inflight is None:
            return
        self._settle(inflight, count_request=bool(inflight.assembler.message_id))
        if not inflight.runner.started:
            return  # Nothing ran from the partial response: drop it.
        results: list[ToolResultBlock] = await inflight.runner.cancel()
        if not inflight.committed:
            self._commit_assistant(inflight.assembler.message(), inflight.assembler.message_id)
        last = self._state.history[-1]
        if last.role == "assistant":
            self._commit(Message(role="user", content=tuple(results)))

    def _commit_assistant(self, message: Message, message_id: str) -> None:
        if self._inflight is not None:
            self._inflight.committed = True
        if not message.content:
            return  # The API rejects empty assistant messages; there is nothing to keep.
        self._commit(message, message_id)
        self._emit(AssistantMessage(message=message))

    def _commit(self, message: Message, message_id: str = "") -> None:
        st = self._state
        append_message(st.history, message)
        st.journal.write(
            MessageRecord(message=message, message_id=message_id), sync=message.role == "assistant"
        )

    def _settle(self, inflight: _InFlight | None, *, count_request: bool = True) -> None:
        if inflight is None or inflight.settled:
            return
        inflight.settled = True
        if count_request:
            self._requests += 1
        if inflight.assembler.usage != TokenUsage():
            self._account(inflight.assembler.usage)

    def _account(self, usage: TokenUsage) -> None:
        st = self._state
        st.context.account(usage, st.history, self._emit)

    def _request(self) -> ModelRequest:
        st = self._state
        return st.context.request(st.history)

    def _overflow_stop(self, cause: ErrorCause) -> ContextOverflow:
        st = self._state
        numbers = overflow_numbers(cause.message)
        tokens = numbers[0] if numbers else st.context.fill(st.history)
        return ContextOverflow(
            tokens=tokens,
            window=st.context.meter.window,
            attempts=st.context.recoveries,
            message="the conversation does not fit the context window even after compacting: "
            + cause.message,
        )


def _budget_stop(overrun: Overrun) -> BudgetExceeded:
    return BudgetExceeded(
        budget=overrun.budget,
        spent=overrun.spent,
        limit=overrun.limit,
        projected=overrun.projected,
        message=overrun.message,
    )


async def _aclose(stream: AsyncIterator[StreamEvent]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()

"""Runs the context tiers before every request, recovers from an overflow, and records it all.

Before each request (`prepare`), cheapest first, each only if the ones before were not enough:
micro-compaction past its threshold, snip past its threshold, a model-written summary near the
limit, and a collapse of the compacted head when it has grown too big. An overflow (`recover`)
takes the window the API stated and compacts harder, up to `MAX_RECOVERIES` times in a row.
Every change is a `compaction` record in the transcript, written before the request that
depends on it, so a resumed session continues from the same context.

The manager owns the *shape* of the context (its compacted head and which results were cleared);
the messages themselves stay in the session's list, which it rewrites in place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from agentls.core.context import collapse as collapse_tier
from agentls.core.context.base import Base, Stage, render
from agentls.core.context.budget import Overrun, Spending
from agentls.core.context.cut import (
    choose_cut,
    file_notes,
    merged_files,
    snip_note,
    stage_for,
    touched_files,
)
from agentls.core.context.meter import ContextMeter, overflow_numbers
from agentls.core.context.microcompact import MicroPolicy, apply_markers, clearable_tokens, microcompact
from agentls.core.context.settings import ContextConfig
from agentls.core.context.summary import SummaryReply, ask_for_summary, merge_request, summary_request
from agentls.core.context.tokens import MessageTokens, block_tokens, text_tokens
from agentls.core.context.tool_calls import CallKeys, paired_calls
from agentls.core.events import (
    AgentEvent,
    Compacted,
    CompactionStarted,
    CompactionTier,
    CompactionTrigger,
    Notice,
    UsageUpdated,
)
from agentls.core.journal import Journal
from agentls.core.messages import Message, PerMessage, ToolResultBlock
from agentls.core.model import Model, ModelRequest, TokenUsage
from agentls.core.records import CompactionRecord, UsageRecord, WindowRecord
from agentls.tools.base import TodoItem

MAX_RECOVERIES = 3
"""Overflow recoveries in a row before a turn gives up with `context_overflow`."""
MICRO_TRIGGER_CAP = 120_000
"""Micro-compaction starts at `microCompactPercent` of the window, but never above this many tokens:
with a million-token window, reading half of it from cache on every request costs more than
re-reading a file now and then."""
MICRO_BATCH = 0.4
"""A micro-compaction frees at least this share of its trigger level at once (batches, rarely)."""
SNIP_TARGET = 0.6
"""Snip cuts down to this share of its threshold."""
SUMMARY_TAIL = 0.2
"""The recent turns a summary keeps verbatim: at most this share of the window (at least one exchange)."""
COLLAPSE_SHARE = 0.15
"""The compacted head's summaries may fill this share of the window before older ones are merged."""
MAX_STAGES = 8
SUMMARY_GROWTH = 3_000
"""Tokens a new summary stage is assumed to add when choosing where to cut."""
MAX_MESSAGES = 300
"""Past this many messages, snip cuts the context to half of it whatever the fill: thousands of
exchanges whose results are markers cost little in tokens but make every request slower to
build and send (the SDK copies the whole body), and say little the snip note does not."""

EventSink = Callable[[AgentEvent], None]
PreCompact = Callable[[CompactionTrigger, str | None, EventSink], Awaitable[str | None]]
"""Runs the PreCompact hooks (reporting failed ones); returns why they blocked the compaction, or None."""
FileCheck = Callable[[Sequence[str]], Awaitable[dict[str, bool | None]]]
"""For each path: has the file changed since the agent last saw it (None: unknown)."""
RequestFor = Callable[[Sequence[Message], tuple[tuple[int, int], ...]], ModelRequest]
"""The session's request for these messages with these cache points (system, tools, settings)."""
BudgetCheck = Callable[[TokenUsage], Overrun | None]
Purpose = Literal["turn", "compaction"]


@dataclass(frozen=True)
class Outcome:
    compacted: bool
    tokens_before: int
    tokens_after: int
    message: str


@dataclass
class ContextDeps:
    """What the manager needs from its session."""

    model: Model
    journal: Journal
    spending: Spending
    request_for: RequestFor
    fixed_tokens: Callable[[], int]
    """Tokens of the system prompt and tool definitions (they change when a deny rule hides a tool)."""
    root: Path
    transcript: str
    todos: Callable[[], Sequence[TodoItem]]
    file_check: FileCheck
    pre_compact: PreCompact


class ContextManager:
    def __init__(self, settings: ContextConfig, meter: ContextMeter, deps: ContextDeps) -> None:
        self.settings = settings
        self.meter = meter
        self.tokens = MessageTokens()
        self._keys = CallKeys(deps.root)
        self._clearable = PerMessage(_clearable_in)
        """What micro-compaction could free in each message (an upper bound, to skip the analysis)."""
        self.base: Base | None = None
        self.cleared: set[str] = set()
        self._deps = deps
        self._sent_length = 0
        """Messages in the last request sent: its last one carries the previous breakpoint."""
        self._recoveries = 0
        self._hard_next = False
        self._last_usage = TokenUsage()
        self._declined = ""
        """Why the last summary did not happen."""
        self._boundary: int | None = None
        """The last message before the oldest tool result micro-compaction kept whole: the next
        batch changes nothing before it, so the prefix ending there is written now and read then."""
        self._previous_boundary: int | None = None

    # --- What the loop asks ------------------------------------------------------------------

    def fill(self, history: Sequence[Message]) -> int:
        return self.meter.fill(history, self._deps.fixed_tokens(), self.tokens)

    def cache_points(self, history: Sequence[Message]) -> tuple[tuple[int, int], ...]:
        """Breakpoints: the compacted head's last stable block; the previous request's last
        message (its prefix is cached, and the API looks back only 20 blocks); after a
        micro-compaction, the boundaries before and after it (read now, written for the next
        batch); the last message. `request_params` keeps at most four, the last one first."""
        points: list[tuple[int, int]] = []
        if self.base is not None and history:
            points.append((0, self.base.stable_blocks - 1))
        if self._sent_length == 0:
            for boundary in (self._previous_boundary, self._boundary):
                if boundary is not None and 0 <= boundary < len(history) - 1:
                    points.append((boundary, -1))
        elif self._sent_length < len(history):
            points.append((self._sent_length - 1, -1))
        points.append((-1, -1))
        return tuple(points)

    def request(self, history: Sequence[Message]) -> ModelRequest:
        """The session's next request for `history`, with this context's cache breakpoints."""
        return self._deps.request_for(history, self.cache_points(history))

    @property
    def recoveries(self) -> int:
        """Overflow recoveries in a row so far."""
        return self._recoveries

    def projected(self, history: Sequence[Message], reply_tokens: int | None = None) -> TokenUsage:
        """The usage the next request is expected to have (for budgets)."""
        total = self.fill(history)
        # What the last request left in the cache: the API said so. A provider (or a cache) that
        # did not cache is not assumed to cache the next time.
        cached = self._last_usage.cache_read_input_tokens + self._last_usage.cache_creation_input_tokens
        return self._deps.spending.project(total, cached if self._sent_length else 0, reply_tokens)

    def sending(self, history: Sequence[Message]) -> None:
        self.meter.sending(history, self._deps.fixed_tokens(), self.tokens)
        self._sent_length = len(history)

    def answered(self, usage: TokenUsage, context_length: int) -> None:
        """A response came back (whatever it said): calibrate, and the overflow streak is over."""
        self.meter.measured(usage, context_length)
        self._last_usage = usage
        self._recoveries = 0

    def account(
        self, usage: TokenUsage, history: Sequence[Message], emit: EventSink, *, purpose: Purpose = "turn"
    ) -> float | None:
        """Add a request's usage to the session's spending, record it and report it."""
        spending = self._deps.spending
        cost = spending.account(usage)
        self._deps.journal.write(
            UsageRecord(
                request=usage,
                session=spending.usage,
                session_cost_usd=spending.session_cost,
                calibration=round(self.meter.ratio, 4),
            )
        )
        emit(
            UsageUpdated(
                request=usage,
                session=spending.usage,
                request_cost_usd=cost,
                session_cost_usd=spending.session_cost,
                context_tokens=self._reported_fill(usage, history, purpose),
                context_window=self.meter.window,
                purpose=purpose,
            )
        )
        return cost

    def _reported_fill(self, usage: TokenUsage, history: Sequence[Message], purpose: Purpose) -> int:
        # A turn's response: what the API counted is exact (the reply is not in `history` yet).
        measured = self.meter.reported(usage) if purpose == "turn" else None
        return measured if measured is not None else self.fill(history)

    def restore(
        self,
        base: Base | None,
        cleared: set[str],
        history: Sequence[Message],
        learned_window: int | None,
        calibration: float | None = None,
    ) -> None:
        """A resumed session's context shape, as its transcript's records left it. A window the API
        stated is kept unless this run was given one."""
        self.base, self.cleared = base, set(cleared)
        if calibration is not None:
            self.meter.calibrate(calibration)
        if learned_window is not None and self.meter.source != "setting":
            self.meter.learn(learned_window)
        self.meter.rewritten()
        self.tokens.forget_all_but(history)

    # --- Before every request ----------------------------------------------------------------

    async def prepare(self, history: list[Message], emit: EventSink, budget: BudgetCheck) -> None:
        """Run the tiers that the fill level calls for."""
        if self._hard_next:
            self._hard_next = False
            await self._compact_hard(history, emit, budget, attempt=1)
            return
        window = self.meter.window
        settings = self.settings
        if settings.micro_compact:
            trigger = min(window * settings.micro_compact_percent // 100, MICRO_TRIGGER_CAP)
            policy = MicroPolicy(
                trigger=trigger,
                min_reclaim=int(trigger * MICRO_BATCH),
                keep_recent=settings.keep_tool_results,
            )
            self._micro(history, policy, "auto", emit)
        crowded = len(history) > MAX_MESSAGES
        if settings.snip and (crowded or self.fill(history) >= window * settings.snip_percent // 100):
            target = int(window * settings.snip_percent / 100 * SNIP_TARGET)
            crowd = MAX_MESSAGES // 2 if crowded else None
            await self._snip(history, target, "auto", emit, budget, max_messages=crowd)
        full = self.fill(history) >= window * settings.auto_compact_percent // 100
        if settings.auto_compact and full and not await self._summarize(history, "auto", None, emit, budget):
            await self._snip(history, int(window * SUMMARY_TAIL), "auto", emit, budget)

    async def recover(
        self, history: list[Message], message: str, emit: EventSink, budget: BudgetCheck
    ) -> bool:
        """The API said the request was too long. Learn the window it stated, compact harder, and
        say whether the request may be sent again (False after `MAX_RECOVERIES` in a row, or when
        nothing could be cut)."""
        numbers = overflow_numbers(message)
        if numbers is not None and self.meter.learn(numbers[1]):
            self._deps.journal.write(WindowRecord(window=numbers[1]), sync=True)
            emit(
                Notice(
                    message=f"The model's context window is {numbers[1]:,} tokens (the API said so); "
                    "agentls uses that from now on."
                )
            )
        if self._recoveries >= MAX_RECOVERIES:
            return False
        self._recoveries += 1
        return await self._compact_hard(history, emit, budget, attempt=self._recoveries)

    def overflowed_in_reply(self) -> None:
        """The model stopped because the context was full while it answered: compact hard next."""
        self._hard_next = True

    async def compact(
        self, history: list[Message], instructions: str | None, emit: EventSink, budget: BudgetCheck
    ) -> Outcome:
        """A compaction the user asked for: summarise all but the last exchange."""
        before = self.fill(history)
        if self._summarizable(history, tail_budget=0) is None:
            return Outcome(False, before, before, "nothing to compact yet")
        done = await self._summarize(history, "manual", instructions, emit, budget, tail_budget=0)
        after = self.fill(history)
        if not done:
            return Outcome(False, before, after, self._declined)
        return Outcome(True, before, after, f"compacted {before:,} → {after:,} tokens")

    # --- The tiers ---------------------------------------------------------------------------

    def _micro(
        self, history: list[Message], policy: MicroPolicy, trigger: CompactionTrigger, emit: EventSink
    ) -> bool:
        before = self.fill(history)
        clearable = sum(self._clearable.of(m) for m in history[:-1])  # Never the unseen last one.
        if before < policy.trigger or clearable < policy.min_reclaim:
            return False
        edit = microcompact(
            history,
            paired_calls(history),
            cleared=self.cleared,
            fill=before,
            policy=policy,
            root=self._deps.root,
            tokens=block_tokens,
            keys=self._keys,
        )
        if edit is None:
            return False
        history[:] = apply_markers(history, edit.markers)
        self.cleared |= edit.markers.keys()
        self._previous_boundary, self._boundary = self._boundary, _boundary(history, self.cleared)
        parts = [f"{edit.old} old" if edit.old else "", f"{edit.stale} stale" if edit.stale else ""]
        what = " and ".join(p for p in parts if p)
        self._changed(
            history,
            emit,
            tier="micro",
            trigger=trigger,
            before=before,
            message=f"cleared {what} tool result(s)",
            record={"markers": edit.markers},
        )
        return True

    async def _snip(
        self,
        history: list[Message],
        target: int,
        trigger: CompactionTrigger,
        emit: EventSink,
        budget: BudgetCheck,
        max_messages: int | None = None,
    ) -> bool:
        before = self.fill(history)
        head = self.tokens.of(history[0]) if self.base is not None and history else 0
        room = max(0, target - self._deps.fixed_tokens() - head - SUMMARY_GROWTH // 3)
        cut = choose_cut(
            history,
            has_head=self.base is not None,
            budget=room,
            tokens=self.tokens.of,
            max_messages=max_messages,
        )
        if cut is None:
            return False
        removed = cut.removed(history)
        stage = stage_for("snip", snip_note(removed, self._deps.root), removed)
        if not await self._replace_head(
            history, cut.keep_from, stage, emit, tier="snip", trigger=trigger, before=before
        ):
            return False
        await self._collapse(history, trigger, emit, budget)
        return True

    async def _summarize(
        self,
        history: list[Message],
        trigger: CompactionTrigger,
        instructions: str | None,
        emit: EventSink,
        budget: BudgetCheck,
        tail_budget: int | None = None,
    ) -> bool:
        """Tier 3. False (with a notice) when it did not happen: the caller falls back to snip."""
        keep_from = self._summarizable(history, tail_budget)
        if keep_from is None:
            return False
        hook_trigger: CompactionTrigger = "manual" if trigger == "manual" else "auto"
        blocked = await self._deps.pre_compact(hook_trigger, instructions, emit)
        if blocked is not None:
            return self._decline(emit, f"a PreCompact hook blocked the compaction: {blocked}")
        before = self.fill(history)
        sent = self._fitting(history)
        request = summary_request(self._deps.request_for(sent, self._read_only_points(sent)), instructions)
        overrun = budget(self.projected(sent, reply_tokens=2_000))
        if overrun is not None:
            return self._decline(emit, f"no summary: {overrun.message}")
        reply = await self._ask(request, "summary", trigger, before, history, emit)
        if reply.error is not None:
            return self._decline(emit, f"the compaction by summary failed: {reply.error}")
        # The history did not change while the model wrote: the cut is still where it was.
        removed = history[(1 if self.base is not None else 0) : keep_from]
        stage = stage_for("summary", reply.text, removed)
        if not await self._replace_head(
            history,
            keep_from,
            stage,
            emit,
            tier="summary",
            trigger=trigger,
            before=before,
            summary=reply.text,
        ):
            return self._decline(emit, "the summary would not make the context smaller")
        await self._collapse(history, trigger, emit, budget)
        return True

    def _decline(self, emit: EventSink, reason: str) -> bool:
        """A summary that did not happen: say why (an automatic one is replaced by a snip)."""
        self._declined = reason
        emit(Notice(level="warning", message=f"Not compacted by summary: {reason}."))
        return False

    async def _collapse(
        self, history: list[Message], trigger: CompactionTrigger, emit: EventSink, budget: BudgetCheck
    ) -> None:
        base = self.base
        if base is None:
            return
        plan = collapse_tier.plan_collapse(
            base,
            budget=int(self.meter.window * COLLAPSE_SHARE),
            max_stages=MAX_STAGES,
            tokens=text_tokens,
        )
        if plan is None:
            return
        before = self.fill(history)
        stages = base.stages[: plan.count]
        limit_chars = int(self.meter.window * COLLAPSE_SHARE * 3.5 / 2)
        text, by_model = collapse_tier.mechanical_text(stages, limit_chars), False
        if any(s.kind == "summary" for s in stages):
            request = merge_request(self._deps.request_for(history[:0], ()), stages)
            fixed = self._deps.fixed_tokens()
            size = fixed + sum(text_tokens(s.text) for s in stages)
            if budget(self._deps.spending.project(size, fixed, 2_000)) is None:
                reply = await self._ask(request, "collapse", trigger, before, history, emit)
                if reply.error is None:
                    text, by_model = reply.text, True
        merged = collapse_tier.merged_stage(stages, text, by_model=by_model)
        self.base = collapse_tier.collapsed(base, plan, merged)
        history[0] = render(self.base)
        self._previous_boundary = self._boundary = None  # Both prefixes held the old head.
        kept = len(history) - 1
        how = "by the model" if by_model else "mechanically"
        self._changed(
            history,
            emit,
            tier="collapse",
            trigger=trigger,
            before=before,
            message=f"merged {plan.count} earlier summaries into one ({how})",
            record={"base": self.base, "kept": kept},
            summary=text if by_model else None,
        )

    async def _ask(
        self,
        request: ModelRequest,
        tier: CompactionTier,
        trigger: CompactionTrigger,
        before: int,
        history: Sequence[Message],
        emit: EventSink,
    ) -> SummaryReply:
        """Send a compaction request (saying so first) and account what it cost."""
        emit(CompactionStarted(tier=tier, trigger=trigger, tokens=before, context_window=self.meter.window))
        reply = await ask_for_summary(self._deps.model, request)
        if reply.usage != TokenUsage():
            self.account(reply.usage, history, emit, purpose="compaction")
        return reply

    async def _compact_hard(
        self, history: list[Message], emit: EventSink, budget: BudgetCheck, *, attempt: int
    ) -> bool:
        """Overflow recovery, harder with each attempt: clear every old result, cut to half the
        window, then summarise with a short tail, then keep only the last exchange."""
        window = self.meter.window
        changed = self._micro(history, MicroPolicy(trigger=0, min_reclaim=1, keep_recent=1), "reactive", emit)
        if self.fill(history) >= window // 2:
            changed |= await self._snip(history, window // 2, "reactive", emit, budget)
        if attempt >= 2 or self.fill(history) >= window * 85 // 100:
            summarized = await self._summarize(
                history, "reactive", None, emit, budget, tail_budget=window // 10
            )
            changed |= summarized
            if not summarized or attempt >= 3:
                changed |= await self._snip(history, 0, "reactive", emit, budget)
        return changed

    # --- Shared steps ------------------------------------------------------------------------

    def _summarizable(self, history: Sequence[Message], tail_budget: int | None = None) -> int | None:
        """Where a summary would cut (the first kept message), or None if nothing can be cut."""
        tail = int(self.meter.window * SUMMARY_TAIL) if tail_budget is None else tail_budget
        cut = choose_cut(history, has_head=self.base is not None, budget=tail, tokens=self.tokens.of)
        return None if cut is None else cut.keep_from

    def _fitting(self, history: list[Message]) -> list[Message]:
        """The messages a summary request can carry: all of them, or, when they would not fit the
        window (an overflow), a copy with every old tool result cleared."""
        if self.fill(history) < self.meter.window * 9 // 10:
            return history
        markers = {
            c.id: "[Cleared by agentls: too long to resend for the summary.]"
            for c in paired_calls(history)
            if c.id not in self.cleared and c.message_index != len(history) - 1
        }
        return apply_markers(history, markers)

    def _read_only_points(self, sent: Sequence[Message]) -> tuple[tuple[int, int], ...]:
        """Breakpoints for a summary request: read what is cached, write nothing new (its new part
        is never sent again)."""
        points = [p for p in self.cache_points(sent) if p != (-1, -1)]
        return tuple(points)

    async def _replace_head(
        self,
        history: list[Message],
        keep_from: int,
        stage: Stage,
        emit: EventSink,
        *,
        tier: CompactionTier,
        trigger: CompactionTrigger,
        before: int,
        summary: str | None = None,
    ) -> bool:
        """Put a head with `stage` in place of `history[start:keep_from]`; False (and nothing
        changed) when that would not make the context smaller, as for a short conversation whose
        removed part is smaller than the head's own explanations."""
        start = 1 if self.base is not None else 0
        removed = history[start:keep_from]
        files = merged_files(self.base, touched_files(removed, self._deps.root))
        changed = await self._deps.file_check(list(files))
        base = Base(
            transcript=self._deps.transcript,
            stages=(*(self.base.stages if self.base else ()), stage),
            todos=tuple(t.checkbox_line() for t in self._deps.todos()),
            files=file_notes(files, changed),
        )
        head = render(base)
        if self.tokens.of(head) >= self.tokens.total(history[:keep_from]):
            return False
        self.base = base
        history[:] = [head, *history[keep_from:]]
        self._previous_boundary = self._boundary = None  # Indices moved; the head's breakpoint serves.
        self.cleared &= {b.tool_use_id for m in history for b in m.content if isinstance(b, ToolResultBlock)}
        self._changed(
            history,
            emit,
            tier=tier,
            trigger=trigger,
            before=before,
            message=f"replaced {stage.messages} earlier message(s) ({stage.tool_calls} tool calls) with "
            + ("a summary" if tier == "summary" else "a list of what they did"),
            record={
                "base": base,
                "kept": len(history) - 1,
                "removed_messages": stage.messages,
                "removed_tool_calls": stage.tool_calls,
            },
            summary=summary,
        )
        return True

    def _changed(
        self,
        history: list[Message],
        emit: EventSink,
        *,
        tier: CompactionTier,
        trigger: CompactionTrigger,
        before: int,
        message: str,
        record: dict[str, object],
        summary: str | None = None,
    ) -> None:
        self.meter.rewritten()
        self._sent_length = 0
        self.tokens.forget_all_but(history)
        self._clearable.forget_all_but(history)
        self._keys.forget_all_but({b.id for m in history for b in m.tool_uses()})
        after = self.fill(history)
        window = self.meter.window
        self._deps.journal.write(
            CompactionRecord(
                tier=tier,
                trigger=trigger,
                tokens_before=before,
                tokens_after=after,
                window=window,
                summary=summary,
                at=datetime.now(UTC).isoformat(timespec="seconds"),
                **record,
            ),
            sync=True,
        )
        emit(
            Compacted(
                tier=tier,
                trigger=trigger,
                tokens_before=before,
                tokens_after=after,
                context_window=window,
                message=f"{message}: {before:,} → {after:,} tokens of {window:,}",
                summary=summary,
            )
        )


def _clearable_in(message: Message) -> int:
    return sum(clearable_tokens(b) for b in message.content if isinstance(b, ToolResultBlock))


def _boundary(history: Sequence[Message], cleared: set[str]) -> int | None:
    """The message before the first one holding a tool result a later batch could clear."""
    for index, message in enumerate(history):
        if message.role == "user" and any(
            isinstance(b, ToolResultBlock) and b.tool_use_id not in cleared and clearable_tokens(b)
            for b in message.content
        ):
            return index - 1 if index > 0 else None
    return None

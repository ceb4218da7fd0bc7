"""The tiers as pure functions: snip's cut, the compacted head, collapse, summaries; and a property
that every tier, on any conversation, keeps it valid, keeps the user's words and is idempotent."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentls.core.context.base import Base, FileNote, Stage, render
from agentls.core.context.collapse import collapsed, mechanical_text, merged_stage, plan_collapse
from agentls.core.context.cut import choose_cut, snip_note, stage_for, touched_files, user_words
from agentls.core.context.microcompact import MicroPolicy, apply_markers, microcompact
from agentls.core.context.summary import extract_summary
from agentls.core.context.tokens import block_tokens, message_tokens, text_tokens
from agentls.core.context.tool_calls import paired_calls
from agentls.core.messages import Message, TextBlock
from tests.core.context.conversations import ROOT, Builder, assert_valid, user_texts


def snipped(messages: list[Message], base: Base | None, budget: int) -> tuple[list[Message], Base | None]:
    """What the manager does for a snip: cut, a stage for the removed part, a new head."""
    cut = choose_cut(messages, has_head=base is not None, budget=budget, tokens=message_tokens)
    if cut is None:
        return messages, base
    removed = cut.removed(messages)
    stage = stage_for("snip", snip_note(removed, ROOT), removed)
    new = Base(transcript="/t.jsonl", stages=(*(base.stages if base else ()), stage))
    return [render(new), *messages[cut.keep_from :]], new


def test_snip_keeps_the_first_and_every_typed_message_verbatim_and_the_recent_turns() -> None:
    b = Builder().user("First: fix the parser.\n  Keep  spacing.").read("a.py").read("b.py")
    b.user("Also the lexer.").read("c.py").read("d.py").read("e.py")
    out, base = snipped(b.messages, None, budget=message_tokens(b.messages[-1]) + 10)
    assert base is not None and len(base.stages) == 1
    assert base.stages[0].user_messages == ("First: fix the parser.\n  Keep  spacing.", "Also the lexer.")
    assert out[-2:] == b.messages[-2:]  # The last exchange, unchanged.
    assert_valid(out)
    words = user_texts(out)
    assert any("First: fix the parser.\n  Keep  spacing." in w for w in words)
    note = base.stages[0].text
    assert "Read ×4" in note and "a.py" in note


def test_a_cut_never_separates_a_call_from_its_result_and_the_tail_starts_with_the_assistant() -> None:
    b = Builder().user("go")
    for n in range(5):
        b.calls_at_once([("Read", {"file_path": f"/ws/{n}-{k}.py"}, "z" * 500, False) for k in range(3)])
    for budget in range(0, 5000, 250):
        cut = choose_cut(b.messages, has_head=False, budget=budget, tokens=message_tokens)
        if cut is None:  # Everything fits.
            assert sum(message_tokens(m) for m in b.messages) <= budget
            continue
        assert b.messages[cut.keep_from].role == "assistant"
        out, _ = snipped(b.messages, None, budget)
        assert_valid(out)


def test_nothing_to_cut_in_a_conversation_of_one_exchange() -> None:
    b = Builder().user("hi").read("a.py")
    assert choose_cut(b.messages, has_head=False, budget=0, tokens=message_tokens) is None


def test_a_second_snip_appends_a_stage_and_keeps_the_heads_leading_blocks() -> None:
    b = Builder().user("one").read("a.py").read("b.py").read("c.py")
    first, base1 = snipped(b.messages, None, budget=0)
    more = Builder(messages=list(first), calls=b.calls).user("two").read("d.py").read("e.py").read("f.py")
    second, base2 = snipped(more.messages, base1, budget=0)
    assert base1 is not None and base2 is not None
    assert base2.stages[0] == base1.stages[0] and len(base2.stages) == 2
    head1, head2 = first[0].content, second[0].content
    assert head2[: base1.stable_blocks] == head1[: base1.stable_blocks]  # Cached prefix survives.
    assert base2.stages[1].user_messages == ("two",)
    assert_valid(second)


def test_the_head_says_how_to_get_details_back_and_lists_todos_and_files() -> None:
    base = Base(
        transcript="/home/u/.local/state/agentls/sessions/s.jsonl",
        stages=(Stage(kind="summary", text="Fixed the parser.", user_messages=("fix it",), messages=9),),
        todos=("[x] read the code", "[ ] run the tests"),
        files=(
            FileNote(path="/ws/a.py", edited=True, changed_since=False),
            FileNote(path="/ws/b.py", edited=False, changed_since=None),
        ),
    )
    text = render(base).text()
    assert "s.jsonl" in text and "read the files again" in text
    assert "<user_message>\nfix it\n</user_message>" in text and "Fixed the parser." in text
    assert "[ ] run the tests" in text
    assert (
        "/ws/a.py (edited; unchanged since)" in text
        and "/ws/b.py (read; whether it changed since is unknown)" in text
    )


def test_touched_files_counts_only_calls_that_worked() -> None:
    b = Builder().user("x").read("a.py").edit("a.py").read("b.py", error=True)
    assert touched_files(b.messages, ROOT) == {"/ws/a.py": True}


def test_collapse_merges_all_but_the_newest_stage_and_keeps_every_user_message() -> None:
    stages = tuple(
        Stage(
            kind="summary",
            text=f"summary {n} " + "w" * 400,
            user_messages=(f"msg {n}",),
            messages=10,
            tool_calls=4,
        )
        for n in range(5)
    )
    base = Base(transcript="", stages=stages)
    assert plan_collapse(base, budget=10**6, max_stages=8, tokens=text_tokens) is None
    plan = plan_collapse(base, budget=200, max_stages=8, tokens=text_tokens)
    assert plan is not None and plan.count == 4
    merged = merged_stage(stages[:4], mechanical_text(stages[:4], 600), by_model=False)
    out = collapsed(base, plan, merged)
    assert [s.user_messages for s in out.stages] == [("msg 0", "msg 1", "msg 2", "msg 3"), ("msg 4",)]
    assert out.stages[0].messages == 40 and out.stages[0].tool_calls == 16
    assert out.stages[1] == stages[4]
    assert len(out.stages[0].text) < sum(len(s.text) for s in stages[:4])
    assert plan_collapse(base, budget=10**6, max_stages=3, tokens=text_tokens) is not None


def test_a_summary_is_taken_from_its_tags_or_the_whole_text() -> None:
    tagged = Message(
        role="assistant", content=(TextBlock(text="Sure.\n<summary>\nThe work.\n</summary>\nBye"),)
    )
    assert extract_summary(tagged) == "The work."
    plain = Message(role="assistant", content=(TextBlock(text="  Just text.  "),))
    assert extract_summary(plain) == "Just text."
    unclosed = Message(role="assistant", content=(TextBlock(text="<summary>cut off here"),))
    assert extract_summary(unclosed) == "cut off here"


# --- A property over random conversations -----------------------------------------------------

actions = st.lists(
    st.one_of(
        st.tuples(st.just("read"), st.integers(0, 4), st.integers(100, 3000)),
        st.tuples(st.just("edit"), st.integers(0, 4), st.just(0)),
        st.tuples(st.just("bash"), st.integers(0, 2), st.integers(1, 400)),
        st.tuples(st.just("grep"), st.integers(0, 2), st.integers(1, 200)),
        st.tuples(st.just("user"), st.integers(0, 1000), st.just(0)),
        st.tuples(st.just("answer"), st.integers(0, 10), st.just(0)),
    ),
    min_size=1,
    max_size=40,
)


def build(plan: list[tuple[str, int, int]]) -> Builder:
    b = Builder().user("the first prompt")
    for kind, n, size in plan:
        last = b.messages[-1].role
        if last == "assistant" and kind not in ("user", "answer"):
            b.user(f"continue {n}")
        if kind == "read":
            b.read(f"f{n}.py", size)
        elif kind == "edit":
            b.edit(f"f{n}.py")
        elif kind == "bash":
            b.bash(f"cmd {n}", "line\n" * size)
        elif kind == "grep":
            b.grep(f"p{n}", "hit\n" * size)
        elif kind == "user":
            b.user(f"typed message {n}")
        elif last == "user":
            b.answer(f"answer {n}")
    if b.messages[-1].role == "assistant":
        b.user("and now?")
    return b


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=actions, keep=st.integers(0, 4), budget=st.integers(0, 6000))
def test_every_tier_keeps_the_conversation_valid_and_the_users_words_and_is_idempotent(
    plan: list[tuple[str, int, int]], keep: int, budget: int
) -> None:
    b = build(plan)
    messages = b.messages
    typed = [w for w in user_texts(messages)]
    assert_valid(messages)

    policy = MicroPolicy(trigger=0, min_reclaim=1, keep_recent=keep)
    edit = microcompact(
        messages, paired_calls(messages), cleared=set(), fill=1, policy=policy, root=ROOT, tokens=block_tokens
    )
    micro = apply_markers(messages, edit.markers) if edit else list(messages)
    assert_valid(micro)
    assert user_texts(micro) == typed
    assert micro[-1] == messages[-1]  # The unseen last message is never touched.
    again = microcompact(
        micro,
        paired_calls(micro),
        cleared=set(edit.markers) if edit else set(),
        fill=1,
        policy=policy,
        root=ROOT,
        tokens=block_tokens,
    )
    assert again is None

    cut_out, base = snipped(micro, None, budget)
    assert_valid(cut_out)
    kept = (base.user_messages() if base else []) + [w for w in user_texts(cut_out[1:] if base else cut_out)]
    assert kept == typed or (base is None and user_texts(cut_out) == typed)
    if base is not None:
        again_out, again_base = snipped(cut_out, base, budget=10**9)
        assert again_out == cut_out and again_base == base  # Within budget: nothing more goes.
    assert [w for w in user_words(messages)] == typed

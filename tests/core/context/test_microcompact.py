"""Micro-compaction: stale and old tool results become markers; pairs and the user's words stay."""

from __future__ import annotations

from agentls.core.context.microcompact import MARKER_PREFIX, MicroPolicy, apply_markers, microcompact
from agentls.core.context.tokens import block_tokens
from agentls.core.context.tool_calls import paired_calls
from agentls.core.messages import Message, ToolResultBlock
from tests.core.context.conversations import ROOT, Builder, assert_valid, user_texts

EAGER = MicroPolicy(trigger=0, min_reclaim=1, keep_recent=2)


def run(
    messages: list[Message], policy: MicroPolicy = EAGER, cleared: frozenset[str] = frozenset()
) -> list[Message]:
    edit = microcompact(
        messages,
        paired_calls(messages),
        cleared=cleared,
        fill=10**9 if policy.trigger else 0,
        policy=policy,
        root=ROOT,
        tokens=block_tokens,
    )
    return apply_markers(messages, edit.markers) if edit else list(messages)


def results(messages: list[Message]) -> dict[str, str]:
    return {b.tool_use_id: b.content for m in messages for b in m.content if isinstance(b, ToolResultBlock)}


def test_a_read_of_a_file_edited_later_is_stale_even_when_recent() -> None:
    b = Builder().user("fix a.py").read("a.py").edit("a.py").bash("pytest", "1 passed")
    out = run(b.messages, MicroPolicy(trigger=0, min_reclaim=1, keep_recent=10))
    first = results(out)["toolu_0001"]
    assert first.startswith(MARKER_PREFIX)
    assert "a.py" in first and "changed later" in first and "Read it again" in first
    assert results(out)["toolu_0002"] == results(b.messages)["toolu_0002"]  # The Edit's own result.
    assert_valid(out)


def test_a_read_again_a_repeated_search_and_a_rerun_command_leave_only_the_latest() -> None:
    b = (
        Builder()
        .user("look around")
        .read("a.py")
        .grep("needle")
        .bash("make test", "FAILED\n" * 100)
        .read("a.py")
        .grep("needle")
        .bash("make test", "passed\n" * 100)
        .answer("done")
    )
    out = results(run(b.messages, MicroPolicy(trigger=0, min_reclaim=1, keep_recent=10)))
    assert "read again later" in out["toolu_0001"]
    assert "ran again later" in out["toolu_0002"] and "ran again later" in out["toolu_0003"]
    for later in ("toolu_0004", "toolu_0005", "toolu_0006"):
        assert not out[later].startswith(MARKER_PREFIX)


def test_a_partial_read_does_not_make_a_whole_read_stale() -> None:
    b = Builder().user("x").read("a.py")
    b.call("Read", {"file_path": str(ROOT / "a.py"), "offset": 10, "limit": 5}, "short " * 100)
    out = results(run(b.messages, MicroPolicy(trigger=0, min_reclaim=1, keep_recent=10)))
    assert not out["toolu_0001"].startswith(MARKER_PREFIX)


def test_past_the_threshold_old_results_go_but_the_recent_and_the_unseen_stay() -> None:
    b = Builder().user("read everything")
    for n in range(6):
        b.read(f"f{n}.py")
    b.calls_at_once([("Read", {"file_path": str(ROOT / f"new{n}.py")}, "y" * 3000, False) for n in range(3)])
    out = results(run(b.messages, MicroPolicy(trigger=100, min_reclaim=1, keep_recent=2)))
    cleared = [k for k, v in out.items() if v.startswith(MARKER_PREFIX)]
    assert cleared == ["toolu_0001", "toolu_0002", "toolu_0003", "toolu_0004"]
    # The last exchange has not been seen by the model yet: all three stay whole.
    assert all(not out[f"toolu_{n:04d}"].startswith(MARKER_PREFIX) for n in (7, 8, 9))
    marker = out["toolu_0001"]
    assert "f0.py" in marker and "lines" in marker and "Read the file again" in marker


def test_below_the_threshold_or_the_batch_size_nothing_changes() -> None:
    b = Builder().user("x").read("a.py").read("b.py").read("c.py").read("d.py")
    calls = paired_calls(b.messages)
    common = {"cleared": frozenset[str](), "root": ROOT, "tokens": block_tokens}
    assert microcompact(b.messages, calls, fill=999, policy=MicroPolicy(1000, 1), **common) is None  # type: ignore[arg-type]
    huge = MicroPolicy(trigger=0, min_reclaim=10**6, keep_recent=1)
    assert microcompact(b.messages, calls, fill=10**6, policy=huge, **common) is None  # type: ignore[arg-type]


def test_small_results_are_left_alone() -> None:
    b = Builder().user("x").bash("true", "ok").bash("true", "ok").read("a.py")
    assert results(run(b.messages)) == results(b.messages)


def test_markers_keep_ids_pairs_and_the_users_words() -> None:
    b = Builder().user("first words").read("a.py").user("more words").read("b.py").read("c.py").read("d.py")
    out = run(b.messages, MicroPolicy(trigger=1, min_reclaim=1, keep_recent=0))
    assert_valid(out)
    assert user_texts(out) == ["first words", "more words"]
    assert [len(m.content) for m in out] == [len(m.content) for m in b.messages]
    assert sum(1 for v in results(out).values() if v.startswith(MARKER_PREFIX)) == 3


def test_a_second_run_on_its_own_output_changes_nothing() -> None:
    b = Builder().user("x")
    for n in range(8):
        b.read(f"f{n % 3}.py").bash("make", "out\n" * 300)
    policy = MicroPolicy(trigger=1, min_reclaim=1, keep_recent=2)
    once = run(b.messages, policy)
    cleared = frozenset(k for k, v in results(once).items() if v.startswith(MARKER_PREFIX))
    twice = run(once, policy, cleared)
    assert twice == once
    # Even without knowing what was cleared, markers are too small to clear again.
    assert run(once, policy) == once

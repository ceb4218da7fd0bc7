"""`agentls run` and `agentls compact` against the fake Messages API with prompt caching and a
context window: long runs compact and finish, a kill right after a compaction resumes from the
compacted context, budgets stop before the request that would cross them, costs are reported."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from agentls.core.anthropic_model import DEFAULT_MODEL
from agentls.core.context.catalog import model_info
from agentls.core.context.summary import SUMMARY_INSTRUCTIONS
from agentls.core.model import TokenUsage
from agentls.core.scripted import Reply, Text, ToolCall
from tests.e2e.helpers import live_cli, parse_events, run_cli
from tests.fakeapi import Delay, FakeMessagesAPI
from tests.fakeapi.tokens import count_request_tokens

pytestmark = pytest.mark.slow

PHRASE = "cobalt-heron-1187"
SUMMARY_MARK = SUMMARY_INSTRUCTIONS.splitlines()[0]
PRICES = model_info(DEFAULT_MODEL).prices
RUN_JSON = ("run", "--output-format", "stream-json", "--permission-mode", "bypassPermissions")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "agentls-home"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for n in range(8):
        body = "".join(f"setting_{n}_{i} = {i * 31 % 97}  # a line of module {n}\n" for i in range(160))
        (root / f"m{n}.py").write_text(body)
    return root


def _text(body: dict[str, Any], index: int) -> str:
    content = body["messages"][index]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


def reader(project: Path, calls: int, *, answer: str = "Done.") -> Any:
    """One Read per response, cycling over the project's files, then `answer`; summaries on request."""
    state = {"issued": 0}

    def step(body: dict[str, Any]) -> Reply:
        if SUMMARY_MARK in _text(body, -1):
            return Reply(
                [Text("<summary>Read the m*.py modules in turn; all hold plain settings.</summary>")]
            )
        if state["issued"] >= calls:
            return Reply([Text(answer)])
        n = state["issued"]
        state["issued"] += 1
        return Reply([ToolCall("Read", {"file_path": str(project / f"m{n % 8}.py")})])

    return step


def cost(usages: list[dict[str, Any]]) -> float:
    assert PRICES is not None
    total = TokenUsage()
    for u in usages:
        total = total + TokenUsage(
            input_tokens=u["input_tokens"],
            output_tokens=u["output_tokens"],
            cache_read_input_tokens=u["cache_read_input_tokens"],
            cache_creation_input_tokens=u["cache_creation_input_tokens"],
        )
    return PRICES.cost(total)


def test_a_long_run_compacts_stays_in_the_window_and_reports_its_cost(project: Path, home: Path) -> None:
    window = 24_000
    with FakeMessagesAPI([reader(project, 40)] * 200, context_window=window) as fake:
        result = run_cli(
            [
                *RUN_JSON,
                "--context-window",
                str(window),
                f"Read the modules in turn. Keep {PHRASE} in mind.",
            ],
            home=home,
            base_url=fake.base_url,
            cwd=project,
            timeout=120,
        )
        bodies, rejections, usages = list(fake.requests), list(fake.rejections), list(fake.usages)
    assert result.returncode == 0, result.stderr
    events = parse_events(result.stdout)
    assert not rejections  # The window was known: no request was too long.
    assert all(count_request_tokens(b) <= window for b in bodies)
    assert PHRASE in json.dumps(bodies[-1])
    assert sum(1 for e in events if e["kind"] == "tool_call_finished") == 40
    assert any(e["kind"] == "compaction" for e in events)
    end = events[-1]
    assert end["kind"] == "turn_ended" and end["stop"]["kind"] == "end_turn"
    assert end["context_window"] == window and 0 < end["context_tokens"] < window
    assert end["cost_usd"] == pytest.approx(cost(usages), rel=1e-6)
    assert end["usage"]["cache_read_input_tokens"] > 0
    usage_events = [e for e in events if e["kind"] == "usage"]
    assert usage_events and all(e["request_cost_usd"] is not None for e in usage_events)
    assert usage_events[-1]["session_cost_usd"] == pytest.approx(end["session_cost_usd"])


def test_the_text_output_ends_with_tokens_cache_share_cost_and_context(project: Path, home: Path) -> None:
    with FakeMessagesAPI([reader(project, 3)] * 10) as fake:
        result = run_cli(
            ["run", "--permission-mode", "bypassPermissions", "read three"],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
    assert result.returncode == 0, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "4 request(s)" in last and "from cache" in last and "$" in last and "context" in last, last


def test_kill_9_right_after_a_compaction_then_resume_continues_from_the_compacted_context(
    project: Path, home: Path
) -> None:
    window = 16_000
    inner = reader(project, 30)

    def stall_after_compaction(body: dict[str, Any]) -> Any:
        if "<compacted_context>" in _text(body, 0):
            return Delay(inner, before_s=60.0)  # Hold the first request after it; the kill comes now.
        return inner(body)

    settings = json.dumps({"context": {"microCompact": False}})
    with (
        FakeMessagesAPI([stall_after_compaction] * 100, context_window=window) as fake,
        live_cli(
            [
                *RUN_JSON,
                "--context-window",
                str(window),
                "--settings",
                settings,
                f"Read them all. {PHRASE}",
            ],
            home=home,
            base_url=fake.base_url,
            cwd=project,
            stderr_path=project.parent / "stderr.txt",
        ) as cli,
    ):
        started = cli.wait_event(lambda e: e.get("kind") == "session_started").event
        compaction = cli.wait_event(lambda e: e.get("kind") == "compaction").event
        assert compaction["tier"] in ("snip", "summary")
        cli.proc.send_signal(signal.SIGKILL)
        cli.wait_exit()
    session_id = started["session_id"]
    transcript = home / "sessions" / f"{session_id}.jsonl"
    records = [json.loads(line) for line in transcript.read_text().splitlines() if line.strip()]
    assert any(r.get("type") == "compaction" for r in records)

    with FakeMessagesAPI([Reply([Text("Carrying on.")])], context_window=window) as fake:
        result = run_cli(
            [
                "run",
                "--output-format",
                "stream-json",
                "--context-window",
                str(window),
                "--resume",
                session_id,
                "go on",
            ],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        body = fake.requests[0]
    assert result.returncode == 0, result.stderr
    first = _text(body, 0)
    assert first.startswith("<compacted_context>") and PHRASE in first
    assert _text(body, -1).endswith("go on")
    assert count_request_tokens(body) <= window
    events = parse_events(result.stdout)
    assert any(e["kind"] == "notice" and "compacted" in e["message"] for e in events)


@pytest.mark.parametrize(
    ("flag", "limit"),
    [("--max-budget-usd", "0.01"), ("--max-budget-usd", "0.03"), ("--max-total-tokens", "30000")],
)
def test_a_budget_stops_the_session_before_the_request_that_would_cross_it(
    project: Path, home: Path, flag: str, limit: str
) -> None:
    with FakeMessagesAPI([reader(project, 50)] * 60) as fake:
        result = run_cli(
            [
                *RUN_JSON,
                flag,
                limit,
                "read everything",
            ],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        usages = list(fake.usages)
    assert result.returncode == 3, result.stderr
    end = parse_events(result.stdout)[-1]
    stop = end["stop"]
    assert stop["kind"] == "budget_exceeded"
    assert stop["limit"] == float(limit) and stop["spent"] <= stop["limit"] < stop["projected"]
    if flag == "--max-budget-usd":
        assert stop["budget"] == "usd"
        assert cost(usages) <= float(limit)  # What the API really charged stayed inside.
        assert end["session_cost_usd"] == pytest.approx(cost(usages), rel=1e-6)
    else:
        spent = sum(
            u["input_tokens"]
            + u["cache_read_input_tokens"]
            + u["cache_creation_input_tokens"]
            + u["output_tokens"]
            for u in usages
        )
        assert stop["budget"] == "tokens" and spent <= int(limit)
    if limit != "0.01":
        assert len(usages) >= 2  # It ran until the budget was near, not just stopped at once.


def test_agentls_compact_summarises_a_session_with_instructions_and_resume_uses_it(
    project: Path, home: Path
) -> None:
    with FakeMessagesAPI([reader(project, 4)] * 10) as fake:
        first = run_cli(
            [
                *RUN_JSON,
                f"Read four modules. {PHRASE}",
            ],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
    assert first.returncode == 0, first.stderr
    session_id = parse_events(first.stdout)[0]["session_id"]

    summary = Reply([Text("<summary>Four modules read; they only hold settings_* constants.</summary>")])
    with FakeMessagesAPI([summary]) as fake:
        compact = run_cli(
            ["compact", session_id[:12], "--instructions", "keep the module names"],
            home=home,
            base_url=fake.base_url,
            cwd=project,
        )
        request = fake.requests[0]
    assert compact.returncode == 0, compact.stderr
    assert compact.stdout.startswith("compacted ")
    assert "keep the module names" in _text(request, -1) and SUMMARY_MARK in _text(request, -1)
    assert "(context summary:" in compact.stderr

    with FakeMessagesAPI([Reply([Text("Yes.")])]) as fake:
        again = run_cli(
            ["run", "--resume", session_id, "still there?"], home=home, base_url=fake.base_url, cwd=project
        )
        body = fake.requests[0]
    assert again.returncode == 0, again.stderr
    head = _text(body, 0)
    assert "Four modules read" in head and PHRASE in head
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]


def test_agentls_compact_refuses_an_unknown_session(tmp_path: Path, home: Path) -> None:
    result = run_cli(["compact", "nope"], home=home, base_url="http://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode == 2 and "nope" in result.stderr
    assert os.path.exists(tmp_path)

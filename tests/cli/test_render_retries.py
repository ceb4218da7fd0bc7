"""How the CLI shows API trouble: retries, long waits, heartbeats, the fallback model, the
deadline's exit code."""

from __future__ import annotations

import io

from agentls.cli.drive import exit_code
from agentls.cli.render import TextRenderer, json_renderer
from agentls.core.errors import ErrorCause
from agentls.core.events import Errored, ModelFallback, RetryHeartbeat, Retrying

OVERLOADED = ErrorCause(kind="overloaded", message="Overloaded", status=529, retryable=True)


def text_of(*events: object) -> str:
    out, err = io.StringIO(), io.StringIO()
    render = TextRenderer(out, err)
    for event in events:
        render(event)  # type: ignore[arg-type]
    assert out.getvalue() == ""  # Never on stdout: that is the answer's.
    return err.getvalue()


def test_a_short_retry_is_one_plain_line() -> None:
    line = text_of(Retrying(attempt=2, delay_s=0.9, cause=OVERLOADED, max_retries=10))
    assert line == "(API overloaded: Overloaded; retry 2/10 in 0.9s)\n"


def test_a_long_wait_says_why_and_unattended_says_the_deadline() -> None:
    limited = ErrorCause(
        kind="rate_limited", message="slow down", status=429, retryable=True, retry_after_s=45
    )
    line = text_of(
        Retrying(attempt=1, delay_s=45, cause=limited, max_retries=None, long_wait=True, deadline_in_s=5400)
    )
    assert line == (
        "waiting 45s before retrying: the API asked to wait (retry-after) "
        "(API rate_limited: slow down; retry 1 in 45s; deadline in 1h30m)\n"
    )


def test_heartbeats_and_the_fallback_are_lines_of_their_own() -> None:
    text = text_of(
        RetryHeartbeat(attempt=12, waited_s=30, remaining_s=190, cause=OVERLOADED, deadline_in_s=4000),
        ModelFallback(from_model="a", to_model="b", overloads=3, message="a was overloaded: switched to b"),
    )
    assert text.splitlines() == [
        "(still waiting to retry the API (overloaded): retry 12 in 3m10s; deadline in 1h06m)",
        "(a was overloaded: switched to b)",
    ]


def test_stream_json_carries_the_new_fields() -> None:
    out = io.StringIO()
    json_renderer(out)(Retrying(attempt=1, delay_s=45, cause=OVERLOADED, max_retries=10, long_wait=True))
    assert '"long_wait": true' in out.getvalue() and '"max_retries": 10' in out.getvalue()


def test_the_deadline_exits_4_and_other_errors_1() -> None:
    assert exit_code(Errored(cause=ErrorCause(kind="deadline", message="gave up"))) == 4
    assert exit_code(Errored(cause=OVERLOADED)) == 1

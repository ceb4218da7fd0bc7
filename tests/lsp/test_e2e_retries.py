"""API retries and the fallback model through the language server: the `fallbackModel` and
`retry` options, the `model_fallback` and `api_retry` session updates for rich clients, and the
progress messages every client sees."""

from __future__ import annotations

import pytest
from lsprotocol import types as T

from tests.fakeapi import FakeMessagesAPI, HttpError, Reply, Text
from tests.lsp.harness import NVIM07, VSCODE, Env

pytestmark = pytest.mark.slow

MODEL = "claude-sonnet-5-5"
FALLBACK = "claude-haiku-4-5"


async def test_the_fallback_model_takes_over_and_the_editor_is_told(env: Env) -> None:
    script = [HttpError.overloaded()] * 3 + [Reply([Text("From the fallback.")])]
    options = {"fallbackModel": FALLBACK, "retry": {"baseDelay": 0}}
    with FakeMessagesAPI(script) as fake:
        async with env.editor(VSCODE, fake, options=options) as editor:
            session_id = await editor.new_session()
            result = await editor.prompt(session_id, "hi")
            fallbacks = editor.updates("model_fallback", session_id)
            retries = editor.updates("api_retry", session_id)
        fake.assert_consumed()
        models = [r["model"] for r in fake.requests]
    assert result["stopReason"] == "end_turn"
    assert models == [MODEL, MODEL, MODEL, FALLBACK]
    [fallback] = fallbacks
    assert (fallback["fromModel"], fallback["toModel"], fallback["overloads"]) == (MODEL, FALLBACK, 3)
    assert FALLBACK in fallback["message"]
    assert [r["attempt"] for r in retries] == [1, 2]
    assert all(r["reason"] == "overloaded" and r["maxRetries"] == 10 and not r["heartbeat"] for r in retries)


async def test_a_long_retry_after_shows_in_the_progress_of_a_plain_client(env: Env) -> None:
    wait = HttpError(529, "overloaded_error", "Overloaded", {"retry-after": "2"})
    options = {"retry": {"reportAfter": 1}}  # Two seconds count as long here.
    with FakeMessagesAPI([wait, Reply([Text("ok")])]) as fake:
        async with env.editor(NVIM07, fake, options=options) as editor:
            session_id = await editor.new_session()
            result = await editor.prompt(session_id, "hi")
            messages = [
                v.message
                for run in editor.progress_runs()
                for v in run
                if isinstance(v, T.WorkDoneProgressReport) and v.message
            ]
    assert result["stopReason"] == "end_turn"
    assert any("retry 1 of 10 in 2.0 s (the API asked to wait)" in m for m in messages), messages


async def test_bad_reliability_options_are_a_clear_error(env: Env) -> None:
    with FakeMessagesAPI([]) as fake:
        async with env.editor(VSCODE, fake, options={"deadline": "whenever"}) as editor:
            with pytest.raises(Exception, match="deadline"):
                await editor.new_session()

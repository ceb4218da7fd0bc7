"""A fake Anthropic Messages API for tests: a loopback HTTP server that plays scripted replies
and faults over the real SSE wire format, and rejects requests the real API would reject.

    with FakeMessagesAPI([Reply([Text("hi")]), HttpError.overloaded()]) as fake:
        model = AnthropicModel("claude-sonnet-5-5", api_key="test-key", base_url=fake.base_url)
        ...
        fake.assert_consumed()

It simulates prompt caching and a context window (`FakeMessagesAPI(context_window=200_000)`):
`fake.usages` holds the usage it computed for each reply; `tokens` counts requests the same way.
"""

from agentls.core.scripted import Reply, Text, Thinking, ToolCall
from tests.fakeapi.cache import CacheUsage, Prompt, PromptCache, prompt_of
from tests.fakeapi.faults import (
    Delay,
    DropConnection,
    Fault,
    HttpError,
    MalformedEvent,
    Outcome,
    Pings,
    RawStream,
    Stall,
    Step,
    StreamError,
)
from tests.fakeapi.script import load_script, step_from_json
from tests.fakeapi.server import FakeMessagesAPI
from tests.fakeapi.sse import encode, to_wire, wire_events
from tests.fakeapi.tokens import block_tokens, count_reply_tokens, count_request_tokens
from tests.fakeapi.validate import validate_request

__all__ = [
    "CacheUsage",
    "Delay",
    "DropConnection",
    "FakeMessagesAPI",
    "Fault",
    "HttpError",
    "MalformedEvent",
    "Outcome",
    "Pings",
    "Prompt",
    "PromptCache",
    "RawStream",
    "Reply",
    "Stall",
    "Step",
    "StreamError",
    "Text",
    "Thinking",
    "ToolCall",
    "block_tokens",
    "count_reply_tokens",
    "count_request_tokens",
    "encode",
    "load_script",
    "prompt_of",
    "step_from_json",
    "to_wire",
    "validate_request",
    "wire_events",
]

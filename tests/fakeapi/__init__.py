"""A fake Anthropic Messages API for tests: a loopback HTTP server that plays scripted replies
and faults over the real SSE wire format, and rejects requests the real API would reject.

    with FakeMessagesAPI([Reply([Text("hi")]), HttpError.overloaded()]) as fake:
        model = AnthropicModel("claude-sonnet-5-5", api_key="test-key", base_url=fake.base_url)
        ...
        fake.assert_consumed()
"""

from agentls.core.scripted import Reply, Text, Thinking, ToolCall
from tests.fakeapi.faults import (
    Delay,
    DropConnection,
    Fault,
    HttpError,
    Outcome,
    RawStream,
    Step,
    StreamError,
)
from tests.fakeapi.script import load_script, step_from_json
from tests.fakeapi.server import FakeMessagesAPI
from tests.fakeapi.sse import encode, to_wire, wire_events
from tests.fakeapi.validate import validate_request

__all__ = [
    "Delay",
    "DropConnection",
    "FakeMessagesAPI",
    "Fault",
    "HttpError",
    "Outcome",
    "RawStream",
    "Reply",
    "Step",
    "StreamError",
    "Text",
    "Thinking",
    "ToolCall",
    "encode",
    "load_script",
    "step_from_json",
    "to_wire",
    "validate_request",
    "wire_events",
]

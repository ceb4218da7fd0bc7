"""`preload_sdk`: the language server's warm-up, off the network."""

from __future__ import annotations

import asyncio
import socket

import pytest

from agentls.core import anthropic_model
from agentls.core.anthropic_model import AnthropicModel, preload_sdk
from agentls.core.messages import user_text
from agentls.core.model import ModelRequest, TextDelta
from tests.fakeapi import FakeMessagesAPI, Reply, Text


async def test_the_warm_up_streams_from_loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    connected: list[object] = []
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        connected.append(address)
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    await asyncio.to_thread(preload_sdk, request_path=True)  # As the server's warm-up thread runs it.
    hosts = {a[0] for a in connected if isinstance(a, tuple)}
    assert hosts == {"127.0.0.1"}, connected  # It did connect: to its own loopback server.


async def test_clients_share_the_process_tls_context_and_still_work() -> None:
    with FakeMessagesAPI([Reply([Text("one")]), Reply([Text("two")])]) as fake:
        first = AnthropicModel("claude-sonnet-5-5", api_key="k", base_url=fake.base_url)
        second = AnthropicModel("claude-haiku-4-5", api_key="k", base_url=fake.base_url)
        texts = []
        for model in (first, second):  # Each makes its own client, on the one TLS context.
            request = ModelRequest(model=model.name, system=(), messages=(user_text("hi"),), max_tokens=64)
            texts.append("".join([e.text async for e in model.stream(request) if isinstance(e, TextDelta)]))
            await model.aclose()
        assert texts == ["one", "two"]
    assert anthropic_model._ssl_context is not None
    assert anthropic_model._shared_ssl_context() is anthropic_model._ssl_context

"""JSON scripts for the standalone fake API: a JSON list of steps, one object per step.

{"blocks": [{"text": "..."}, {"thinking": "...", "signature": "..."},
            {"tool_use": {"name": "read_file", "input": {"path": "a.py"}, "id": "toolu_1"}}],
 "stop_reason": "end_turn", "delay_before_stop_s": 0.5, "usage": {"output_tokens": 10}}
   (`usage` is optional: the fake computes it; with cache simulation on, only `output_tokens` is used)
{"reply": {...the same...}}
{"http_error": {"status": 429, "error_type": "rate_limit_error", "message": "...",
                "headers": {"retry-after": "2"}}}
{"drop_connection": {"after_events": 3}}
{"stream_error": {"after_events": 3, "error_type": "overloaded_error", "message": "Overloaded"}}
{"stall": {"after_events": 3, "hold_s": 60}}
{"pings": {"after_events": 3, "every_s": 0.1, "for_s": 1.0, "reply": {...a reply...}}}
{"delay": {"before_s": 1.0, "event_delay_s": 0.05, "step": {...any step...}}}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentls.core.model import TokenUsage
from agentls.core.scripted import Reply, ReplyBlock, Text, Thinking, ToolCall
from tests.fakeapi.faults import Delay, DropConnection, HttpError, Outcome, Pings, Stall, StreamError

_REPLY_OPTIONS = ("stop_reason", "delay_before_stop_s", "chunk_size", "truncate_after_block")


def load_script(path: str | Path) -> list[Outcome]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: a script is a JSON list of steps")
    return [step_from_json(item, f"{path}[{n}]") for n, item in enumerate(data)]


def step_from_json(item: Any, where: str = "step") -> Outcome:
    if not isinstance(item, dict):
        raise ValueError(f"{where}: a step is a JSON object")
    if "blocks" in item:
        return _reply(item, where)
    if "reply" in item:
        return _reply(item["reply"], where)
    if "http_error" in item:
        spec = item["http_error"]
        return HttpError(
            int(spec["status"]),
            spec.get("error_type", "api_error"),
            spec.get("message", "fake API error"),
            {str(k): str(v) for k, v in (spec.get("headers") or {}).items()},
            spec.get("error_code"),
        )
    if "drop_connection" in item:
        return DropConnection(int(item["drop_connection"].get("after_events", 0)))
    if "stream_error" in item:
        spec = item["stream_error"]
        return StreamError(
            int(spec.get("after_events", 0)),
            spec.get("error_type", "overloaded_error"),
            spec.get("message", "Overloaded"),
        )
    if "stall" in item:
        spec = item["stall"]
        return Stall(int(spec.get("after_events", 0)), float(spec.get("hold_s", 60.0)))
    if "pings" in item:
        spec = item["pings"]
        reply = {"reply": _reply(spec["reply"], f"{where}.pings.reply")} if "reply" in spec else {}
        return Pings(
            int(spec.get("after_events", 0)),
            float(spec.get("every_s", 0.1)),
            float(spec.get("for_s", 1.0)),
            **reply,
        )
    if "delay" in item:
        spec = item["delay"]
        return Delay(
            step_from_json(spec["step"], f"{where}.delay.step"),
            float(spec.get("before_s", 0.0)),
            float(spec.get("event_delay_s", 0.0)),
        )
    raise ValueError(
        f"{where}: unknown step; expected blocks, reply, http_error, drop_connection, stream_error, "
        "stall, pings or delay"
    )


def _reply(spec: dict[str, Any], where: str) -> Reply:
    blocks = [_block(b, f"{where}.blocks[{i}]") for i, b in enumerate(spec.get("blocks") or [])]
    options = {k: spec[k] for k in _REPLY_OPTIONS if k in spec}
    if "usage" in spec:
        options["usage"] = TokenUsage(**spec["usage"])
    return Reply(blocks, **options)


def _block(spec: Any, where: str) -> ReplyBlock:
    if isinstance(spec, dict) and "text" in spec:
        return Text(str(spec["text"]))
    if isinstance(spec, dict) and "thinking" in spec:
        return Thinking(str(spec["thinking"]), str(spec.get("signature", "sig-scripted")))
    if isinstance(spec, dict) and "tool_use" in spec:
        call = spec["tool_use"]
        return ToolCall(
            str(call["name"]), dict(call.get("input") or {}), str(call.get("id", "")), call.get("raw_json")
        )
    raise ValueError(f"{where}: a block is {{'text': ...}}, {{'thinking': ...}} or {{'tool_use': {{...}}}}")

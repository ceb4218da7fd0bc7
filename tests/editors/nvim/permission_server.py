"""A stub language server for tests/editors/test_nvim_permission_answer.py, over stdio.

After `initialized` it sends WARM `window/workDoneProgress/create` requests (the client answers
each one, as it answers every server request of a long session), then `agentls/requestPermission`;
once that is answered, WARM more requests and a second prompt. Every response the client sent to a
permission prompt goes to OUT as a JSON list, exactly as it arrived.

usage: permission_server.py OUT WARM
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

PROMPTS = 2
OPTIONS = [
    {"optionId": "allow_once", "name": "Allow once", "kind": "allow_once"},
    {"optionId": "allow_always", "name": "Always allow", "kind": "allow_always"},
    {"optionId": "reject_once", "name": "Reject", "kind": "reject_once"},
    {"optionId": "reject_always", "name": "Always reject", "kind": "reject_always"},
]


def read() -> dict[str, Any] | None:
    length = None
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            return None
        if not line.strip():
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length is None:
        return None
    message: dict[str, Any] = json.loads(sys.stdin.buffer.read(length))
    return message


def send(message: dict[str, Any]) -> None:
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    sys.stdout.buffer.flush()


def main() -> None:
    out, warm = Path(sys.argv[1]), int(sys.argv[2])
    answers: list[dict[str, Any]] = []
    waiting = 0  # warm-up requests not answered yet

    def next_round() -> None:
        nonlocal waiting
        n = len(answers)
        if waiting == 0 and n < PROMPTS:
            call = {"toolCallId": f"call-{n}", "title": f"Bash: echo {n}", "kind": "execute"}
            params = {"sessionId": "stub-session", "toolCall": call, "options": OPTIONS}
            send({"id": f"permission-{n}", "method": "agentls/requestPermission", "params": params})

    def warm_up() -> None:
        nonlocal waiting
        for i in range(warm):
            token = f"warm-{len(answers)}-{i}"
            send({"id": token, "method": "window/workDoneProgress/create", "params": {"token": token}})
        waiting = warm
        next_round()

    while (message := read()) is not None:
        method, mid = message.get("method"), message.get("id")
        if method == "initialize":
            caps = {"experimental": {"agentls": {"version": 1, "requestPermission": True}}}
            send({"id": mid, "result": {"capabilities": caps}})
        elif method == "initialized":
            warm_up()
        elif method == "shutdown":
            send({"id": mid, "result": None})
        elif method == "exit":
            return
        elif method is not None:
            if mid is not None:
                send({"id": mid, "result": None})
        elif str(mid).startswith("warm-"):
            waiting -= 1
            next_round()
        elif str(mid).startswith("permission-"):
            answers.append(message)
            out.write_text(json.dumps(answers))
            if len(answers) < PROMPTS:
                warm_up()


if __name__ == "__main__":
    main()

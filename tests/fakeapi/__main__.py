"""Run the fake Messages API standalone: `python -m tests.fakeapi --script FILE.json [--port N]
[--context-window N] [--no-cache-simulation]`.

Prints `listening on http://127.0.0.1:PORT` once it accepts connections, serves until SIGINT or
SIGTERM, then reports on stderr how many requests it served, how many steps went unused, and the
usage it computed over all replies (input, cache reads, cache writes, output).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType
from typing import Any

from tests.fakeapi.script import load_script
from tests.fakeapi.server import FakeMessagesAPI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakeapi", description=__doc__)
    parser.add_argument(
        "--script", required=True, help="JSON file: a list of steps (see tests/fakeapi/script.py)"
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--event-delay-s", type=float, default=0.0, help="sleep before each SSE event")
    parser.add_argument(
        "--log-requests", metavar="FILE", help="append each request body to FILE as a JSON line"
    )
    parser.add_argument(
        "--no-validate", action="store_true", help="accept requests the real API would reject"
    )
    parser.add_argument(
        "--context-window",
        type=int,
        metavar="N",
        help="answer 400 'prompt is too long' to a request of more than N input tokens (default: no limit)",
    )
    parser.add_argument(
        "--no-cache-simulation",
        action="store_true",
        help="report each reply's scripted usage instead of computing it with a simulated prompt cache",
    )
    args = parser.parse_args(argv)

    try:
        steps = load_script(args.script)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"fakeapi: bad script: {exc}", file=sys.stderr)
        return 2

    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with FakeMessagesAPI(
        steps,
        port=args.port,
        event_delay_s=args.event_delay_s,
        validate=not args.no_validate,
        context_window=args.context_window,
        simulate_usage=not args.no_cache_simulation,
    ) as fake:
        print(f"listening on {fake.base_url}", flush=True)
        seen = 0
        while not done.wait(0.1):
            seen = _log_new(fake, args.log_requests, seen)
        _log_new(fake, args.log_requests, seen)
    print(
        f"fakeapi: served {len(fake.requests)} request(s); {fake.remaining} step(s) unused", file=sys.stderr
    )
    if fake.usages:
        print(f"fakeapi: usage {json.dumps(_total_usage(fake.usages))}", file=sys.stderr)
    return 0


def _total_usage(usages: list[dict[str, Any]]) -> dict[str, int]:
    """The simulated usage summed over every reply, for a benchmark run against the CLI."""
    keys = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")
    return {key: sum(int(u.get(key, 0)) for u in usages) for key in keys}


def _log_new(fake: FakeMessagesAPI, path: str | None, seen: int) -> int:
    bodies = list(fake.requests)
    if path and len(bodies) > seen:
        with open(path, "a", encoding="utf-8") as log:
            for body in bodies[seen:]:
                log.write(json.dumps(body) + "\n")
    return len(bodies)


if __name__ == "__main__":
    sys.exit(main())

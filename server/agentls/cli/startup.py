"""Start and end `agentls` quickly (issue 15).

Start. `agentls run` spends most of its start-up importing the `anthropic` SDK, which creates
hundreds of thousands of objects that all stay alive; the cyclic garbage collector would walk them
again and again on the way (about a seventh of the import). So the collector is held off from the
start of `run` until the SDK is imported (`hold_collection`), then everything alive by then is
moved out of its reach for good (`settle`: `gc.freeze`), and collection goes on as usual for what
the session allocates. Nothing is lost: start-up makes no garbage cycles worth collecting early.

End. After the last event is shown and the transcript is synced (the session ended), the process
has nothing left to do, but the interpreter would still tear down every module (the SDK's
thousands among them) and wait for idle connections: a third of a second. `exit_now` runs the
exit hooks that matter (`atexit`: sandbox placeholders, the leftovers journal, logging), flushes
the standard streams, and ends the process. Only the process entry point (`launch.py`) uses
it; `main()` called in-process returns as usual.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
from typing import NoReturn


def hold_collection() -> None:
    """No cyclic garbage collection until `settle` (or `release`)."""
    gc.disable()


def settle() -> None:
    """Start-up is over: what it made is permanent (frozen out of the collector's reach), and the
    collector runs again."""
    gc.freeze()
    gc.enable()


def release() -> None:
    """The collector runs again, if start-up ended before `settle` (an error, another command)."""
    gc.enable()


def exit_now(code: int) -> NoReturn:
    """End the process at once, with `code`, after the exit hooks and with the streams flushed."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # A closed pipe: no one is left to tell.
            stream.flush()
    os._exit(code)

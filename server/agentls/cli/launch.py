"""The process entry point (`agentls`, `python -m agentls`): the collector is held off before anything
heavy is imported (`startup.py`: `main` lets it go at once unless the command is `run`), then `main`
runs and the process ends quickly. Nothing else is imported here, so holding comes first."""

from __future__ import annotations

from typing import NoReturn

from agentls.cli import startup


def entry() -> NoReturn:
    startup.hold_collection()
    from agentls.cli.main import main

    startup.exit_now(main())

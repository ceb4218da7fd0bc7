"""`agentls acp`: the ACP front end (`agentls.acp`) on stdin/stdout, with the Anthropic model and
the session store the CLI uses. Nothing but ACP goes to stdout; logs go to stderr."""

from __future__ import annotations

import argparse
import logging
import os

from agentls.cli.main import CliError
from agentls.cli.run import NO_KEY


async def acp_command(args: argparse.Namespace) -> int:
    if not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
        raise CliError(NO_KEY)
    from agentls.acp.serve import serve_stdio

    logging.basicConfig(level=logging.WARNING, format="agentls: %(levelname)s %(name)s: %(message)s")
    config = {"permission_mode": args.permission_mode} if args.permission_mode else {}
    await serve_stdio(model=args.model, config=config)
    return 0

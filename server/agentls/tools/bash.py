"""The Bash tool: run one shell command in the workspace root and show the model its output.

Each call gets a fresh non-interactive shell with a scrubbed environment (no API keys, tokens or
agent sockets) and empty stdin, so nothing can wait for a prompt; the workspace kills the
command and everything it started when it times out or the turn is cancelled.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import shutil
import signal
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field

from agentls.tools.base import Tool, ToolContext, ToolEnv, ToolError, ToolInput, ToolOutput
from agentls.workspace.port import ProcessResult, ProcessSpec, WorkspaceError
from agentls.workspace.sandbox import run_sandboxed

SECRET_ENV_PATTERNS: tuple[str, ...] = (
    # Anything that looks like a credential by name (matched case-insensitively)...
    "*API_KEY*",
    "*APIKEY*",
    "*TOKEN*",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*CREDENTIAL*",
    "*_KEY",
    "*_PAT",
    "*_AUTH",
    "*_AUTH_*",  # SSH_AUTH_SOCK: an agent socket signs with the user's keys, so it is a credential.
    # ...and whole families of variables that configure authenticated clients.
    "AWS_*",
    "ANTHROPIC_*",
    "GH_*",
)
"""fnmatch patterns of environment variable names that Bash commands never see."""

SAFE_ENV_NAMES: frozenset[str] = frozenset({"TOKENIZERS_PARALLELISM"})
"""Names that match a secret pattern but are known to be harmless settings."""

NONINTERACTIVE_ENV: Mapping[str, str] = {
    "GIT_TERMINAL_PROMPT": "0",  # git fails instead of asking for a password.
    "GIT_EDITOR": "true",  # `git commit` without -m aborts instead of opening an editor.
    "PAGER": "cat",
    "GIT_PAGER": "cat",
}
"""Set for every command: stdin is empty, so anything that would prompt must not try."""


_SECRET_ENV = re.compile("|".join(fnmatch.translate(pattern) for pattern in SECRET_ENV_PATTERNS))
"""The patterns as one expression: every session and every command checks every variable."""


def is_secret_env_name(name: str) -> bool:
    upper = name.upper()
    if upper in SAFE_ENV_NAMES:
        return False
    return _SECRET_ENV.match(upper) is not None


def scrubbed_env(base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """`base` without secrets (see `SECRET_ENV_PATTERNS`); PATH, HOME, locale, venv etc. stay."""
    return {name: value for name, value in base.items() if not is_secret_env_name(name)}


@functools.cache
def _shell() -> str:
    if Path("/bin/bash").is_file():
        return "/bin/bash"
    return shutil.which("bash") or "/bin/sh"


class BashInput(ToolInput):
    command: str = Field(max_length=100_000, description="The shell command line to run")
    timeout: int | None = Field(
        default=None, ge=1, le=600_000, description="Timeout in milliseconds, at most 600000 (default 120000)"
    )
    description: str | None = Field(
        default=None,
        description="What the command does, in 5-10 words, e.g. 'Run the unit tests' or 'Show git status'",
    )


class BashTool(Tool[BashInput]):
    name = "Bash"
    input_model = BashInput
    read_only = False
    destructive = True

    def description(self, env: ToolEnv) -> str:
        limits = env.limits
        return (
            f"Executes a bash command in a fresh shell each call, with {env.root} as the working "
            "directory. Shell state (cd, variables, aliases) does not carry over between calls, so "
            "use absolute paths or chain commands with && in one call. stdin is empty and "
            "interactive programs cannot prompt: pass flags such as -y or --no-edit.\n\n"
            f"- Timeout: {limits.bash_default_timeout_ms // 1000} s by default; set `timeout` (ms) "
            f"up to {limits.bash_max_timeout_ms // 1000} s. On timeout the command and all its "
            "child processes are killed; background processes do not outlive the call.\n"
            f"- Output (stdout and stderr combined) is capped at {limits.bash_output_chars} "
            "characters; the middle of longer output is omitted.\n"
            "- A non-zero exit status is reported as `Exit code N` after the output.\n"
            "- Prefer the dedicated tools: Read instead of cat/head/tail, Grep instead of grep/rg, "
            "Glob instead of find/ls for finding files, Edit/Write instead of sed/echo redirection.\n"
            '- Quote paths that contain spaces with double quotes, e.g. cd "my dir".\n'
            f"{_sandbox_note(env)}"
            "- Give a short `description` of what the command does.\n"
            f"- Platform: {env.platform}."
        )

    def is_read_only(self, args: BashInput) -> bool:
        """Only a line the permission policy's shell analysis finds read-only (`only_reads`: the
        read-only command set, no write target or redirection into a file, nothing unparsable or
        dangerous): such calls run beside the other reads of a response. Anything else keeps its
        place in call order."""
        # Imported here: tree-sitter loads with the first Bash call, not with the tool registry.
        from agentls.policy.bash_facts import only_reads

        return only_reads(args.command)

    def summary(self, args: BashInput, root: Path) -> str:
        if args.description and args.description.strip():
            return f"Bash: {args.description.strip()[:80]}"
        lines = args.command.strip().splitlines()
        first = lines[0] if lines else ""
        if len(first) > 80:
            first = first[:79] + "…"
        elif len(lines) > 1:
            first += " …"
        return f"Bash: {first}"

    async def call(self, args: BashInput, ctx: ToolContext) -> ToolOutput:
        limits = ctx.limits
        timeout_ms = min(args.timeout or limits.bash_default_timeout_ms, limits.bash_max_timeout_ms)
        base = ctx.env_for_subprocess if ctx.env_for_subprocess is not None else scrubbed_env()
        spec = ProcessSpec(
            argv=[_shell(), "-c", args.command],
            cwd=ctx.workspace.root,
            env={**base, **NONINTERACTIVE_ENV},
            timeout_s=timeout_ms / 1000,
            output_limit=limits.bash_output_chars,
            stdin=b"",
        )
        try:
            if ctx.sandbox is not None:
                result = await run_sandboxed(spec, ctx.sandbox, ctx.workspace.run)
            else:
                result = await ctx.workspace.run(spec)
        except WorkspaceError as exc:  # SandboxUnavailable included: nothing ran.
            raise ToolError(str(exc)) from exc
        return ToolOutput(content=format_result(result, timeout_ms), is_error=result.timed_out)


def _sandbox_note(env: ToolEnv) -> str:
    if env.sandbox is None:
        return ""
    network = "the network is reachable" if env.sandbox.allow_network else "there is no network access"
    return (
        "- Commands run in an OS sandbox: only the working directory (and a private /tmp) is "
        f"writable, {network}, and files such as .git/hooks, .git/config, .vscode/ and shell rc "
        "files are read-only. A write that fails with 'Read-only file system' hit the sandbox: "
        "tell the user instead of looking for another way around it.\n"
    )


def format_result(result: ProcessResult, timeout_ms: int) -> str:
    """The model's view: output, then how the command ended if not with status 0."""
    lines = [result.output.rstrip("\n") or "(no output)"]
    if result.timed_out:
        lines.append(
            f"Command timed out after {timeout_ms / 1000:g} s and was killed along with its child processes."
        )
    elif result.exit_code is not None and result.exit_code < 0:
        lines.append(f"Killed by signal {_signal_name(-result.exit_code)}")
    elif result.exit_code:
        lines.append(f"Exit code {result.exit_code}")
    return "\n".join(lines)


def _signal_name(number: int) -> str:
    try:
        return f"{number} ({signal.Signals(number).name})"
    except ValueError:
        return str(number)

"""The review prompt, shared by `/review` (every front end) and the `agentls.review` LSP command.

Without a path it reviews the working tree: git's diff against `HEAD` and the untracked files are
gathered here, through the session's workspace, and put in the prompt. That makes the prompt
deterministic, tells the caller which files were reviewed (the language server clears their old
findings), and makes an empty or non-git tree a clear error instead of a confused turn.

With the `ReportFinding` tool (the language server's review sessions) findings are reported
through it and become diagnostics; without it (a chat, `agentls run`) the answer lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentls.tools.bash import scrubbed_env
from agentls.tools.report_finding import REPORT_FINDING
from agentls.workspace.port import ProcessSpec, Workspace, WorkspaceError

MAX_DIFF_CHARS = 60_000

_LOOK_FOR = (
    "Look for problems that matter: wrong logic, unhandled errors and edge cases, resource leaks, "
    "security issues, races, misleading names or comments. Skip style nits unless they hide a bug. "
)
_WITH_TOOL = (
    f"Report each issue with the {REPORT_FINDING} tool, once per issue, on the lines that need to "
    "change (line numbers of the current file, as Read shows them). Do not edit any file. When you "
    "are done, answer with a short summary, most important issue first."
)
_IN_ANSWER = (
    "Do not edit any file. Answer with the issues, most important first, each with its file and "
    "line numbers (of the current file, as Read shows them), what is wrong and how to fix it; say "
    "so plainly if you found nothing that matters."
)


class ReviewError(Exception):
    """The review cannot start (no changes, git failed); the message is for the user."""


@dataclass(frozen=True)
class ReviewPrompt:
    prompt: str
    files: tuple[str, ...]
    """The files reviewed, relative to the workspace root (the named file, or the changed ones)."""


def review_rules(*, report_tool: bool) -> str:
    return _LOOK_FOR + (_WITH_TOOL if report_tool else _IN_ANSWER)


def file_review_prompt(path: str, *, report_tool: bool) -> ReviewPrompt:
    """`path` as the user should read it (relative to the root when inside it)."""
    return ReviewPrompt(f"Review the file {path}. {review_rules(report_tool=report_tool)}", (path,))


async def working_tree_review_prompt(workspace: Workspace, *, report_tool: bool) -> ReviewPrompt:
    diff, files = await working_tree_diff(workspace)
    prompt = (
        "Review the uncommitted changes in this repository: `git diff HEAD` and the untracked "
        "files listed below. Focus on the changed code; read around it when you need context. "
        f"{review_rules(report_tool=report_tool)}\n\n{diff}"
    )
    return ReviewPrompt(prompt, tuple(files))


async def _git(workspace: Workspace, *argv: str) -> str:
    spec = ProcessSpec(
        argv=["git", "--no-pager", "-c", "core.quotepath=off", *argv],
        cwd=workspace.root,
        env=scrubbed_env(),
        timeout_s=30,
        output_limit=MAX_DIFF_CHARS,
    )
    try:
        result = await workspace.run(spec)
    except WorkspaceError as err:
        raise ReviewError(f"cannot run git: {err}") from None
    if result.exit_code != 0:
        first = result.output.strip().splitlines()[0] if result.output.strip() else f"exit {result.exit_code}"
        raise ReviewError(f"`git {' '.join(argv)}` failed: {first}")
    return result.output


async def working_tree_diff(workspace: Workspace) -> tuple[str, list[str]]:
    """The prompt's diff section and the files it covers (changed and untracked, relative paths)."""
    changed = [f for f in (await _git(workspace, "diff", "--name-only", "-z", "HEAD")).split("\0") if f]
    untracked = [
        f
        for f in (await _git(workspace, "ls-files", "--others", "--exclude-standard", "-z")).split("\0")
        if f
    ]
    if not changed and not untracked:
        raise ReviewError("nothing to review, the working tree has no changes")
    diff = await _git(workspace, "diff", "--no-color", "--no-ext-diff", "HEAD") if changed else ""
    section = f"```diff\n{diff.rstrip()}\n```" if diff.strip() else "(no changes to tracked files)"
    if untracked:
        section += "\n\nUntracked files (not in the diff; read them):\n" + "\n".join(
            f"- {f}" for f in untracked
        )
    return section, changed + untracked

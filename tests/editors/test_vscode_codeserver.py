"""The VS Code extension (client-vscode/) in a real VS Code: code-server in headless Chromium,
driven by Playwright, against the real `agentls` and the fake Messages API on loopback.

One whole turn as a user would do it (tests/editors/vscode/drive.js): open app.py, run
"agentls: Open Chat", type a prompt and press Enter; the scripted model reads the file, sets a
plan and asks to Edit it; the "Allow once" button in the chat panel approves it; the edit must
appear in the open editor and the reply in the panel, and the header must show the context meter
and the session's cost as the fake API's usage makes them. Then the session is compacted with
instructions from the header (the model writes the summary), compacted again (nothing left), and
the window is reloaded: the panel must show the session again, replayed by the server, with its
meter and cost. Then, in the same session: a prompt whose subagent asks to run Bash (the
prompt's buttons on its card, nested under the Agent call; "Allow once" lets it run), the `/`
completion list with a project command from `.claude/commands/fix-issue.md`, and `/cost`,
`/context`, `/fix-issue 123` and `/compact` typed into the chat input. Screenshots of the panel
at each stage go to tests/editors/artifacts/.

The first run installs Node 24, code-server and playwright-core from the npm registry (and
Debian's chromium) into a cache (tests/editors/vscode/install.sh), which takes a few minutes;
later runs reuse it. Nothing but the package registries is reached, and only while installing.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentls.core.context.catalog import model_info
from agentls.core.context.summary import SUMMARY_INSTRUCTIONS
from agentls.core.model import TokenUsage
from agentls.store.settings_files import TrustStore
from tests.editors.vscode.codeserver import (
    CLIENT_DIR,
    RunDirs,
    Tools,
    code_server_env,
    extension_logs,
    install_extension,
    read_log,
    running_code_server,
    write_settings,
)
from tests.fakeapi import Delay, FakeMessagesAPI, Reply, Step, Text, Thinking, ToolCall
from tests.lsp.harness import result_text, tool_results
from tests.mcp.helpers import echo_entry

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2700)]

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "vscode" / "drive.js"
ARTIFACTS = HERE / "artifacts"
AGENTLS = Path(sys.executable).parent / "agentls"
DRIVE_TIMEOUT_S = 900

APP = 'def greet(name):\n    return "hello " + name\n\n\nprint(greet("world"))\n'
OLD = '"hello " + name'
NEW = 'f"Hello, {name.title()}!"'
PROMPT = "Make the greeting friendlier"
REPLY = (
    "Done: `greet` now title-cases the name and adds an exclamation mark.\n\n"
    '```python\ndef greet(name):\n    return f"Hello, {name.title()}!"\n```\n\n'
    "VSCODE-TURN-DONE"
)
STYLE = "".join(
    f"- Rule {i}: a greeting names the person as they wrote their name, title-cased, then says hello.\n"
    for i in range(1, 81)
)
"""STYLE.md, read with app.py: a tool result large enough that compacting the turn frees room."""
CONTEXT_WINDOW = 20_000
"""`agentls.contextWindow`: small enough for a meter that moves, large enough that nothing compacts
by itself (the turn here is about 7,000 tokens)."""
COMPACT_INSTRUCTIONS = "Keep the decision to title-case names"
SUMMARY = "Goal: a friendlier greeting. Done: greet() in app.py title-cases the name. SUMMARY-MARKER"
SUBAGENT_PROMPT = "Use a subagent to write the marker file"
SUBAGENT_TASK = {
    "description": "Write the marker",
    "prompt": "Run: echo SUB-RAN > sub.txt",
    "subagent_type": "general-purpose",
}
SUBAGENT_REPLY = "SUBAGENT-DONE: the subagent wrote sub.txt"
FIX_COMMAND = (
    "---\ndescription: Fix a GitHub issue in this project\nargument-hint: <number>\n---\n"
    "Fix issue #$ARGUMENTS in app.py, then say what changed.\n"
)
FIX_REPLY = "FIX-ISSUE-DONE for #123.\n\n" + "".join(
    f"- Step {i}: checked the greeting path and the style guide rule {i}; nothing else to change.\n"
    for i in range(1, 121)
)
"""Long enough that `/compact` afterwards has something to summarise."""
MCP_PROMPT = "Echo something through the MCP server"
MCP_REPLY = "MCP-DONE: the server echoed it"
SUMMARY_2 = "Goal: friendlier greeting; a subagent wrote sub.txt; issue 123 was reviewed. SECOND-SUMMARY"
TODOS = [
    {"content": "Read app.py", "status": "completed", "activeForm": "Reading app.py"},
    {"content": "Make the greeting friendlier", "status": "in_progress", "activeForm": "Editing greet"},
    {"content": "Summarise the change", "status": "pending", "activeForm": "Summarising"},
]


def turn_script(app: Path) -> list[Step]:
    return [
        Reply(
            [
                Thinking("The user wants a friendlier greeting; read app.py before changing it."),
                Text("Let me read the file and the style guide first."),
                ToolCall("Read", {"file_path": str(app)}),
                ToolCall("Read", {"file_path": str(app.parent / "STYLE.md")}),
            ]
        ),
        Reply(
            [
                Text("I'll make `greet` title-case the name."),
                ToolCall("TodoWrite", {"todos": TODOS}),
                ToolCall("Edit", {"file_path": str(app), "old_string": OLD, "new_string": NEW}),
            ]
        ),
        Reply([Text(REPLY)]),
        # The summary request of "Compact with instructions…": slow enough to see it compacting.
        Delay(Reply([Text(f"<summary>\n{SUMMARY}\n</summary>")]), before_s=2.0),
    ]


def last_user_text(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if block.get("type") == "text":
            parts.append(block["text"])
        elif block.get("type") == "tool_result":
            inner = block.get("content")
            parts.append(inner if isinstance(inner, str) else "".join(c.get("text", "") for c in inner or []))
    return "\n".join(parts)


def is_subagent(body: dict[str, Any]) -> bool:
    """A subagent's request: its system prompt (its definition's) starts by saying so."""
    system = body.get("system") or []
    first = system if isinstance(system, str) else (system[0].get("text", "") if system else "")
    return "subagent" in first.split("\n", 1)[0]


def second_part(body: dict[str, Any]) -> Reply:
    """The replies after the reload: the subagent scenario, /fix-issue and /compact's summary."""
    said = last_user_text(body)
    if is_subagent(body):
        if len(body["messages"]) == 1:
            return Reply([ToolCall("Bash", {"command": "echo SUB-RAN > sub.txt"})])
        return Reply([Text("SUB-REPORT: sub.txt written")])
    if SUMMARY_INSTRUCTIONS[:60] in said:
        return Reply([Text(f"<summary>\n{SUMMARY_2}\n</summary>")])
    if "Fix issue #123 in app.py" in said:
        return Reply([Text(FIX_REPLY)])
    if SUBAGENT_PROMPT in said:
        return Reply([ToolCall("Agent", SUBAGENT_TASK)])
    if MCP_PROMPT in said:
        return Reply([ToolCall("mcp__echo__echo", {"text": "from the panel"})])
    if "echo: from the panel" in said:
        return Reply([Text(MCP_REPLY)])
    if "SUB-REPORT" in said:
        return Reply([Text(SUBAGENT_REPLY)])
    raise AssertionError(f"unexpected request: {said[:300]}")


SECOND_PART_REQUESTS = 8
"""Agent call, the subagent's Bash and answer, the parent's reply, the MCP call and the reply to
its result, /fix-issue, /compact."""


def api_usage(usage: dict[str, Any]) -> TokenUsage:
    """The fake's usage of one reply, as the server reads it."""
    one_hour = (usage.get("cache_creation") or {}).get("ephemeral_1h_input_tokens", 0)
    return TokenUsage(
        input_tokens=usage["input_tokens"],
        output_tokens=usage["output_tokens"],
        cache_read_input_tokens=usage["cache_read_input_tokens"],
        cache_creation_input_tokens=usage["cache_creation_input_tokens"],
        cache_creation_1h_input_tokens=one_hour,
    )


def dollars(amount: float) -> str:
    """As the panel shows a cost (usage.ts formatCost)."""
    return f"${amount:.4f}" if 0 < amount < 0.01 else f"${amount:.2f}"


def percent(used: int, size: int) -> str:
    """As the panel shows the share of the window (usage.ts formatPercent; Math.round)."""
    share = used / size * 100
    return "0%" if used <= 0 else "<1%" if share < 1 else f"{math.floor(share + 0.5)}%"


def tokens(n: int) -> str:
    """As the panel shows a token count (usage.ts formatTokens), for counts under a million."""
    if n < 1000:
        return str(n)
    return f"{n / 1000:.{1 if n < 10_000 else 0}f}".removesuffix(".0") + "k"


def check_context(context: dict[str, str], cost: float, report: str) -> int:
    """The header's meter and cost agree with each other and with the expected cost; returns the
    context tokens the tooltip states."""
    match = re.search(r"Context: ([\d,]+) of ([\d,]+) tokens", context["tooltip"] or "")
    assert match, report
    used, size = (int(g.replace(",", "")) for g in match.groups())
    assert size == CONTEXT_WINDOW, report
    assert context["meter"] == f"{percent(used, size)} · {tokens(used)} / {tokens(size)}", report
    assert context["cost"] == dollars(cost), report
    assert abs(float(context["fill"].removesuffix("%")) - used / size * 100) < 0.06, report
    return used


def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ignore = ARTIFACTS / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    return ARTIFACTS


def test_chat_turn_with_permission_in_code_server(tools: Tools, vsix: Path, tmp_path: Path) -> None:
    assert AGENTLS.exists(), f"the agentls console script is not next to {sys.executable}"
    workspace = (tmp_path / "ws").resolve()
    workspace.mkdir()
    app = workspace / "app.py"
    app.write_text(APP, encoding="utf-8")
    (workspace / "STYLE.md").write_text(STYLE, encoding="utf-8")
    (workspace / ".claude" / "commands").mkdir(parents=True)
    (workspace / ".claude" / "commands" / "fix-issue.md").write_text(FIX_COMMAND, encoding="utf-8")
    home = tmp_path / "agentls-home"
    dirs = RunDirs.under(tmp_path / "run")
    artifacts = artifacts_dir()
    for old in artifacts.glob("vscode-*.png"):
        old.unlink()
    result_path = tmp_path / "drive-result.json"

    # Project commands count in a trusted folder (the server's config dir is the test's).
    TrustStore(dirs.xdg_config / "agentls" / "trusted.json").trust(workspace)
    # The user's settings: an MCP server (the tests' echo server, over stdio) whose echo tool is
    # allowed without asking.
    user_settings = {"mcpServers": {"echo": echo_entry()}, "permissions": {"allow": ["mcp__echo__echo"]}}
    (dirs.xdg_config / "agentls").mkdir(parents=True, exist_ok=True)
    (dirs.xdg_config / "agentls" / "settings.json").write_text(json.dumps(user_settings), encoding="utf-8")

    with FakeMessagesAPI([*turn_script(app), *[second_part] * SECOND_PART_REQUESTS]) as fake:
        env = code_server_env(
            dirs,
            {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": fake.base_url, "AGENTLS_HOME": str(home)},
        )
        install_extension(tools, dirs, vsix, env)
        write_settings(
            dirs,
            {
                "agentls.server.command": [str(AGENTLS)],
                "agentls.maxTurns": 8,
                "agentls.thinking": "adaptive",
                "agentls.contextWindow": CONTEXT_WINDOW,
                "agentls.budget.maxUsd": 5,
            },
        )
        with running_code_server(tools, dirs, workspace, env) as url:
            config = {
                "url": url,
                "workspace": str(workspace),
                "file": "app.py",
                "fileNeedle": 'return "hello " + name',
                "prompt": PROMPT,
                "promptNeedle": PROMPT,
                "editNeedle": 'return f"Hello, {name.title()}!"',
                "replyNeedle": "VSCODE-TURN-DONE",
                "compactInstructions": COMPACT_INSTRUCTIONS,
                "compactCommand": "agentls: Compact the Session's Context",
                "artifacts": str(artifacts),
                "result": str(result_path),
                "playwright": str(tools.playwright),
                "chromium": str(tools.chromium),
                "tmp": str(tmp_path),
                "timeoutMs": 180_000,
                "subagentPrompt": SUBAGENT_PROMPT,
                "subagentReplyNeedle": "SUBAGENT-DONE",
                "fixReplyNeedle": "FIX-ISSUE-DONE",
                "mcpPrompt": MCP_PROMPT,
                "mcpReplyNeedle": "MCP-DONE",
            }
            config_path = tmp_path / "drive-config.json"
            config_path.write_text(json.dumps(config), encoding="utf-8")
            drive = subprocess.run(
                [str(tools.node), str(DRIVER), str(config_path)],
                capture_output=True,
                text=True,
                timeout=DRIVE_TIMEOUT_S,
                check=False,
                stdin=subprocess.DEVNULL,
                cwd=CLIENT_DIR,
            )
            logs = extension_logs(dirs)
        requests = list(fake.requests)
        usages = [api_usage(u) for u in fake.usages[:4]]  # The first part's.
        remaining = fake.remaining

    result = json.loads(result_path.read_text(encoding="utf-8")) if result_path.exists() else {}
    context = (
        f"driver rc={drive.returncode}\nsteps: {result.get('steps')}\nerror: {result.get('error')}\n"
        f"driver stderr:\n{drive.stderr[-3000:]}\ncode-server log:\n{read_log(dirs)[-3000:]}\n{logs[-6000:]}"
    )
    assert drive.returncode == 0 and result.get("ok"), context

    # The selection and the @-mentioned file went with the prompt, as the server received them.
    assert result["selectionChip"].startswith("✂ app.py:1-"), result["selectionChip"]
    assert result["fileChip"].startswith("@app.py"), result["fileChip"]
    first_prompt = json.dumps(requests[0]["messages"][0])
    assert PROMPT in first_prompt
    assert "app.py#L1-L" in first_prompt
    assert 'return \\"hello \\" + name' in first_prompt

    # The permission request reached the panel as buttons, with the edit's diff.
    assert result["permissionButtons"] == ["Allow once", "Always allow", "Reject", "Always reject"], context
    assert "Edit" in result["permissionCard"], result["permissionCard"]
    status = result["statusBarDuringPermission"]
    assert "waiting for permission" in status, status

    # The edit landed in the open editor (a buffer change; nothing ran that would save it).
    assert 'return f"Hello, {name.title()}!"' in result["editorText"]
    assert app.read_text(encoding="utf-8") == APP

    # The panel shows the reply, the tool calls (with the diff of the edit), the plan and usage.
    assert "VSCODE-TURN-DONE" in result["panelText"]
    assert result["toolCards"] >= 3, result["panelText"]
    assert result["diffCount"] >= 1, result["panelText"]
    assert "Make the greeting friendlier" in result["planText"]
    assert result["thoughts"] == 1, result["panelText"]
    assert "agentls" in result["statusBarAfter"] and "waiting" not in result["statusBarAfter"]

    # The header's context meter and cost after the turn: the window from agentls.contextWindow,
    # the cost from the fake's usage at the default model's prices, the last request's tokens.
    prices = model_info("claude-sonnet-5-5").prices
    assert prices is not None and len(usages) == 4, context
    costs = [prices.cost(u) for u in usages]
    report = json.dumps({k: v for k, v in result.items() if k.startswith("context")}, indent=1)
    used = check_context(result["contextAfterTurn"], sum(costs[:3]), report)
    last = usages[2]
    last_in = last.input_tokens + last.cache_read_input_tokens + last.cache_creation_input_tokens
    assert f"Last request: {last_in:,} in" in result["contextAfterTurn"]["tooltip"], report
    assert f"· {last.output_tokens:,} out" in result["contextAfterTurn"]["tooltip"], report

    # Compact with instructions: the input box, a spinning notice while the model summarises,
    # then the notice with the sizes and the summary; the meter drops, the cost includes the
    # summary request.
    assert "Compact with instructions" in result["compactInputTitle"], context
    assert result["compactionStartedText"].startswith("Compacting the context (summary, "), context
    assert result["compactButtonWhileCompacting"] == {"text": "Compacting…", "disabled": True}, context
    assert result["stateWhileCompacting"] == "compacting…", context
    line = r"Context compacted \(summary\): ([\d,]+) → ([\d,]+) tokens"
    sizes = re.fullmatch(line, result["compactionText"])
    assert sizes, result["compactionText"]
    before, after = (int(g.replace(",", "")) for g in sizes.groups())
    assert after < before - 1000, result["compactionText"]  # The style guide's Read result went.
    assert "SUMMARY-MARKER" in result["compactionSummary"], result["compactionSummary"]
    assert result["compactionCount"] == 1, context
    summary_request = json.dumps(requests[3])
    assert COMPACT_INSTRUCTIONS in summary_request, summary_request[-2000:]
    used_after = check_context(result["contextAfterCompact"], sum(costs), report)
    assert used_after == after < used, report
    assert result["compactAgainNotice"] == "Not compacted: nothing to compact yet", context
    assert "Compact with instructions" in result["paletteCompactTitle"], context
    assert result["noticesAdded"] == 1, context  # Escape in the palette's box compacted nothing.

    # After a reload the panel shows the same session, replayed by the server.
    assert PROMPT in result["panelTextAfterReload"]
    assert "VSCODE-TURN-DONE" in result["panelTextAfterReload"]
    assert PROMPT in result["sessionMenu"], result["sessionMenu"]
    # ... with the meter and the cost as they were (the cost is kept in the transcript).
    after_reload = result["contextAfterReload"]
    assert after_reload["cost"] == result["contextAfterCompact"]["cost"], report
    check_context(after_reload, sum(costs), report)

    # The model was asked three times for the turn and once for the summary; the Edit succeeded.
    assert remaining == 0, f"{remaining} scripted replies unused; {len(requests)} requests"
    assert len(requests) == 4 + SECOND_PART_REQUESTS
    todo_result, edit_result = tool_results(requests[2])
    assert not todo_result.get("is_error"), result_text(todo_result)
    assert not edit_result.get("is_error"), result_text(edit_result)

    # Part two. A subagent's Bash prompt: buttons on its card, nested under the Agent call; the
    # answer reached the subagent (the command ran, its next request has the result) and the
    # parent's reply is in the panel; the Agent card shows what the subagent used.
    assert result["subagentPermissionButtons"] == ["Allow once", "Always allow", "Reject", "Always reject"]
    card = result["subagentPermissionCard"]
    assert "general-purpose › Bash" in card and "echo SUB-RAN > sub.txt" in card, card
    assert (workspace / "sub.txt").read_text(encoding="utf-8") == "SUB-RAN\n"
    subagent_requests = [b for b in requests if is_subagent(b)]
    assert len(subagent_requests) == 2
    (bash_result,) = tool_results(subagent_requests[1])
    assert not bash_result.get("is_error"), result_text(bash_result)
    assert any("general-purpose › Bash" in text for text in result["nestedCards"]), result["nestedCards"]
    assert result["agentNote"].startswith("general-purpose agent: 2 requests · "), result["agentNote"]
    assert SUBAGENT_REPLY in result["panelTextAfterCommands"]

    # The MCP tool's call is a card with its result; /mcp lists the server, connected, and its tools.
    assert "mcp__echo__echo" in result["mcpCard"] and "echo: from the panel" in result["mcpCard"], result
    assert "echo · connected" in result["mcpOutput"], result["mcpOutput"]
    assert "mcp__echo__echo" in result["mcpOutput"], result["mcpOutput"]

    # The `/` completion list (from agentls/listCommands), the custom command included.
    assert {"/compact", "/context", "/cost", "/fix-issue"} <= set(result["completionSlash"]), result
    assert result["completionCo"][:3] == ["/compact", "/context", "/cost"], result["completionCo"]
    assert result["completionF"][0] == "/fix-issue", result["completionF"]
    # /cost and /context answer in the panel without asking the model.
    assert "Session cost: $" in result["costOutput"], result["costOutput"]
    assert "Context:" in result["contextOutput"] and "Tool definitions" in result["contextOutput"]
    # /fix-issue 123 sent the command's prompt with the argument; /compact summarised.
    fix_request = next(b for b in requests if "Fix issue #123 in app.py" in last_user_text(b))
    assert "$ARGUMENTS" not in json.dumps(fix_request["messages"])
    assert "FIX-ISSUE-DONE" in result["panelTextAfterCommands"]
    assert result["compactionsAfterSlashCompact"] == 1, result["compactOutput"]
    assert "compacted" in result["compactOutput"].lower(), result["compactOutput"]
    assert SUMMARY_INSTRUCTIONS[:60] in last_user_text(requests[-1])

    for name in (
        "vscode-chat-permission.png",
        "vscode-chat-after-turn.png",
        "vscode-chat-compacted.png",
        "vscode-chat-after-reload.png",
        "vscode-subagent-permission.png",
        "vscode-subagent-done.png",
        "vscode-slash-completion.png",
        "vscode-slash-commands.png",
        "vscode-mcp-tool.png",
    ):
        assert (artifacts / name).stat().st_size > 10_000, name

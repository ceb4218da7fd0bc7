"""The Neovim plugin (client-nvim/) in real Neovims: 0.7.2 from Debian and a 0.12-dev build from
PyPI, each headless, against the real `agentls` and the fake Messages API on loopback.

One whole turn per editor, driven through the plugin as a user would (tests/editors/nvim/
turn_driver.lua): :AgentlsChat, type a prompt in the chat's prompt area, <CR>; the scripted
model reads a file and asks to Edit it; the plugin's permission prompt is answered (the float's
"a" key on 0.7, vim.ui.select on 0.12); the edit must land in the open buffer and the reply
in the chat buffer, and the statusline must then show the context fill and the session's cost.
Then :AgentlsCompact with instructions (the model writes the summary) and :AgentlsCompact again
(nothing left to compact). The editors are installed on first use (see nvim/install.py).

The plugin's other features run in one editor session per Neovim (tests/editors/nvim/
features_driver.lua): :AgentlsAsk, slash commands typed in the chat buffer (omnifunc completion,
/cost, /context, the project's custom /fix-issue, /compact), :AgentlsStop, :AgentlsSessions, a
subagent whose Bash call asks permission through the plugin's prompt and gets the answer, and
:AgentlsReview with :AgentlsFindings.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agentls.core.context.catalog import model_info
from agentls.core.model import TokenUsage
from agentls.policy.loader import SettingsSources
from tests.editors.nvim.runner import NVIM_BUILDS, PLUGIN_DIR, NvimRun, new_project, nvim_env, run_driver
from tests.fakeapi import Delay, FakeMessagesAPI, Reply, Step, Text, ToolCall

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

HERE = Path(__file__).parent
TURN_DRIVER = HERE / "nvim" / "turn_driver.lua"

APP = 'def greet(name):\n    return "hello " + name\n'
OLD = '"hello " + name'
NEW = 'f"Hello, {name.title()}!"'
EDITED = ["def greet(name):", '    return f"Hello, {name.title()}!"']
REPLY = "Greeting updated: names are now title-cased. NVIM-TURN-DONE"
PROMPT = "Make the greeting friendlier"
CONTEXT_WINDOW = 20_000
"""Passed as `init_options.contextWindow`: a window the statusline's percentage visibly moves in."""
INIT_OPTIONS = {"contextWindow": CONTEXT_WINDOW, "budget": {"maxUsd": 5}}
COMPACT_INSTRUCTIONS = "keep the title-case decision"
SUMMARY = "Goal: a friendlier greeting; greet() now title-cases the name. NVIM-SUMMARY"


STYLE = "".join(
    f"- Style rule {n}: greetings are short, friendly and end with one exclamation mark.\n" for n in range(80)
)
"""Read with app.py, so the conversation is long enough that a summary makes it smaller (a
summary that would not is not applied)."""


def turn_script(app: Path) -> list[Step]:
    style = app.parent / "STYLE.md"
    return [
        Reply([ToolCall("Read", {"file_path": str(style)}), ToolCall("Read", {"file_path": str(app)})]),
        Reply([ToolCall("Edit", {"file_path": str(app), "old_string": OLD, "new_string": NEW})]),
        Reply([Text(REPLY)]),
        # :AgentlsCompact's summary request (slow enough to see "compacting" in the chat).
        Delay(Reply([Text(f"<summary>{SUMMARY}</summary>")]), before_s=1.5),
    ]


def api_cost(usage: dict[str, Any]) -> float:
    """What one reply of the fake costs at the default model's prices (as the server counts)."""
    prices = model_info("claude-sonnet-5-5").prices
    assert prices is not None
    one_hour = (usage.get("cache_creation") or {}).get("ephemeral_1h_input_tokens", 0)
    return prices.cost(
        TokenUsage(
            input_tokens=usage["input_tokens"],
            output_tokens=usage["output_tokens"],
            cache_read_input_tokens=usage["cache_read_input_tokens"],
            cache_creation_input_tokens=usage["cache_creation_input_tokens"],
            cache_creation_1h_input_tokens=one_hour,
        )
    )


def statusline(used: int, cost: float) -> str:
    """The plugin's idle statusline for this context and cost (status.lua)."""
    share = used / CONTEXT_WINDOW * 100
    percent = "<1%" if share < 1 else f"{math.floor(share + 0.5)}%"
    dollars = f"${cost:.4f}" if 0 < cost < 0.01 else f"${cost:.2f}"
    return f"agentls {percent} ctx · {dollars}"


def run_turn(
    nvim: Path, tmp_path: Path, permission_ui: str, *, select_stub: bool = False
) -> tuple[NvimRun, FakeMessagesAPI, Path]:
    project = new_project(tmp_path, {"app.py": APP, "STYLE.md": STYLE})
    app = project / "app.py"
    with FakeMessagesAPI(turn_script(app)) as fake:
        run = run_driver(
            nvim,
            TURN_DRIVER,
            cwd=project,
            env=nvim_env(tmp_path, tmp_path / "agentls-home", fake.base_url),
            extra_env={
                "AGENTLS_TEST_FILE": str(app),
                "AGENTLS_TEST_PROMPT": PROMPT,
                "AGENTLS_TEST_PERMISSION_UI": permission_ui,
                "AGENTLS_TEST_SELECT_STUB": "1" if select_stub else "0",
                "AGENTLS_TEST_INIT_OPTIONS": json.dumps(INIT_OPTIONS),
                "AGENTLS_TEST_COMPACT_INSTRUCTIONS": COMPACT_INSTRUCTIONS,
            },
            out=tmp_path / "result.json",
        )
    return run, fake, app


def check_turn(run: NvimRun, fake: FakeMessagesAPI, app: Path) -> None:
    r = run.result
    assert r.get("ok") is True, f"the turn did not complete in Neovim\n{run.report()}"
    # A plain runtimepath install defines the commands and starts nothing before setup().
    assert r["commands_before_setup"] is True, run.report()
    assert r["clients_before_setup"] == 0, run.report()
    # The plugin announced what the server looks for.
    assert r["experimental"]["agentls"]["requestPermission"] is True, run.report()
    assert r["experimental"]["agentls"]["sessionUpdate"] is True, run.report()
    # The model got the prompt and the tool results in order: Read, Edit, then the final reply;
    # then the summary request of :AgentlsCompact.
    assert len(fake.requests) == 4, f"{len(fake.requests)} model requests\n{run.report()}"
    first_user = fake.requests[0]["messages"][0]
    assert PROMPT in str(first_user), run.report()
    edit_result = fake.requests[2]["messages"][-1]["content"][0]
    assert edit_result["type"] == "tool_result" and not edit_result.get("is_error"), (
        f"the Edit failed: {edit_result}\n{run.report()}"
    )
    # The edit landed in the open buffer (through workspace/applyEdit), not on disk.
    assert r["file_lines"] == EDITED, run.report()
    assert r["file_modified"] is True, run.report()
    assert app.read_text(encoding="utf-8") == APP, "the agent wrote the file on disk instead of the buffer"
    # The chat buffer shows the prompt, the tool calls, the permission answer and the reply.
    chat = "\n".join(r["chat_lines"])
    assert "## You" in chat and PROMPT in chat, run.report()
    assert "- [done] " in chat and "Edit" in chat, run.report()
    assert "answer: Allow once" in chat, run.report()
    assert REPLY in chat, run.report()
    assert r["chat_busy"] is False and r["pending_permissions"] == 0, run.report()
    # The statusline function followed the turn; afterwards it shows the context fill (of the
    # window given in init_options) and the session's cost, from the fake's usage.
    assert any(s.startswith("agentls: ") for s in r["statuses"]), run.report()
    assert "agentls: waiting for permission" in r["statuses"], run.report()
    costs = [api_cost(u) for u in fake.usages]
    assert len(costs) == 4, run.report()
    usage = r["usage_after"]
    assert usage["size"] == CONTEXT_WINDOW and usage["used"] > 0, run.report()
    assert r["status_after"] == statusline(usage["used"], sum(costs[:3])), run.report()
    assert r["context_after"] == r["status_after"].removeprefix("agentls "), run.report()
    assert not r["errors"], run.report()

    # :AgentlsCompact {instructions}: the instructions reached the summary request; the chat
    # shows "compacting" while the model writes it, then one line with the sizes; a notification
    # says what happened; the statusline follows (the cost includes the summary request).
    assert COMPACT_INSTRUCTIONS in json.dumps(fake.requests[3]), run.report()
    assert r["compaction_started_line"].startswith("_(compacting the context (summary, "), run.report()
    assert r["status_while_compacting"].startswith("agentls: "), run.report()
    done = [line for line in r["chat_after_compact"] if "context compacted" in line]
    assert len(done) == 1, run.report()
    sizes = re.fullmatch(r"_\(context compacted \(summary\): ([\d,]+) → ([\d,]+) tokens\)_", done[0])
    assert sizes, run.report()
    after = int(sizes.group(2).replace(",", ""))
    assert not any("compacting the context" in line for line in r["chat_after_compact"]), run.report()
    assert not any(SUMMARY in line for line in r["chat_after_compact"]), run.report()
    notification = f"agentls: compacted {sizes.group(1)} → {sizes.group(2)} tokens ("
    assert r["compact_notification"].startswith(notification), run.report()
    assert r["usage_after_compact"]["used"] == after, run.report()
    assert r["status_after_compact"] == statusline(after, sum(costs)), run.report()
    assert r["context_after_compact"] == r["status_after_compact"].removeprefix("agentls "), run.report()
    assert r["compact_again"] == "agentls: not compacted: nothing to compact yet", run.report()


def test_nvim07_chat_turn_with_float_permission(nvim07: Path, tmp_path: Path) -> None:
    run, fake, app = run_turn(nvim07, tmp_path, "auto")
    check_turn(run, fake, app)
    r = run.result
    assert r["permission_ui"] == "float", run.report()  # The default on 0.7.
    assert r["nvim"].startswith("0.7") or "0.7" in r["nvim"], run.report()
    # The prompt was the plugin's float, naming the tool and showing the answer keys.
    (prompt,) = r["permission"]
    assert prompt["floating"] is True, run.report()
    text = "\n".join(prompt["lines"])
    assert "Edit" in text and "[a] Allow once" in text and "[r] Reject" in text, run.report()
    assert r["status_while_asking"] == "agentls: waiting for permission", run.report()
    assert r["offset_encoding"] == "utf-16", run.report()


def test_nvim_dev_chat_turn_with_ui_select(nvim_dev: Path, tmp_path: Path) -> None:
    # The default on 0.9+ when a UI plugin provides vim.ui.select (the stub stands in for one).
    run, fake, app = run_turn(nvim_dev, tmp_path, "auto", select_stub=True)
    check_turn(run, fake, app)
    r = run.result
    assert r["permission_ui"] == "select", run.report()
    assert r["nvim"].startswith("0.1"), run.report()
    (prompt,) = r["permission"]
    assert prompt["kind"] == "agentls_permission", run.report()
    assert prompt["items"] == ["allow_once", "allow_always", "reject_once", "reject_always"], run.report()
    assert prompt["labels"] == ["Allow once", "Always allow", "Reject", "Always reject"], run.report()
    assert "Edit" in prompt["prompt"], run.report()
    assert r["offset_encoding"] == "utf-8", run.report()


def test_nvim_dev_chat_turn_with_float_permission(nvim_dev: Path, tmp_path: Path) -> None:
    """Without a vim.ui.select plugin the float is the default on new Neovims too (the built-in
    select is the blocking inputlist); it answers from the handler's coroutine."""
    run, fake, app = run_turn(nvim_dev, tmp_path, "auto")
    check_turn(run, fake, app)
    assert run.result["permission_ui"] == "float", run.report()
    (prompt,) = run.result["permission"]
    assert prompt["floating"] is True, run.report()


@pytest.mark.parametrize("which", NVIM_BUILDS)
def test_help_file_has_tags(which: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """`:helptags` accepts doc/agentls.txt (no duplicate tags) and `:help agentls` finds it."""
    nvim: Path = request.getfixturevalue(which)
    copy = tmp_path / "client-nvim"
    shutil.copytree(PLUGIN_DIR, copy, ignore=shutil.ignore_patterns("tags"))
    out = tmp_path / "help.txt"
    env = nvim_env(tmp_path, tmp_path / "home", "http://127.0.0.1:9")
    env.update(AGENTLS_TEST_OUT=str(out), AGENTLS_PLUGIN_DIR=str(copy))
    proc = subprocess.run(
        [str(nvim), "--headless", "--clean", "-n", "-c", f"luafile {HERE / 'nvim' / 'help_check.lua'}"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=env,
        check=False,
    )
    report = f"exit {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}\n" + (
        out.read_text() if out.exists() else "(no output)"
    )
    lines = out.read_text().splitlines()
    assert lines[0] == "helptags=true", report
    for line in lines[1:]:
        assert line.endswith(" agentls.txt") and "=true " in line, report
    tags = (copy / "doc" / "tags").read_text().splitlines()
    assert any(t.startswith("agentls\t") for t in tags), tags


FEATURES_DRIVER = HERE / "nvim" / "features_driver.lua"
FEATURES_APP = 'def greet(name):\n    return "hello " + name\n\n\ndef shout(text):\n    return text.upper()\n'
ASK_REPLY = "It greets someone by name. ASK-DONE\n\n" + "".join(
    f"- Note {n}: greet() joins a fixed prefix and the name, without capitalising it.\n" for n in range(60)
)
"""Long, so that /compact later has something to make smaller (the user's own words are kept)."""
FIX_ISSUE = (
    "---\n"
    "description: Fix a GitHub issue by number\n"
    "argument-hint: <number>\n"
    "---\n"
    "Fix GitHub issue #$ARGUMENTS: read it, change the code, run the tests. FIX-ISSUE-BODY\n"
)
FIX_ISSUE_PROMPT = "Fix GitHub issue #123: read it, change the code, run the tests. FIX-ISSUE-BODY"
FIX_REPLY = "Issue 123 is fixed. FIX-DONE"
SUMMARY_TEXT = "Goal: explain greet() and fix issue 123; both done, nothing left. NVIM-FEATURES-SUMMARY"
SUBAGENT_PROMPT = "Have a helper write the marker file"  # As features_driver.lua types it.
SUBAGENT_TASK = {
    "description": "Write the marker",
    "prompt": "Write SUB-RAN into sub.txt with the shell",
    "subagent_type": "general-purpose",
}
SUB_COMMAND = "echo SUB-RAN > sub.txt"
SUB_REPORT = "SUB-REPORT: wrote sub.txt with the shell"
PARENT_REPLY = "The helper wrote sub.txt. PARENT-DONE"


def is_subagent(body: dict[str, Any]) -> bool:
    """A subagent's request: its system prompt (its definition's) starts by saying so."""
    system = body.get("system") or []
    first = system if isinstance(system, str) else (system[0].get("text", "") if system else "")
    return "subagent" in first.split("\n", 1)[0]


def blocks(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    content = message["content"]
    return [] if isinstance(content, str) else [b for b in content if b.get("type") == kind]


def text_of(message: dict[str, Any]) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(b["text"] for b in blocks(message, "text"))


def result_text(block: dict[str, Any]) -> str:
    inner = block.get("content")
    return inner if isinstance(inner, str) else "".join(c.get("text", "") for c in inner or [])


@pytest.mark.parametrize("which", NVIM_BUILDS)
def test_nvim_ask_stop_sessions_and_findings(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """In one editor session (tests/editors/nvim/features_driver.lua): :AgentlsAsk on a range;
    slash commands from the chat buffer (omnifunc completion, /cost and /context reports without a
    model request); :AgentlsStop; :AgentlsSessions (resume); in the resumed chat the project's
    custom /fix-issue 123 and /compact; a subagent whose Bash call asks permission in the editor
    (the float on 0.7, vim.ui.select on 0.12) and gets the answer; :AgentlsReview and
    :AgentlsFindings."""
    nvim: Path = request.getfixturevalue(which)
    project = new_project(tmp_path, {"app.py": FEATURES_APP, ".claude/commands/fix-issue.md": FIX_ISSUE})
    app = project / "app.py"
    env = nvim_env(tmp_path, tmp_path / "agentls-home", "http://127.0.0.1:9")
    # A project's own commands count only in a trusted workspace (the server's trust store is
    # under its XDG_CONFIG_HOME, as `agentls trust` would write it).
    trust = SettingsSources(project=project, config=Path(env["XDG_CONFIG_HOME"]) / "agentls").trust_store
    assert trust.trust(project)
    finding = {
        "file_path": str(app),
        "line": 2,
        "severity": "warning",
        "code": "naming",
        "message": "FINDING-MARKER: greet does not capitalise the name",
    }

    def route(body: dict[str, Any]) -> Reply | Delay:
        """The reply for whichever turn this request belongs to (the stopped turn may be cancelled
        before or after its request reaches the model, so the order of requests is not fixed)."""
        first, last = str(body["messages"][0]), body["messages"][-1]
        if is_subagent(body):  # Its task: one Bash call that needs permission, then its report.
            if "tool_result" not in str(last):
                return Reply([ToolCall("Bash", {"command": SUB_COMMAND})])
            return Reply([Text(SUB_REPORT)])
        if "agentls_compaction_request" in str(last):  # /compact (in the resumed step-1 session)
            return Reply([Text(f"<summary>{SUMMARY_TEXT}</summary>")])
        if "FIX-ISSUE-BODY" in str(last):  # /fix-issue 123 (in the resumed step-1 session)
            return Reply([Text(FIX_REPLY)])
        if SUBAGENT_PROMPT in first:  # the parent: start the subagent, then reply
            if "tool_result" not in str(last):
                return Reply([ToolCall("Agent", SUBAGENT_TASK)])
            return Reply([Text(PARENT_REPLY)])
        if "What does this do?" in first:  # :AgentlsAsk
            return Reply([Text(ASK_REPLY)])
        if "Take your time" in first:  # stopped with :AgentlsStop long before this answers
            return Delay(Reply([Text("too late")]), before_s=60)
        if "tool_result" not in str(last):  # :AgentlsReview %
            return Reply([ToolCall("ReportFinding", finding)])
        return Reply([Text("One issue found.")])

    with FakeMessagesAPI([route] * 16) as fake:
        run = run_driver(
            nvim,
            FEATURES_DRIVER,
            cwd=project,
            env={**env, "ANTHROPIC_BASE_URL": fake.base_url},
            extra_env={"AGENTLS_TEST_FILE": str(app)},
            out=tmp_path / "result.json",
        )
    r = run.result
    assert r.get("ok") is True, f"the driver did not finish\n{run.report()}"
    assert not r["errors"], run.report()
    # :AgentlsAsk: the selected lines went to the model as an embedded resource, with the question.
    (asked,) = [
        str(b["messages"][0])
        for b in fake.requests
        if "What does this do?" in str(b["messages"][0]) and len(b["messages"]) == 1
    ]
    assert "What does this do?" in asked and "Selected lines 2-3" in asked, run.report()
    assert 'return \\"hello \\" + name' in asked or 'return "hello " + name' in asked, run.report()
    assert app.as_uri() in asked, run.report()
    assert any("ASK-DONE" in line for line in r["ask_chat"]), run.report()
    # Slash commands: omnifunc completes `/co` from agentls/listCommands; `/cost` runs in the
    # server without a model request and its report shows in the chat.
    assert r["omni_start"] == 0, run.report()
    assert r["omni_words"][:3] == ["/compact", "/context", "/cost"], run.report()
    cost_chat = "\n".join(r["cost_chat"])
    assert "/cost:" in cost_chat and "Session cost: $" in cost_chat, run.report()
    assert not any("/cost" in str(b["messages"]) for b in fake.requests), run.report()
    # The project's custom command completes too (`/f`), with its hint, origin and description.
    assert r["omni_f_start"] == 0, run.report()
    fix = [item for item in r["omni_f"] if item["word"] == "/fix-issue"]
    assert fix == [
        {
            "word": "/fix-issue",
            "abbr": "/fix-issue <number>",
            "menu": "project",
            "info": "Fix a GitHub issue by number",
        }
    ], run.report()
    # `/context` reports what fills the window, in the chat, without a model request.
    context_chat = r["context_chat"]
    shown = context_chat[context_chat.index("/context:") :]
    assert re.fullmatch(r"    Context: [\d,]+ of [\d,]+ tokens \(\d+%\) · .+", shown[1]), run.report()
    for label in ("System prompt", "Tool definitions", "Your messages", "The agent's messages", "Free"):
        assert any(line.strip().startswith(label) for line in shown), f"{label}\n{run.report()}"
    assert not any("/context" in str(b["messages"]) for b in fake.requests), run.report()
    # :AgentlsStop: the turn ended as cancelled and the chat says so.
    assert any("turn ended: cancelled" in line for line in r["stop_chat"]), run.report()
    # :AgentlsSessions: the list offered "new" and the sessions; the resumed chat replays history.
    assert r["select_kind"] == "agentls_session", run.report()
    assert r["select_labels"][0] == "+ new session", run.report()
    assert any(r["ask_session"] in label for label in r["select_labels"]), run.report()
    # Wiping the chat buffer closed the session in the server (agentls/closeSession).
    assert r["loaded_after_wipe"] is False, run.report()
    loaded = "\n".join(r["loaded_chat"])
    assert "## You" in loaded and "What does this do?" in loaded and "ASK-DONE" in loaded, run.report()
    # The custom command in the resumed chat: its body went to the model with `123` for
    # $ARGUMENTS, after the resumed conversation; the reply shows in the chat.
    (fixing,) = [b for b in fake.requests if "FIX-ISSUE-BODY" in str(b["messages"][-1])]
    assert "What does this do?" in str(fixing["messages"][0]), run.report()
    sent = text_of(fixing["messages"][-1])
    assert FIX_ISSUE_PROMPT in sent and "$ARGUMENTS" not in sent, run.report()
    custom_chat = "\n".join(r["custom_chat"])
    assert "/fix-issue 123" in custom_chat and FIX_REPLY in custom_chat, run.report()
    # /compact: a summary request reached the model; the chat shows the compaction (the sizes)
    # and the command's report, and not the summary itself.
    (summary_request,) = [b for b in fake.requests if "agentls_compaction_request" in str(b["messages"][-1])]
    assert FIX_ISSUE_PROMPT in str(summary_request["messages"]), run.report()
    compacted = [line for line in r["compact_chat"] if "context compacted" in line]
    assert len(compacted) == 1, run.report()
    sizes = re.fullmatch(r"_\(context compacted \(summary\): ([\d,]+) → ([\d,]+) tokens\)_", compacted[0])
    assert sizes, run.report()
    before, after = (int(sizes.group(n).replace(",", "")) for n in (1, 2))
    assert after < before, run.report()
    compact_shown = r["compact_chat"][r["compact_chat"].index("/compact:") :]
    assert compact_shown[1] == f"    Context compacted {sizes.group(1)} → {sizes.group(2)} tokens.", (
        run.report()
    )
    assert not any("compacting the context" in line for line in r["compact_chat"]), run.report()
    assert not any(SUMMARY_TEXT in line for line in r["compact_chat"]), run.report()
    # A subagent's Bash call asked permission in the editor, as the parent's own calls do: the
    # float on 0.7, vim.ui.select (a UI plugin's) on 0.12; it named Bash and the command.
    (prompt,) = r["permission"]
    if which == "nvim07":
        assert r["permission_ui"] == "float" and prompt["ui"] == "float" and prompt["floating"], run.report()
        prompt_text = "\n".join(prompt["lines"])
        assert "[a] Allow once" in prompt_text and "[r] Reject" in prompt_text, run.report()
    else:
        assert r["permission_ui"] == "select" and prompt["ui"] == "select", run.report()
        assert prompt["items"] == ["allow_once", "allow_always", "reject_once", "reject_always"], run.report()
        assert prompt["labels"] == ["Allow once", "Always allow", "Reject", "Always reject"], run.report()
        prompt_text = prompt["prompt"]
    assert "Bash" in prompt_text and SUB_COMMAND in prompt_text, run.report()
    assert r["status_while_asking"] == "agentls: waiting for permission", run.report()
    # The answer reached the subagent: the command ran, and the subagent's next request carries
    # a tool result (not an error) for that very Bash call.
    sub = [b for b in fake.requests if is_subagent(b)]
    said = json.dumps(sub[-1]["messages"][-1]) if sub else "no subagent request"
    assert (project / "sub.txt").exists(), f"the subagent's command did not run: {said}\n{run.report()}"
    assert (project / "sub.txt").read_text(encoding="utf-8") == "SUB-RAN\n", run.report()
    assert len(sub) == 2, run.report()
    (bash,) = [u for m in sub[1]["messages"] if m["role"] == "assistant" for u in blocks(m, "tool_use")]
    assert bash["name"] == "Bash" and bash["input"]["command"] == SUB_COMMAND, run.report()
    (bash_result,) = blocks(sub[1]["messages"][-1], "tool_result")
    assert bash_result["tool_use_id"] == bash["id"] and not bash_result.get("is_error"), run.report()
    # The parent got the subagent's final text as the Agent tool's result, and finished.
    parent = [b for b in fake.requests if not is_subagent(b) and SUBAGENT_PROMPT in str(b["messages"][0])]
    assert len(parent) == 2, run.report()
    (agent_call,) = blocks(parent[1]["messages"][-2], "tool_use")
    assert agent_call["name"] == "Agent", run.report()
    (agent_result,) = blocks(parent[1]["messages"][-1], "tool_result")
    assert agent_result["tool_use_id"] == agent_call["id"] and not agent_result.get("is_error"), run.report()
    assert SUB_REPORT in result_text(agent_result), run.report()
    # The chat: the permission (in the parent's chat) and its answer, the subagent's Bash call
    # nested (indented) under the Agent call, both done, then the parent's reply.
    chat = r["subagent_chat"]
    (agent_row,) = [i for i, line in enumerate(chat) if line.startswith("- [done] ")]
    (nested_row,) = [i for i, line in enumerate(chat) if line.startswith("  - [")]
    assert nested_row > agent_row, run.report()
    # Under the Agent call: what its subagent used (its two requests), for display.
    assert chat[agent_row + 1].startswith("    general-purpose agent: 2 requests · "), run.report()
    assert chat[agent_row] == "- [done] Agent (general-purpose): Write the marker", run.report()
    assert chat[nested_row] == f"  - [done] general-purpose › Bash: {SUB_COMMAND}", run.report()
    assert not any("turn ended" in line for line in chat), run.report()  # It ended normally.
    assert "- [permission] " in "\n".join(chat) and "    answer: Allow once" in chat, run.report()
    assert any(PARENT_REPLY in line for line in chat[nested_row:]), run.report()
    assert r["pending_permissions"] == 0, run.report()
    # :AgentlsReview % and :AgentlsFindings: a diagnostic with source agentls, then the quickfix list.
    (diag,) = [d for d in r["diagnostics"] if d["source"] == "agentls"]
    assert diag["lnum"] == 1 and "FINDING-MARKER" in diag["message"], run.report()
    assert r["quickfix_title"] == "agentls findings", run.report()
    assert [q["lnum"] for q in r["quickfix"]] == [2], run.report()
    assert "FINDING-MARKER" in r["quickfix"][0]["text"] and r["quickfix"][0]["bufnr"], run.report()

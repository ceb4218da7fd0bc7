"""Review findings end to end: `agentls.review` → the agent's ReportFinding calls → diagnostics
→ a "Fix with agent" code action → a turn that fixes the code → the finding goes away.
"""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types as T

from tests.fakeapi import FakeMessagesAPI, Reply, Text, ToolCall
from tests.lsp.harness import MAIN_PRESETS, Env, Preset, presets, tool_results, wait_until

pytestmark = pytest.mark.slow

SOURCE = "import os\n\n\ndef average(xs):  # «mean» 📈\n    return sum(xs) / len(xs)\n"
FIXED = "import os\n\n\ndef average(xs):  # «mean» 📈\n    return sum(xs) / len(xs) if xs else 0.0\n"


def finding(path: str, line: int, **extra: Any) -> ToolCall:
    return ToolCall(
        "ReportFinding",
        {
            "file_path": path,
            "line": line,
            "severity": "error",
            "code": "zero-division",
            "message": "average([]) divides by zero.",
            **extra,
        },
    )


@presets(*MAIN_PRESETS)
async def test_review_finding_becomes_a_diagnostic_and_fix_with_agent_clears_it(
    env: Env, preset: Preset
) -> None:
    app = env.root / "stats.py"
    app.write_text(SOURCE, encoding="utf-8")
    script = [
        # The review session.
        Reply([finding(str(app), 4, end_line=5)]),
        Reply([Text("One issue: an empty list crashes average().")]),
        # The fix session, started from the code action.
        Reply([ToolCall("Read", {"file_path": str(app)})]),
        Reply(
            [
                ToolCall(
                    "Edit",
                    {
                        "file_path": str(app),
                        "old_string": "    return sum(xs) / len(xs)\n",
                        "new_string": "    return sum(xs) / len(xs) if xs else 0.0\n",
                    },
                )
            ]
        ),
        Reply([Text("Fixed: average([]) is now 0.0.")]),
    ]
    with FakeMessagesAPI(script) as fake:
        async with env.editor(preset, fake, options={"permissionMode": "acceptEdits"}) as editor:
            uri = editor.open(app)
            started = await editor.execute_command("agentls.review", [{"uri": uri}])
            assert isinstance(started, dict) and started["sessionId"]

            diagnostics = await wait_until(lambda: editor.client.diagnostics.get(uri), what="the finding")
            (diagnostic,) = diagnostics
            assert diagnostic.source == "agentls"
            assert diagnostic.code == "zero-division"
            assert diagnostic.severity == T.DiagnosticSeverity.Error
            assert diagnostic.message == "average([]) divides by zero."
            assert isinstance(diagnostic.data, dict) and diagnostic.data["findingId"]
            assert (diagnostic.range.start.line, diagnostic.range.end.line) == (3, 4)
            await wait_until(
                lambda: any("empty list crashes" in m.message for m in editor.client.messages),
                what="the review's summary",
            )

            # The user adds a line above: the finding moves with its code.
            editor.type(uri, "# stats helpers\n" + editor.text(uri))
            await wait_until(
                lambda: [d.range.start.line for d in editor.client.diagnostics.get(uri, [])] == [4],
                what="the finding to move down a line",
            )
            (moved,) = editor.client.diagnostics[uri]
            assert moved.data == diagnostic.data

            # A code action request with the diagnostic in its context offers the fix.
            actions = await editor.code_actions(uri, moved.range, [moved])
            fixes = [a for a in actions if a["title"].startswith("Fix with agent: average([])")]
            assert len(fixes) == 1, [a["title"] for a in actions]
            (fix,) = fixes
            assert fix["kind"] == "quickfix"
            assert fix["command"]["command"] == "agentls.ask"
            assert "edit" not in fix  # Nothing is computed until the user picks the action.

            # Executing it runs a turn that fixes the code; the edit clears the finding.
            await editor.execute_command(fix["command"]["command"], fix["command"]["arguments"])
            await wait_until(lambda: len(editor.client.diagnostics[uri]) == 0, what="the finding to clear")
            await wait_until(
                lambda: any("Fixed: average([])" in m.message for m in editor.client.messages),
                what="the fix's summary",
            )
            buffer = editor.text(uri)
        fake.assert_consumed()

    assert buffer == "# stats helpers\n" + FIXED
    fix_prompt = fake.requests[2]["messages"][0]["content"]
    fix_prompt_text = fix_prompt if isinstance(fix_prompt, str) else fix_prompt[0]["text"]
    assert "average([]) divides by zero." in fix_prompt_text
    (edit_result,) = tool_results(fake.requests[4])
    assert not edit_result.get("is_error"), edit_result

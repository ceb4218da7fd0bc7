"""The demo's scripted model: what a good agent does with the sample project, step by step.

It is scripted, not intelligent, but it is honest: later steps read the real tool results from
the request (the test output, the edit result) and the final report says what actually happened.
"""

from __future__ import annotations

from pathlib import Path

from agentls.core.messages import ToolResultBlock
from agentls.core.model import ModelRequest
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall

TEST_COMMAND = "python3 -m unittest -v 2>&1 | tail -n 15"

BUGGY = '    return len(text.split(" "))'
FIXED = "    return len(text.split())"


def _last_results(request: ModelRequest) -> list[ToolResultBlock]:
    last = request.messages[-1]
    return [b for b in last.content if isinstance(b, ToolResultBlock)]


def _plan(*states: str) -> ToolCall:
    items = [
        ("Reproduce the failing test", "Reproducing the failing test"),
        ("Fix word_count", "Fixing word_count"),
        ("Run the tests again", "Running the tests again"),
    ]
    return ToolCall(
        "TodoWrite",
        {
            "todos": [
                {"content": c, "activeForm": a, "status": s} for (c, a), s in zip(items, states, strict=True)
            ]
        },
    )


def demo_model(project: Path) -> ScriptedModel:
    source = str(project / "textstats.py")
    tests = str(project / "test_textstats.py")

    def after_first_run(request: ModelRequest) -> Reply:
        output = _last_results(request)[-1].content
        failing = "FAILED" in output or "FAIL:" in output
        lead = (
            'The run confirms it: `test_repeated_whitespace` fails because `split(" ")` counts the '
            'empty strings between repeated spaces, and `word_count("")` returns 1. `str.split()` '
            "with no argument splits on any run of whitespace and drops empty strings."
        )
        if not failing:
            lead = "Unexpectedly the tests did not fail; I'll still make word_count split on any whitespace."
        return Reply(
            [
                Text(lead),
                _plan("completed", "in_progress", "pending"),
                ToolCall("Edit", {"file_path": source, "old_string": BUGGY, "new_string": FIXED}),
            ]
        )

    def after_edit(request: ModelRequest) -> Reply:
        edit = _last_results(request)[-1]
        if edit.is_error:
            return Reply([Text(f"The edit failed, so I stopped here: {edit.content}")])
        return Reply(
            [
                Text("Edited. Running the tests again."),
                _plan("completed", "completed", "in_progress"),
                ToolCall("Bash", {"command": TEST_COMMAND, "description": "Run the unit tests"}),
            ]
        )

    def report(request: ModelRequest) -> Reply:
        output = _last_results(request)[-1].content
        if "OK" in output and "FAILED" not in output:
            return Reply(
                [
                    Text(
                        "Done. `word_count` in textstats.py now uses `text.split()`, so runs of spaces, "
                        "tabs and newlines separate words and the empty string has 0 words. All 4 tests pass "
                        "(`python3 -m unittest -v`)."
                    )
                ]
            )
        return Reply([Text("The tests still fail after my edit; here is the output:\n\n" + output)])

    return ScriptedModel(
        model_name="scripted-demo",
        steps=[
            Reply(
                [
                    Text("I'll start by reading the module and its tests."),
                    _plan("in_progress", "pending", "pending"),
                    ToolCall("Read", {"file_path": source}),
                    ToolCall("Read", {"file_path": tests}),
                ]
            ),
            Reply(
                [
                    Text("`word_count` splits on a single space. Let me run the tests to see the failure."),
                    ToolCall("Bash", {"command": TEST_COMMAND, "description": "Run the unit tests"}),
                ]
            ),
            after_first_run,
            after_edit,
            report,
        ],
    )

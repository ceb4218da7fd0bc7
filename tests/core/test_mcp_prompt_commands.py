"""MCP prompts as slash commands: names, hints, and how typed words become arguments."""

from __future__ import annotations

import pytest

from agentls.core.commands.mcp_prompts import McpPromptError, command_name, prompt_arguments, with_mcp_prompts
from agentls.core.commands.registry import builtin_registry
from agentls.mcp.connection import PromptArgument, PromptInfo

REVIEW = PromptInfo(
    "review",
    "Review a file",
    (PromptArgument("path", "", required=True), PromptArgument("focus", "", required=False)),
)


def test_words_fill_the_arguments_in_order_and_the_last_takes_the_rest() -> None:
    assert prompt_arguments(REVIEW, "app.py") == {"path": "app.py"}
    assert prompt_arguments(REVIEW, "app.py security issues") == {
        "path": "app.py",
        "focus": "security issues",
    }
    assert prompt_arguments(REVIEW, '"my file.py" speed') == {"path": "my file.py", "focus": "speed"}


def test_a_missing_required_argument_and_arguments_for_none_are_errors() -> None:
    with pytest.raises(McpPromptError, match=r"needs path \(usage: <path> \[focus\]\)"):
        prompt_arguments(REVIEW, "")
    with pytest.raises(McpPromptError, match="takes no arguments"):
        prompt_arguments(PromptInfo("hello", "", ()), "extra")
    assert prompt_arguments(PromptInfo("hello", "", ()), "") == {}


def test_prompts_join_the_registry_with_claude_codes_names() -> None:
    assert command_name("git hub", "make pr!") == "mcp__git hub__make_pr_"  # Server names are already safe.
    registry = with_mcp_prompts(builtin_registry(), [("docs", REVIEW)])
    info = registry.info("mcp__docs__review")
    assert info is not None and info.source == "mcp" and info.argument_hint == "<path> [focus]"
    assert info.label == "mcp:docs" and info.calls_model
    assert "mcp__docs__review" in registry.names()

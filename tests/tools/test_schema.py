"""The model sees Claude Code's tool names and input shapes, flattened like Claude Code sends them."""

from __future__ import annotations

import json

from agentls.tools.registry import builtin_tools

CLAUDE_CODE_SCHEMAS = {
    "Agent": (
        {"description", "prompt", "subagent_type", "model", "run_in_background", "resume"},
        ["description", "prompt", "subagent_type"],
    ),
    "Read": ({"file_path", "offset", "limit"}, ["file_path"]),
    "Write": ({"file_path", "content"}, ["file_path", "content"]),
    "Edit": (
        {"file_path", "old_string", "new_string", "replace_all"},
        ["file_path", "old_string", "new_string"],
    ),
    "Glob": ({"pattern", "path"}, ["pattern"]),
    "Grep": (
        {
            "pattern",
            "path",
            "glob",
            "type",
            "output_mode",
            "-i",
            "-n",
            "-A",
            "-B",
            "-C",
            "multiline",
            "head_limit",
        },
        ["pattern"],
    ),
    "Bash": ({"command", "timeout", "description"}, ["command"]),
    "TodoWrite": ({"todos"}, ["todos"]),
    "Skill": ({"skill", "args"}, ["skill"]),
}


def test_builtin_tools_match_claude_code() -> None:
    registry = builtin_tools()
    assert list(registry.names()) == list(CLAUDE_CODE_SCHEMAS)
    for tool in registry.tools():
        schema = tool.input_schema()
        props, required = CLAUDE_CODE_SCHEMAS[tool.name]
        assert set(schema["properties"]) == props, tool.name
        assert sorted(schema.get("required", [])) == sorted(required), tool.name
        assert schema["additionalProperties"] is False


def test_schemas_are_flat() -> None:
    for tool in builtin_tools().tools():
        text = json.dumps(tool.input_schema())
        for noise in ('"anyOf"', '"$ref"', '"$defs"', '"title"', '"default": null'):
            assert noise not in text, (tool.name, noise)


def test_optional_fields_keep_their_type_and_null_still_validates() -> None:
    grep = builtin_tools().get("Grep")
    assert grep is not None
    schema = grep.input_schema()
    assert schema["properties"]["-A"]["type"] == "integer"
    assert schema["properties"]["output_mode"]["enum"] == ["content", "files_with_matches", "count"]
    grep.parse({"pattern": "x", "path": None})


def test_todo_items_are_inlined() -> None:
    todo = builtin_tools().get("TodoWrite")
    assert todo is not None
    item = todo.input_schema()["properties"]["todos"]["items"]
    assert set(item["properties"]) == {"content", "status", "activeForm"}

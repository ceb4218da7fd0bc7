"""What a model (or a broken stream) can send that must not end a turn: undecodable bytes in
file text and tool input, tool input nested hundreds of levels deep, repeated tool_use ids."""

from __future__ import annotations

import json
from pathlib import Path

from agentls.cli.render import json_renderer
from agentls.core.events import EVENT_ADAPTER, ToolCallFinished, TurnEnded
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.core.tool_exec import input_digest
from agentls.store.jsonl import json_text, read_jsonl
from agentls.store.sessions import SessionStore
from tests.core.context.conversations import assert_valid
from tests.core.fakes import ScriptedApprover, collect


async def _session(project: Path, model: ScriptedModel, home: Path):  # type: ignore[no-untyped-def]
    from agentls.core.config import AgentConfig
    from agentls.core.session import Session, SessionDeps
    from agentls.workspace.disk import DiskWorkspace

    deps = SessionDeps(
        config=AgentConfig(model="m", permission_mode="bypassPermissions", retry_base_delay_s=0.0),
        model=model,
        workspace=DiskWorkspace(project),
        approver=ScriptedApprover([]),
        store=SessionStore(home),
    )
    return await Session.start(deps)


def test_json_text_escapes_lone_surrogates_and_round_trips() -> None:
    value = {"text": "caf\udce9 and caf\u00e9 and \U0001f600"}
    text = json_text(value)
    text.encode("utf-8")  # Always encodable.
    assert json.loads(text) == value
    assert "café" in text and "\\udce9" in text
    shown = json_text(value, lossless=False)
    assert json.loads(shown) == {"text": "caf\ufffd and caf\u00e9 and \U0001f600"}
    assert input_digest(value) == input_digest(dict(value))


async def test_editing_a_latin1_file_and_a_surrogate_in_tool_input_serialise_everywhere(
    project: Path, tmp_path: Path
) -> None:
    path = project / "legacy.txt"
    path.write_bytes(b"caf\xe9 au lait\n")
    model = ScriptedModel(
        [
            Reply([ToolCall("Read", {"file_path": str(path)})]),
            Reply(
                [ToolCall("Edit", {"file_path": str(path), "old_string": "au lait", "new_string": "noir"})]
            ),
            Reply([ToolCall("Grep", {}, raw_json='{"pattern": "caf\\udce9"}')]),
            Reply([Text("done")]),
        ]
    )
    session = await _session(project, model, tmp_path / "home")
    events = await collect(session, "edit it")
    assert isinstance(events[-1], TurnEnded) and events[-1].stop.kind == "end_turn", events[-1]
    assert path.read_bytes() == b"caf\xe9 noir\n"
    lines: list[str] = []

    class Out:
        def write(self, text: str) -> None:
            lines.append(text)

        def flush(self) -> None:
            pass

    render = json_renderer(Out())  # type: ignore[arg-type]
    for event in events:
        render(event)
    for line in lines:
        line.encode("utf-8")
        EVENT_ADAPTER.validate_json(line)  # Strict parsers too: lone surrogates are shown as U+FFFD.
    assert any("caf\ufffd au lait" in line for line in lines)
    edit = next(e for e in events if isinstance(e, ToolCallFinished) and e.name == "Edit")
    assert edit.old_text is not None and "\udce9" in edit.old_text
    session.close()
    assert len(read_jsonl(session.transcript).records) > 5  # type: ignore[arg-type]


async def test_tool_input_nested_too_deep_is_an_error_result_not_the_end_of_the_turn(
    project: Path, tmp_path: Path
) -> None:
    deep = "[" * 400 + "]" * 400
    very_deep = "[" * 100_000 + "]" * 100_000
    model = ScriptedModel(
        [
            Reply([ToolCall("Read", {}, raw_json=f'{{"file_path": {deep}}}')]),
            Reply([ToolCall("Read", {}, raw_json=f'{{"file_path": {very_deep}}}')]),
            Reply([Text("ok")]),
        ]
    )
    session = await _session(project, model, tmp_path / "home")
    events = await collect(session, "go")
    assert isinstance(events[-1], TurnEnded) and events[-1].stop.kind == "end_turn", events[-1]
    errors = [e for e in events if isinstance(e, ToolCallFinished)]
    assert len(errors) == 2 and all(e.is_error and "nested more than 64" in e.output for e in errors)


async def test_repeated_tool_use_ids_are_made_unique_before_they_are_sent_back(
    project: Path, tmp_path: Path
) -> None:
    (project / "a.txt").write_text("a\n")
    read = {"file_path": str(project / "a.txt")}
    model = ScriptedModel(
        [
            Reply([ToolCall("Read", read, id="toolu_same"), ToolCall("Read", read, id="toolu_same")]),
            Reply([Text("ok")]),
        ]
    )
    session = await _session(project, model, tmp_path / "home")
    events = await collect(session, "go")
    assert isinstance(events[-1], TurnEnded) and events[-1].stop.kind == "end_turn"
    sent = model.requests[1].messages
    assert_valid(sent)
    ids = [b.id for b in sent[1].tool_uses()]
    assert ids == ["toolu_same", "toolu_same_2"]
    assert len({e.call_id for e in events if isinstance(e, ToolCallFinished)}) == 2

"""The language server's handlers, each called alone: a `ServerState` over a fake client channel, no
JSON-RPC and no server process (the pytest-lsp suites drive the same handlers through a real
connection). Turns run against the loopback fake Messages API."""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as T
from pygls.exceptions import JsonRpcInvalidParams

from agentls.lsp import (
    agent_requests,
    code_actions,
    commands,
    compaction,
    document_sync,
    lifecycle,
    permission_commands,
    rewind,
    slash_commands,
)
from agentls.lsp import protocol as P
from agentls.lsp.client_features import ClientFeatures
from agentls.lsp.documents import path_to_uri
from agentls.lsp.findings import Finding
from agentls.lsp.handlers import HANDLERS, Command, Feature, bind
from agentls.lsp.params import SessionBusyError, SessionNotFoundError
from agentls.lsp.server import build_server
from agentls.lsp.state import ServerState
from agentls.policy.loader import SettingsSources
from tests.fakeapi import Delay, FakeMessagesAPI, Reply, Text


class FakeChannel:
    """A client that records what the server sends it and answers requests from `answers`."""

    def __init__(self, state: ServerState) -> None:
        self._state = state
        self.notes: list[tuple[str, Any]] = []
        self.messages: list[tuple[T.MessageType, str]] = []
        self.logs: list[str] = []
        self.requests: list[tuple[str, Any]] = []
        self.answers: dict[str, Callable[[Any], Any]] = {}

    @property
    def features(self) -> ClientFeatures:
        return self._state.features

    def notify(self, method: str, params: Any) -> None:
        self.notes.append((method, params))

    async def request(self, method: str, params: Any) -> Any:
        self.requests.append((method, params))
        answer = self.answers.get(method)
        if answer is None:
            raise RuntimeError(f"the fake client does not answer {method}")
        return answer(params)

    def show_message(self, kind: T.MessageType, text: str) -> None:
        self.messages.append((kind, text))

    def log(self, text: str, kind: T.MessageType = T.MessageType.Log) -> None:
        self.logs.append(text)

    async def show_document(self, params: T.ShowDocumentParams) -> T.ShowDocumentResult:
        return T.ShowDocumentResult(success=False)

    async def progress_begin(self, title: str, on_cancel: Callable[[], None]) -> str | None:
        return None

    def progress_report(self, token: str, message: str) -> None:
        pass

    def progress_end(self, token: str, message: str) -> None:
        pass

    def updates(self, session_id: str) -> list[dict[str, Any]]:
        return [p["update"] for m, p in self.notes if m == P.SESSION_UPDATE and p["sessionId"] == session_id]


def make_state(root: Path | None = None, **features: Any) -> tuple[ServerState, FakeChannel]:
    channels: list[FakeChannel] = []

    def connect(state: ServerState) -> FakeChannel:
        channels.append(FakeChannel(state))
        return channels[0]

    state = ServerState(connect)
    state.features = ClientFeatures(**features)
    state.root = root
    return state, channels[0]


def open_document(state: ServerState, uri: str, text: str, *, version: int = 1) -> None:
    item = T.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)
    document_sync.did_open(state, T.DidOpenTextDocumentParams(text_document=item))


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMessagesAPI]:
    with FakeMessagesAPI([]) as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        yield fake


def init_params(root: Path | None, encodings: list[str] | None = None) -> T.InitializeParams:
    general = T.GeneralClientCapabilities(position_encodings=encodings) if encodings else None
    return T.InitializeParams(
        capabilities=T.ClientCapabilities(
            general=general,
            workspace=T.WorkspaceClientCapabilities(
                apply_edit=True, workspace_edit=T.WorkspaceEditClientCapabilities(document_changes=True)
            ),
            experimental={"agentls": {"version": 1, "sessionUpdate": True}},
        ),
        root_uri=path_to_uri(root) if root else None,
        initialization_options={"maxTurns": 3},
    )


# --- The table ----------------------------------------------------------------------------------


def test_every_handler_is_a_module_level_function_registered_once() -> None:
    names = [e.method if isinstance(e, Feature) else e.name for e in HANDLERS]
    assert len(names) == len(set(names))
    for entry in HANDLERS:
        module = importlib.import_module(entry.handler.__module__)
        assert getattr(module, entry.handler.__name__) is entry.handler, entry
        first = next(iter(inspect.signature(entry.handler).parameters))
        assert first == "state", entry  # Handlers get the state, never the server.
    spelled = {v for k, v in vars(P).items() if k.isupper() and isinstance(v, str)}
    for name in names:  # Our names are spelled in protocol.py only; the rest are the LSP's.
        assert name in spelled or not name.startswith("agentls"), name


def test_build_server_registers_exactly_the_table() -> None:
    server = build_server()
    features = set(server.protocol.fm.features)
    commands_ = set(server.protocol.fm.commands)
    assert commands_ == {e.name for e in HANDLERS if isinstance(e, Command)}
    assert {e.method for e in HANDLERS if isinstance(e, Feature)} <= features
    assert not {f for f in features if f.startswith("agentls")} - {
        e.method for e in HANDLERS if isinstance(e, Feature)
    }


async def test_bind_keeps_plain_handlers_plain_and_passes_arguments_through() -> None:
    state, _ = make_state()
    seen: list[tuple[Any, ...]] = []

    def plain(state_: ServerState, *args: Any) -> str:
        seen.append((state_, *args))
        return "plain"

    async def coro(state_: ServerState, *args: Any) -> str:
        seen.append((state_, *args))
        return "coro"

    bound_plain, bound_coro = bind(plain, state), bind(coro, state)
    assert not inspect.iscoroutinefunction(bound_plain) and inspect.iscoroutinefunction(bound_coro)
    assert bound_plain(1, {"a": 2}) == "plain" and await bound_coro(3) == "coro"
    assert seen == [(state, 1, {"a": 2}), (state, 3)]
    assert bound_plain.__name__ == "plain"


# --- Lifecycle and documents ---------------------------------------------------------------------


async def test_initialize_reads_the_client_and_shutdown_closes_sessions(project: Path) -> None:
    state, _ = make_state()
    lifecycle.initialize(state, init_params(project, ["utf-32", "utf-8"]))
    assert state.root == project
    features = state.features
    assert features.position_encoding == "utf-32" and features.versioned_edits and features.session_update
    assert features.options == {"maxTurns": 3}
    lifecycle.shutdown(state, None)
    assert state.sessions.active() == []


def test_document_notifications_reach_the_store_and_every_listener() -> None:
    state, _ = make_state()
    seen: list[str] = []

    def broken(uri: str, changes: Any) -> None:
        raise RuntimeError("a broken listener")

    state.change_listeners[:0] = [broken]
    state.change_listeners.append(lambda uri, changes: seen.append(uri))
    open_document(state, "file:///w.py", "x", version=1)
    document_sync.did_change(
        state,
        T.DidChangeTextDocumentParams(
            text_document=T.VersionedTextDocumentIdentifier(uri="file:///w.py", version=2),
            content_changes=[T.TextDocumentContentChangeWholeDocument(text="y")],
        ),
    )
    identifier = T.TextDocumentIdentifier(uri="file:///w.py")
    document_sync.did_save(state, T.DidSaveTextDocumentParams(text_document=identifier))
    doc = state.documents.get("file:///w.py")
    assert doc is not None and doc.text == "y" and doc.version == 2 and seen == ["file:///w.py"]
    assert state.documents.save_count("file:///w.py") == 1
    document_sync.did_close(state, T.DidCloseTextDocumentParams(text_document=identifier))
    assert state.documents.get("file:///w.py") is None


def test_an_edit_above_a_finding_moves_its_diagnostic() -> None:
    """The findings store is one of the state's change listeners: an edit re-publishes."""
    state, channel = make_state()
    uri = "file:///w.py"
    open_document(state, uri, "a\nb\nc\n", version=1)
    finding = Finding.new(
        session_id="s", uri=uri, line=2, end_line=None, severity="warning", code="x", message="on c"
    )
    state.findings.replace(uri, [finding])
    insert = T.TextDocumentContentChangePartial(
        range=T.Range(start=T.Position(line=0, character=0), end=T.Position(line=0, character=0)),
        text="new\n",
    )
    document_sync.did_change(
        state,
        T.DidChangeTextDocumentParams(
            text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=2), content_changes=[insert]
        ),
    )
    published = [p for m, p in channel.notes if m == T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]
    # `line` is 1-based, as the model reports it; diagnostics are 0-based.
    assert [[d.range.start.line for d in p.diagnostics] for p in published] == [[1], [2]]
    assert published[-1].version == 2


# --- agentls/* requests ---------------------------------------------------------------------------


async def test_session_requests_refuse_what_does_not_exist(project: Path) -> None:
    state, _ = make_state(project)
    with pytest.raises(SessionNotFoundError):
        await agent_requests.prompt(state, {"sessionId": "nope", "prompt": [{"type": "text", "text": "hi"}]})
    with pytest.raises(SessionNotFoundError):
        await agent_requests.load_session(state, {"sessionId": "nope"})
    with pytest.raises(SessionNotFoundError):
        await rewind.list_checkpoints(state, {"sessionId": "nope"})
    with pytest.raises(SessionNotFoundError):
        await compaction.compact_request(state, {"sessionId": "nope"})
    assert await agent_requests.cancel(state, {"sessionId": "nope"}) is None  # A no-op, as in ACP.
    assert await agent_requests.close_session(state, {"sessionId": "nope"}) == {"closed": False}
    with pytest.raises(JsonRpcInvalidParams, match="sessionId"):
        await agent_requests.prompt(state, {"prompt": []})
    with pytest.raises(JsonRpcInvalidParams, match="absolute path"):
        await agent_requests.new_session(state, {"cwd": "relative/dir"})


async def test_a_prompt_streams_updates_and_load_replays_them(
    project: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.script.append(Reply([Text("Hello from the fake model.")]))
    state, channel = make_state(project, rich=True, session_update=True)
    session_id = (await agent_requests.new_session(state, {"cwd": str(project)}))["sessionId"]
    prompt = {"sessionId": session_id, "prompt": [{"type": "text", "text": "say hello"}]}
    assert (await agent_requests.prompt(state, prompt))["stopReason"] == "end_turn"
    live = channel.updates(session_id)
    chunks = [u["content"]["text"] for u in live if u["sessionUpdate"] == "agent_message_chunk"]
    assert "".join(chunks) == "Hello from the fake model."
    listed = (await agent_requests.list_sessions(state, None))["sessions"]
    assert [(s["sessionId"], s["loaded"], s["title"]) for s in listed] == [(session_id, True, "say hello")]
    assert await agent_requests.close_session(state, {"sessionId": session_id}) == {"closed": True}

    # A new server (state) loads it from the transcript and replays the conversation.
    again, channel2 = make_state(project, rich=True, session_update=True)
    assert await agent_requests.load_session(again, {"sessionId": session_id}) == {"sessionId": session_id}
    kinds = [u["sessionUpdate"] for u in channel2.updates(session_id)]
    assert kinds == ["user_message_chunk", "checkpoint", "agent_message_chunk", "usage_update"]
    again.sessions.close_all()


async def test_a_second_prompt_while_one_runs_is_busy(project: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.script.append(Delay(Reply([Text("slow")]), before_s=2.0))
    state, _ = make_state(project)
    session_id = (await agent_requests.new_session(state, {}))["sessionId"]
    prompt = {"sessionId": session_id, "prompt": [{"type": "text", "text": "one"}]}
    first = asyncio.create_task(agent_requests.prompt(state, prompt))
    for _ in range(200):
        if state.sessions.get(session_id).busy:
            break
        await asyncio.sleep(0.01)
    with pytest.raises(SessionBusyError):
        await agent_requests.prompt(state, prompt)
    await agent_requests.cancel(state, {"sessionId": session_id})
    assert (await first)["stopReason"] == "cancelled"
    state.sessions.close_all()


# --- Commands --------------------------------------------------------------------------------------


async def test_commands_check_their_argument_object(project: Path) -> None:
    state, _ = make_state(project)
    with pytest.raises(JsonRpcInvalidParams, match="one argument object"):
        await commands.ask(state, {"prompt": "a"}, {"prompt": "b"})
    with pytest.raises(JsonRpcInvalidParams, match="prompt"):
        await commands.ask(state, {})
    with pytest.raises(JsonRpcInvalidParams, match="cannot read"):
        await commands.ask(state, {"prompt": "explain", "uri": path_to_uri(project / "missing.py")})
    with pytest.raises(JsonRpcInvalidParams, match="no such file"):
        await commands.review(state, {"uri": path_to_uri(project / "missing.py")})
    with pytest.raises(SessionNotFoundError):
        await rewind.rewind_command(state, {"sessionId": "nope"})
    with pytest.raises(JsonRpcInvalidParams, match="name"):
        await slash_commands.command(state, {"name": "not a name"})


async def test_ask_answers_at_once_and_shows_the_turns_answer(
    project: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.script.append(Reply([Text("It prints hi.")]))
    (project / "app.py").write_text("print('hi')\n")
    state, channel = make_state(project)
    uri = path_to_uri(project / "app.py")
    selection = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 11}}
    answer = await commands.ask(state, {"prompt": "Explain this", "uri": uri, "range": selection})
    assert set(answer) == {"sessionId"}
    await asyncio.gather(*state.background)
    assert any("It prints hi." in text for _, text in channel.messages), channel.messages
    request = fake_api.requests[0]
    assert "print('hi')" in str(request["messages"][-1]["content"])  # The selection is in the prompt.
    state.sessions.close_all()


async def test_a_local_slash_command_answers_with_its_output(
    project: Path, fake_api: FakeMessagesAPI
) -> None:
    state, channel = make_state(project)
    result = await slash_commands.command(state, {"name": "/cost"})
    assert result["command"] == "cost" and result["stopReason"] == "end_turn" and result["text"]
    assert channel.messages and channel.messages[-1][1].startswith("agentls /cost:")
    listing = await slash_commands.list_commands(state, {})
    assert {"cost", "compact", "rewind"} <= {c["name"] for c in listing["commands"]}
    assert fake_api.requests == []
    state.sessions.close_all()


async def test_trust_records_the_folder_and_permissions_reports_it(project: Path) -> None:
    state, channel = make_state(project)
    answer = await permission_commands.trust(state, {})
    assert answer == {"folder": str(project), "trusted": True, "changed": True}
    assert SettingsSources(project=project).trust_store.is_trusted(project)
    report = await permission_commands.permissions(state, {"show": False})
    assert report["trusted"] is True and channel.messages == []
    with pytest.raises(JsonRpcInvalidParams, match="absolute path"):
        await permission_commands.trust(state, {"cwd": "here"})


# --- Code actions ----------------------------------------------------------------------------------


async def test_code_actions_offer_the_instruction_and_the_finding(project: Path) -> None:
    state, _ = make_state(project)
    uri = path_to_uri(project / "app.py")
    text = "x = 1\n# agent: rename x to count\ny = x\n"
    open_document(state, uri, text, version=4)
    finding = Finding.new(
        session_id="s",
        uri=uri,
        line=2,
        end_line=None,
        severity="warning",
        code="name",
        message="unclear name",
    )
    state.findings.replace(uri, [finding])
    diagnostic = T.Diagnostic(
        range=T.Range(start=T.Position(line=2, character=0), end=T.Position(line=2, character=5)),
        message="unclear name",
        source="agentls",
        data={"findingId": finding.id},
    )
    params = T.CodeActionParams(
        text_document=T.TextDocumentIdentifier(uri=uri),
        range=T.Range(start=T.Position(line=0, character=0), end=T.Position(line=2, character=0)),
        context=T.CodeActionContext(diagnostics=[diagnostic]),
    )
    actions = await code_actions.code_action(state, params)
    assert actions is not None
    titles = [a.title for a in actions]
    assert titles[0] == "Run agent instruction: rename x to count"
    assert any(t.startswith("Fix with agent: unclear name") for t in titles)
    assert all(a.command is not None and a.command.command == P.ASK_COMMAND for a in actions)


async def test_removing_an_instruction_sends_a_versioned_edit(project: Path) -> None:
    state, channel = make_state(project, apply_edit=True, versioned_edits=True)
    uri = path_to_uri(project / "app.py")
    open_document(state, uri, "a\n# agent: do it\nb\n", version=7)
    channel.answers[T.WORKSPACE_APPLY_EDIT] = lambda params: {"applied": True}
    assert await code_actions.remove_instruction(state, uri, "# agent: do it", 1)
    ((method, params),) = channel.requests
    change = params.edit.document_changes[0]
    assert method == T.WORKSPACE_APPLY_EDIT and change.text_document.version == 7
    assert change.edits[0].range.start.line == 1 and change.edits[0].range.end.line == 2
    # A refusal and a comment that changed are logged, not raised.
    channel.answers[T.WORKSPACE_APPLY_EDIT] = lambda params: {"applied": False}
    assert not await code_actions.remove_instruction(state, uri, "# agent: do it", 1)
    assert not await code_actions.remove_instruction(state, uri, "# agent: gone", 1)
    assert len(channel.logs) == 2

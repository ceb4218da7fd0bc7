"""Memory files: which are found, in which order, what their `@` imports bring in (and what they
may not), rules with `paths:` and nested directories loaded as the agent touches files; and,
through a session, exactly which texts reach which request."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentls.core.config import AgentConfig
from agentls.core.memory import SessionMemory
from agentls.core.memory_files import MAX_FILE_CHARS, Places
from agentls.core.model import ModelRequest
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall
from agentls.core.session import Session, SessionDeps
from agentls.policy.loader import SettingsSources
from agentls.workspace.disk import DiskWorkspace
from agentls.workspace.port import ProcessResult, ProcessSpec
from tests.core.fakes import ScriptedApprover, collect


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "home"
        self.config = tmp_path / "home" / ".config" / "agentls"
        self.repo = tmp_path / "repo"
        self.root = self.repo / "service"
        self.root.mkdir(parents=True)
        self.managed = tmp_path / "etc" / "CLAUDE.md"

    def memory(self, *, trusted: bool = False, hidden: tuple[Path, ...] = ()) -> SessionMemory:
        places = Places(
            home=self.home,
            config=self.config,
            managed=(self.managed,),
            trusted=trusted,
            hidden=lambda p: p in hidden,
        )
        return SessionMemory(DiskWorkspace(self.root), places)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def loaded(memory: SessionMemory) -> list[tuple[str, str]]:
    return [(f.scope, f.text.strip()) for f in memory.files]


async def test_every_level_in_order_from_managed_to_local(world: World) -> None:
    write(world.managed, "MANAGED")
    write(world.home / ".claude" / "CLAUDE.md", "USER-CLAUDE")
    write(world.config / "AGENTS.md", "USER-AGENTSLS")
    (world.repo / ".git").mkdir()
    write(world.repo / "AGENTS.md", "REPO-AGENTS")
    write(world.root / "AGENTS.md", "ROOT-AGENTS")
    write(world.root / "CLAUDE.md", "ROOT-CLAUDE")
    write(world.root / ".claude" / "CLAUDE.md", "ROOT-DOT-CLAUDE")
    write(world.root / "CLAUDE.local.md", "ROOT-LOCAL")
    write(world.root / ".claude" / "rules" / "style.md", "RULE-ALWAYS")
    memory = world.memory()
    await memory.start()
    assert loaded(memory) == [
        ("managed", "MANAGED"),
        ("user", "USER-CLAUDE"),
        ("user", "USER-AGENTSLS"),
        ("project", "REPO-AGENTS"),  # The repository root's, above the working directory.
        ("project", "ROOT-AGENTS"),
        ("project", "ROOT-CLAUDE"),
        ("project", "ROOT-DOT-CLAUDE"),
        ("local", "ROOT-LOCAL"),
        ("rule", "RULE-ALWAYS"),
    ]
    text = memory.system_text()
    assert text.index("MANAGED") < text.index("ROOT-LOCAL")
    assert f'<memory_file path="{world.root / "CLAUDE.local.md"}" scope="local">' in text
    assert memory.warnings == []


async def test_outside_a_repository_only_the_working_directory_counts(world: World) -> None:
    write(world.repo / "AGENTS.md", "ABOVE")
    write(world.root / "AGENTS.md", "HERE")
    (world.root / "CLAUDE.md").mkdir()  # A directory by that name is not a memory file.
    memory = world.memory()
    await memory.start()
    assert loaded(memory) == [("project", "HERE")]


async def test_a_large_file_is_capped_and_bytes_are_decoded(world: World) -> None:
    body = "".join(f"line {i:06d}\n" for i in range(10_000))  # 120k characters.
    write(world.root / "CLAUDE.md", body)
    write(world.root / "AGENTS.md", b"\xef\xbb\xbfcaf\xc3\xa9 \xff end")
    memory = world.memory()
    await memory.start()
    agents, claude = memory.files
    assert agents.text == "café \ufffd end"
    assert claude.text.startswith(body[:MAX_FILE_CHARS])
    assert f"truncated: {len(body) - MAX_FILE_CHARS:,} more characters of CLAUDE.md" in claude.text


async def test_imports_four_hops_deep_with_cycles_and_missing_files_reported(world: World) -> None:
    write(world.root / "CLAUDE.md", "Root. See @docs/a.md and @AGENTS.md, mail me@example.com, ping @alice.")
    write(world.root / "AGENTS.md", "AGENTS")  # Already loaded: not loaded twice.
    write(world.root / "docs" / "a.md", "A then @b.md")
    write(world.root / "docs" / "b.md", "B then @./c.md and @../CLAUDE.md")  # The second: a cycle.
    write(world.root / "docs" / "c.md", "C then @d.md and @missing.md")
    write(world.root / "docs" / "d.md", "D then @e.md")  # e is a fifth hop.
    write(world.root / "docs" / "e.md", "E")
    memory = world.memory()
    await memory.start()
    texts = [f.text.split()[0] for f in memory.files]
    assert texts == ["AGENTS", "Root.", "A", "B", "C", "D"]
    by = {f.text.split()[0]: f.imported_by for f in memory.files}
    assert by["A"] == world.root / "CLAUDE.md" and by["D"] == world.root / "docs" / "c.md"
    warnings = "\n".join(memory.warnings)
    assert "imports itself (a cycle)" in warnings and "CLAUDE.md" in warnings
    assert f"{world.root / 'docs' / 'c.md'}: @{world.root / 'docs' / 'missing.md'}: no such file" in warnings
    assert "more than 4 imports deep" in warnings and "e.md" in warnings
    assert len(memory.warnings) == 3


async def test_imports_in_code_are_text(world: World) -> None:
    write(world.root / "CLAUDE.md", "Use `@decorators.py` here.\n```\n@fenced.md\n```\nBut @real.md\n")
    for name in ("decorators.py", "fenced.md", "real.md"):
        write(world.root / name, name.upper())
    memory = world.memory()
    await memory.start()
    assert [f.path.name for f in memory.files] == ["CLAUDE.md", "real.md"]


async def test_an_untrusted_project_cannot_import_files_outside_it(world: World) -> None:
    secret = write(world.home / ".ssh" / "id_rsa", "PRIVATE KEY")
    write(world.home / ".claude" / "shared.md", "SHARED")
    write(world.root / "CLAUDE.md", "@~/.ssh/id_rsa @~/.claude/shared.md")
    memory = world.memory()
    await memory.start()
    assert [f.text for f in memory.files][1:] == ["SHARED"]
    assert "PRIVATE KEY" not in memory.system_text()
    assert any("outside the project" in w and str(secret) in w for w in memory.warnings)
    trusted = world.memory(trusted=True)
    await trusted.start()
    assert "PRIVATE KEY" in trusted.system_text()
    # The user's own files may import anything.
    write(world.home / ".claude" / "CLAUDE.md", "@~/.ssh/id_rsa")
    write(world.root / "CLAUDE.md", "nothing")
    mine = world.memory()
    await mine.start()
    assert "PRIVATE KEY" in mine.system_text()


async def test_a_file_a_read_deny_rule_hides_is_never_imported(world: World) -> None:
    env = write(world.root / ".env", "API_KEY=1")
    write(world.root / "CLAUDE.md", "@.env")
    memory = world.memory(hidden=(env,))
    await memory.start()
    assert "API_KEY" not in memory.system_text()
    assert any("hidden by a Read deny rule" in w for w in memory.warnings)


async def test_rules_with_paths_and_nested_files_load_when_a_file_there_is_touched(world: World) -> None:
    rules = world.root / ".claude" / "rules"
    write(rules / "api.md", "---\npaths:\n  - 'src/api/**/*.py'\n---\nAPI-RULE")
    write(rules / "web.md", "---\npaths: 'web/**/*.{ts,tsx}, docs/*.md'\n---\nWEB-RULE")
    write(rules / "bad.md", "---\npaths: [1, 2]\n---\nBAD")
    write(world.root / "src" / "api" / "CLAUDE.md", "API-NESTED")
    write(world.root / "src" / "CLAUDE.md", "SRC-NESTED")
    memory = world.memory()
    await memory.start()
    assert loaded(memory) == []
    assert any("bad.md" in w and "`paths`" in w for w in memory.warnings)

    text, warnings = await memory.touched((world.root / "README.md",))
    assert text is None and warnings == []
    text, _ = await memory.touched((world.root / "src" / "api" / "v1" / "users.py",))
    assert text is not None
    assert text.index("SRC-NESTED") < text.index("API-NESTED") < text.index("API-RULE")
    assert "<memory_file" in text and 'scope="nested"' in text and 'scope="rule"' in text
    again, _ = await memory.touched((world.root / "src" / "api" / "other.py",))
    assert again is None  # Once only.
    text, _ = await memory.touched((world.root / "web" / "app" / "page.tsx",))
    assert text is not None and "WEB-RULE" in text
    listed = {(item.path.name, item.at_start) for item in memory.listing()}
    assert listed == {("CLAUDE.md", False), ("api.md", False), ("web.md", False)}
    # After a compaction everything is read again, and what was loaded later loads again.
    write(world.root / "AGENTS.md", "NEW-ROOT")
    await memory.start()
    assert loaded(memory) == [("project", "NEW-ROOT")] and memory.later == []
    text, _ = await memory.touched((world.root / "src" / "api" / "users.py",))
    assert text is not None and "API-RULE" in text


# --- Through a session: what reaches each request -------------------------------------------------


SUMMARY = "We read pkg/mod.py, tests/test_x.py and pkg/other.py; each defines value_0 to value_299."


async def collect_run(session: Session, prompt: str) -> None:
    async for _ in (await session.submit(prompt)).events():
        pass


class CountingWorkspace(DiskWorkspace):
    """Counts processes run through the workspace (in an editor, running one saves buffers)."""

    runs: list[list[str]]

    async def run(self, spec: ProcessSpec) -> ProcessResult:
        self.runs = [*getattr(self, "runs", []), list(spec.argv)]
        return await super().run(spec)


def system_of(request: ModelRequest) -> str:
    return "".join(block.text for block in request.system)


def messages_of(request: ModelRequest) -> str:
    return "\n".join(str(block) for message in request.messages for block in message.content)


def last_message(request: ModelRequest) -> str:
    return "\n".join(str(block) for block in request.messages[-1].content)


async def test_which_memory_reaches_which_request(world: World) -> None:
    root = world.root
    (root / ".git").mkdir()
    write(root / "AGENTS.md", "ROOT-MEMORY; conventions: @docs/conventions.md")
    write(root / "docs" / "conventions.md", "CONVENTIONS")
    write(root / "pkg" / "CLAUDE.md", "PKG-MEMORY")
    write(root / ".claude" / "rules" / "tests.md", "---\npaths: tests/**/*.py\n---\nTEST-RULE")
    for name in ("pkg/mod.py", "pkg/other.py", "tests/test_x.py"):
        write(
            root / name,
            "".join(f"value_{i} = {i}  # a line long enough to be worth a summary\n" for i in range(300)),
        )
    (world.home / ".claude").mkdir(parents=True)
    model = ScriptedModel(
        [
            Reply([ToolCall("Read", {"file_path": str(root / "pkg" / "mod.py")})]),
            Reply([ToolCall("Read", {"file_path": str(root / "tests" / "test_x.py")})]),
            Reply([ToolCall("Read", {"file_path": str(root / "pkg" / "other.py")})]),
            Reply([Text("done")]),
        ]
    )
    settings = SettingsSources(project=root, home=world.home, config=world.config, managed=())
    deps = SessionDeps(
        config=AgentConfig(model="scripted-model", retry_base_delay_s=0.0),
        model=model,
        workspace=(workspace := CountingWorkspace(root)),
        approver=ScriptedApprover([]),
        settings=settings,
    )
    session = await Session.start(deps)
    git_runs = len(workspace.runs)
    assert git_runs >= 1 and all(argv[0] == "git" for argv in workspace.runs)
    await collect(session, "look around")
    first, second, third, fourth = model.requests
    # At the start: the root's file and its import, in the system prompt; nothing deeper.
    assert "ROOT-MEMORY" in system_of(first) and "CONVENTIONS" in system_of(first)
    for text in ("PKG-MEMORY", "TEST-RULE"):
        assert text not in system_of(first) + messages_of(first)
    # Reading pkg/mod.py brought pkg/CLAUDE.md, with the Read's result; not the rule.
    assert "PKG-MEMORY" in last_message(second) and "TEST-RULE" not in messages_of(second)
    # Reading tests/test_x.py brought the rule; pkg/CLAUDE.md did not come again.
    assert "TEST-RULE" in last_message(third) and "PKG-MEMORY" not in last_message(third)
    assert "PKG-MEMORY" not in last_message(fourth) and "TEST-RULE" not in last_message(fourth)
    # The system prompt never changed: the prompt cache holds.
    assert system_of(first) == system_of(second) == system_of(third) == system_of(fourth)

    # A compaction re-reads the memory files from disk.
    write(root / "AGENTS.md", "ROOT-MEMORY-EDITED")
    model.steps += [Reply([Text(f"<summary>{SUMMARY}</summary>")]), Reply([Text("ok")])]
    await collect_run(session, "/compact")
    await collect(session, "and now?")
    after = model.requests[-1]
    assert "ROOT-MEMORY-EDITED" in system_of(after) and "CONVENTIONS" not in system_of(after)
    # ... without running git again (through an editor that would save the user's buffers).
    assert len(workspace.runs) == git_runs
    session.close()

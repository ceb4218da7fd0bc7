"""A session's permissions: saving "always" answers (and who owns the file they go to), and the sandbox
the settings ask for."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from agentls.core.permissions import SessionPermissions
from agentls.policy.decision import Allow, Ask, CallFacts, Deny, PermissionMode
from agentls.policy.loader import SettingsSources
from agentls.policy.sandbox_config import sandbox_policy
from agentls.store.settings import read_settings
from agentls.tools.base import FileReadState, ToolContext
from agentls.tools.registry import builtin_tools
from agentls.workspace.disk import DiskWorkspace
from agentls.workspace.sandbox import DEFAULT_HIDDEN
from tests.policy.test_engine_table import facts_for_tool

# ---------------------------------------------------------------------------------------------
# Helpers


class World:
    def __init__(self, tmp_path: Path, project: Path) -> None:
        base = tmp_path.resolve()
        self.project = project
        self.home = base / "home"
        self.home.mkdir()
        self.config = base / "config"
        self.sources = SettingsSources(project=project, home=self.home, config=self.config, managed=())
        self.store = self.sources.trust_store
        self.local = project / ".agentls" / "settings.local.json"

    def permissions(self, mode: PermissionMode | None = None) -> SessionPermissions:
        return SessionPermissions(
            self.sources,
            mode=mode,
            tool_names=builtin_tools().names(),
            workspace=DiskWorkspace(self.project),
            session_id="sess",
            subprocess_env=None,
        )

    def user_settings(self, data: dict[str, Any]) -> None:
        write_json(self.config / "settings.json", data)

    def project_settings(self, data: dict[str, Any]) -> None:
        write_json(self.project / ".agentls" / "settings.json", data)

    def bash(self, command: str) -> CallFacts:
        return facts_for_tool("Bash", {"command": command}, self.project)

    def edit(self, path: str) -> CallFacts:
        return facts_for_tool("Edit", {"file_path": path, "old_string": "a", "new_string": "b"}, self.project)

    def allow_rules(self) -> list[str]:
        rules: list[str] = read_settings(self.local)["permissions"]["allow"]
        return rules


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture
def world(tmp_path: Path, project: Path) -> World:
    return World(tmp_path, project)


# ---------------------------------------------------------------------------------------------
# Remembering "always" answers


def test_remember_saves_the_exact_command_and_owns_the_file(world: World) -> None:
    perms = world.permissions()
    call = world.bash("touch a.txt")
    assert isinstance(perms.engine.decide(call), Ask)
    message = perms.remember(call, True)
    assert world.allow_rules() == ["Bash(touch a.txt)"]
    assert message == f"Saved Bash(touch a.txt) to permissions.allow in {world.local}"
    assert world.store.owns(world.local)
    assert not world.store.is_trusted(world.project)
    # The session that saved it applies it at once.
    assert isinstance(perms.engine.decide(call), Allow)


def test_a_new_session_in_an_untrusted_folder_honours_an_owned_rule(world: World) -> None:
    world.permissions().remember(world.bash("touch a.txt"), True)
    fresh = world.permissions()
    decision = fresh.engine.decide(world.bash("touch a.txt"))
    assert isinstance(decision, Allow) and decision.stage == "allow"
    assert decision.rule is not None and "Bash(touch a.txt)" in decision.rule
    assert not any("not trusted" in w for w in fresh.warnings)
    # Exact: nothing else is approved by it.
    for other in ("touch b.txt", "touch a.txt b.txt", "touch a.txt; rm -rf src", "touch a.txt > x"):
        assert isinstance(fresh.engine.decide(world.bash(other)), Ask), other


@pytest.mark.parametrize(
    ("command", "rules"),
    [
        ("echo hi >> notes.txt", ["Bash(echo hi >> notes.txt)"]),
        ("cat < in.txt > out.txt", ["Bash(cat < in.txt > out.txt)"]),
        ("pytest -k 'a or b'", ["Bash(pytest -k 'a or b')"]),
        ('git commit -m "it\'s done"', ["Bash(git commit -m 'it'\"'\"'s done')"]),
        ("mkdir build && touch build/x", ["Bash(mkdir build)", "Bash(touch build/x)"]),
        ("ls 2>&1 | head -n 5", ["Bash(ls 2>&1)", "Bash(head -n 5)"]),
        ("timeout 5 touch a", ["Bash(touch a)"]),
    ],
)
def test_saved_bash_rules_read_back_as_the_same_command(world: World, command: str, rules: list[str]) -> None:
    world.permissions().remember(world.bash(command), True)
    assert world.allow_rules() == rules
    decision = world.permissions().engine.decide(world.bash(command))
    assert isinstance(decision, Allow), decision


@pytest.mark.parametrize("other", ["echo hi > notes.txt", "echo hi >> src.py", "echo hi >> notes.txt; rm x"])
def test_a_saved_redirect_does_not_approve_other_redirects(world: World, other: str) -> None:
    world.permissions().remember(world.bash("echo hi >> notes.txt"), True)
    assert isinstance(world.permissions().engine.decide(world.bash(other)), Ask)


def test_remembering_twice_does_not_duplicate_and_keeps_ownership(world: World) -> None:
    perms = world.permissions()
    perms.remember(world.bash("touch a.txt"), True)
    perms.remember(world.bash("touch a.txt"), True)
    perms.remember(world.bash("touch b.txt"), True)
    assert world.allow_rules() == ["Bash(touch a.txt)", "Bash(touch b.txt)"]
    assert world.store.owns(world.local)
    fresh = world.permissions()
    assert isinstance(fresh.engine.decide(world.bash("touch b.txt")), Allow)


def test_remember_for_an_edit_records_edit(world: World) -> None:
    (world.project / "src").mkdir()
    perms = world.permissions()
    edit = world.edit(str(world.project / "src" / "app.py"))
    assert isinstance(perms.engine.decide(edit), Ask)
    message = perms.remember(edit, True)
    assert world.allow_rules() == ["Edit"]
    assert "Saved Edit to permissions.allow" in message
    fresh = world.permissions()
    assert isinstance(fresh.engine.decide(world.edit(str(world.project / "README.md"))), Allow)
    write = facts_for_tool("Write", {"file_path": "new.txt", "content": "x"}, world.project)
    assert isinstance(fresh.engine.decide(write), Allow)
    # Still asks for protected paths and for files outside the workspace.
    assert isinstance(fresh.engine.decide(world.edit(str(world.project / ".git" / "config"))), Ask)
    assert isinstance(fresh.engine.decide(world.edit(str(world.home / "notes.txt"))), Ask)


def test_remember_for_another_tool_records_its_name(world: World) -> None:
    perms = world.permissions()
    message = perms.remember(CallFacts("WebFetch", {"url": "https://x"}, True, False, (), "fetch"), True)
    assert world.allow_rules() == ["WebFetch"]
    assert "Saved WebFetch" in message


def test_a_never_answer_saves_a_deny_rule(world: World) -> None:
    perms = world.permissions()
    message = perms.remember(world.bash("rm -rf build"), False)
    assert read_settings(world.local)["permissions"]["deny"] == ["Bash(rm -rf build)"]
    assert "permissions.deny" in message
    assert world.store.owns(world.local)
    assert isinstance(world.permissions().engine.decide(world.bash("rm -rf build")), Deny)


def repository_local_file(world: World) -> str:
    """A local settings file shipped with the repository (not written by agentls)."""
    write_json(world.local, {"permissions": {"allow": ["Bash(curl *)"]}})
    return world.local.read_text()


def test_a_rule_saved_into_a_repository_file_needs_trust(world: World) -> None:
    repository_local_file(world)
    perms = world.permissions()
    assert any("not trusted" in w for w in perms.warnings)
    message = perms.remember(world.bash("touch a.txt"), True)
    assert world.allow_rules() == ["Bash(curl *)", "Bash(touch a.txt)"]
    assert "came with the repository" in message and "trust" in message and "agentls trust" in message
    assert not world.store.owns(world.local)
    # Neither the saved rule nor the repository's rules apply: here or in a new session.
    assert isinstance(perms.engine.decide(world.bash("touch a.txt")), Ask)
    fresh = world.permissions()
    assert isinstance(fresh.engine.decide(world.bash("touch a.txt")), Ask)
    assert isinstance(fresh.engine.decide(world.bash("curl https://evil.example")), Ask)
    # Saving more answers never makes the repository's file the user's.
    fresh.remember(world.bash("touch b.txt"), True)
    assert not world.store.owns(world.local)
    assert isinstance(world.permissions().engine.decide(world.bash("curl x")), Ask)
    # Trusting the folder applies everything in it.
    world.store.trust(world.project)
    trusted = world.permissions()
    assert isinstance(trusted.engine.decide(world.bash("touch a.txt")), Allow)
    assert isinstance(trusted.engine.decide(world.bash("curl x")), Allow)


def test_a_deny_saved_into_a_repository_file_applies_without_trust(world: World) -> None:
    repository_local_file(world)
    message = world.permissions().remember(world.bash("rm -rf build"), False)
    assert "trust" not in message
    assert not world.store.owns(world.local)
    assert isinstance(world.permissions().engine.decide(world.bash("rm -rf build")), Deny)


def test_a_file_edited_by_hand_is_no_longer_owned(world: World) -> None:
    world.permissions().remember(world.bash("touch a.txt"), True)
    assert world.store.owns(world.local)
    data = read_settings(world.local)
    data["permissions"]["allow"].append("Bash(curl *)")
    write_json(world.local, data)
    assert not world.store.owns(world.local)
    fresh = world.permissions()
    assert isinstance(fresh.engine.decide(world.bash("touch a.txt")), Ask)
    assert isinstance(fresh.engine.decide(world.bash("curl x")), Ask)
    assert any("not trusted" in w for w in fresh.warnings)
    # And a later answer does not take the edited file back.
    message = fresh.remember(world.bash("touch c.txt"), True)
    assert "trust" in message
    assert not world.store.owns(world.local)


def test_a_file_replaced_by_the_same_bytes_stays_owned(world: World) -> None:
    world.permissions().remember(world.bash("touch a.txt"), True)
    text = world.local.read_text()
    world.local.unlink()
    world.local.write_text(text)
    assert world.store.owns(world.local)


def test_ownership_does_not_follow_a_symlinked_settings_directory(world: World, tmp_path: Path) -> None:
    """A repository's `.agentls` pointing at a folder the user owns elsewhere does not make it the user's."""
    other = tmp_path.resolve() / "other-project"
    other.mkdir()
    (world.project / ".agentls").symlink_to(other)
    world.permissions().remember(world.bash("touch a.txt"), True)
    assert (other / "settings.local.json").exists()
    assert not world.store.owns(world.local)
    assert isinstance(world.permissions().engine.decide(world.bash("touch a.txt")), Ask)


def test_an_owned_file_of_one_project_is_not_owned_as_another_projects(world: World, tmp_path: Path) -> None:
    world.permissions().remember(world.bash("touch a.txt"), True)
    twin = tmp_path.resolve() / "twin"
    (twin / ".agentls").mkdir(parents=True)
    (twin / ".agentls" / "settings.local.json").write_bytes(world.local.read_bytes())
    assert world.store.owns(world.local)
    assert not world.store.owns(twin / ".agentls" / "settings.local.json")


# ---------------------------------------------------------------------------------------------
# Keeping tool contexts in step with the settings


def test_attached_contexts_follow_reloads(world: World) -> None:
    perms = world.permissions()
    ctx = ToolContext(workspace=DiskWorkspace(world.project), read_state=FileReadState())
    perms.attach(ctx)
    assert ctx.sandbox is perms.sandbox and ctx.sandbox is not None
    assert not ctx.sandbox.allow_network
    assert not ctx.is_hidden(world.project / ".env")
    hooks = perms.hooks
    world.user_settings(
        {
            "sandbox": {"network": {"allowAll": True}},
            "permissions": {"deny": ["Read(./.env)"]},
            "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "true"}]}]},
        }
    )
    assert perms.refresh()
    assert ctx.sandbox is perms.sandbox and ctx.sandbox.allow_network
    assert ctx.is_hidden(world.project / ".env")
    assert perms.hooks is hooks and hooks.any_for("Bash")  # Updated in place: runners hold it.
    world.user_settings({"sandbox": {"enabled": False}})
    assert perms.refresh()
    assert ctx.sandbox is None
    assert not hooks.any_for("Bash")


# ---------------------------------------------------------------------------------------------
# The sandbox the settings ask for


def test_the_default_sandbox_has_no_network_and_hides_secrets(world: World) -> None:
    perms = world.permissions()
    policy = perms.sandbox
    assert policy is not None
    assert policy.workspace == world.project
    assert policy.home == world.home
    assert policy.allow_network is False
    assert policy.writable == ()
    assert policy.hidden[: len(DEFAULT_HIDDEN)] == DEFAULT_HIDDEN
    agentls_home = os.environ["AGENTLS_HOME"]
    assert any(entry.rstrip("/") == agentls_home for entry in policy.hidden)
    assert perms.warnings == []


def test_the_user_can_turn_the_sandbox_off(world: World) -> None:
    world.user_settings({"sandbox": {"enabled": False}})
    perms = world.permissions()
    assert perms.sandbox is None
    assert perms.warnings == []


def test_a_project_cannot_turn_the_sandbox_off(world: World) -> None:
    world.project_settings({"sandbox": {"enabled": False}})
    world.store.trust(world.project)
    perms = world.permissions()
    assert perms.sandbox is not None
    assert any("sandbox.enabled false is not honoured from project settings" in w for w in perms.warnings)


def test_a_local_file_cannot_turn_the_sandbox_off_even_when_owned(world: World) -> None:
    write_json(world.local, {"sandbox": {"enabled": False}})
    world.store.own(world.local)
    perms = world.permissions()
    assert perms.sandbox is not None
    assert any("not honoured from local settings" in w for w in perms.warnings)


def test_an_untrusted_project_sandbox_block_is_ignored(world: World) -> None:
    world.project_settings({"sandbox": {"enabled": False, "network": {"allowAll": True}}})
    perms = world.permissions()
    assert perms.sandbox is not None and perms.sandbox.allow_network is False
    assert any("sandbox settings" in w and "not trusted" in w for w in perms.warnings)


def test_a_non_boolean_enabled_keeps_the_sandbox_on(world: World) -> None:
    world.user_settings({"sandbox": {"enabled": "no"}})
    perms = world.permissions()
    assert perms.sandbox is not None
    assert any("sandbox.enabled must be true or false" in w for w in perms.warnings)


@pytest.mark.parametrize("where", ["user", "trusted project"])
def test_network_allow_all(world: World, where: str) -> None:
    data = {"sandbox": {"network": {"allowAll": True}}}
    if where == "user":
        world.user_settings(data)
    else:
        world.project_settings(data)
        world.store.trust(world.project)
    sandbox = world.permissions().sandbox
    assert sandbox is not None and sandbox.allow_network is True


def test_network_allow_all_must_be_true_exactly(world: World) -> None:
    world.user_settings({"sandbox": {"network": {"allowAll": "yes"}}})
    sandbox = world.permissions().sandbox
    assert sandbox is not None and sandbox.allow_network is False


def test_allow_write_and_additional_directories_become_writable(world: World) -> None:
    world.user_settings(
        {
            "sandbox": {"filesystem": {"allowWrite": ["~/cache", "//opt/data", "build", "../shared/"]}},
            "permissions": {"additionalDirectories": ["~/extra"]},
        }
    )
    sandbox = world.permissions().sandbox
    assert sandbox is not None
    assert sandbox.writable == (
        world.home / "extra",
        world.home / "cache",
        Path("/opt/data"),
        world.project / "build",
        world.project.parent / "shared",
    )


def test_writable_directories_are_listed_once(world: World) -> None:
    world.user_settings(
        {
            "sandbox": {"filesystem": {"allowWrite": ["~/extra", "~/extra/"]}},
            "permissions": {"additionalDirectories": ["~/extra"]},
        }
    )
    sandbox = world.permissions().sandbox
    assert sandbox is not None and sandbox.writable == (world.home / "extra",)


@pytest.mark.parametrize("value", ["~/cache", [1], [""], {"a": "b"}])
def test_a_malformed_allow_write_is_a_warning(world: World, value: object) -> None:
    world.user_settings({"sandbox": {"filesystem": {"allowWrite": value}}})
    perms = world.permissions()
    assert perms.sandbox is not None and perms.sandbox.writable == ()
    assert any("sandbox.filesystem.allowWrite must be a list of paths" in w for w in perms.warnings)


def test_read_deny_rules_naming_one_place_are_hidden_in_the_sandbox(world: World) -> None:
    (world.home / ".aws").mkdir()
    (world.home / ".vault").mkdir()
    world.user_settings(
        {
            "permissions": {
                "deny": [
                    "Read(~/.aws/**)",
                    "Read(~/.vault/**)",
                    "Read(//etc/shadow)",
                    "Read(~/*.pem)",  # A glob names no single place.
                    "Edit(~/.notes/**)",  # Not a Read rule.
                ],
                "allow": ["Read(~/.public/**)"],
            },
            "sandbox": {"filesystem": {"denyRead": ["~/.private", "//srv/keys"]}},
        }
    )
    sandbox = world.permissions().sandbox
    assert sandbox is not None
    extra = sandbox.hidden[len(DEFAULT_HIDDEN) :]
    assert f"{world.home}/.aws/" in extra
    assert f"{world.home}/.vault/" in extra
    assert "/etc/shadow" in extra
    assert f"{world.home}/.private" in extra
    assert "/srv/keys" in extra
    assert not any(".pem" in e or ".notes" in e or ".public" in e for e in extra)
    assert len(set(sandbox.hidden)) == len(sandbox.hidden)


def test_a_read_deny_of_the_whole_filesystem_is_not_a_sandbox_entry(world: World) -> None:
    world.user_settings({"permissions": {"deny": ["Read(//**)"]}})
    config = world.sources.load()
    policy, warnings = sandbox_policy(config, root=world.project, home=world.home)
    assert policy is not None and warnings == []
    extra = policy.hidden[len(DEFAULT_HIDDEN) :]
    assert [e for e in extra if not e.startswith(os.environ["AGENTLS_HOME"])] == []


@pytest.mark.parametrize(
    "command", ["FOO=1 make", "echo $HOME", "sed -i s/a/b/ f", "echo $(date)", "make && FOO=1 make"]
)
def test_lines_no_rule_can_approve_record_no_rule(command: str) -> None:
    from agentls.policy.remember import rules_for

    call = CallFacts("Bash", {"command": command}, False, False, (), command)
    assert rules_for(call) == []


def test_a_line_of_plain_commands_records_one_exact_rule_each() -> None:
    from agentls.policy.remember import rules_for

    call = CallFacts("Bash", {"command": "make -j2 && pytest -k 'a or b'"}, False, False, (), "")
    assert rules_for(call) == ["Bash(make -j2)", "Bash(pytest -k 'a or b')"]

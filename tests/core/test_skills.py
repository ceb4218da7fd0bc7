"""Skills on their own: finding and parsing `SKILL.md` folders (formats, booleans, bad files, trust,
precedence), the budgeted listing the model sees, the text a loaded skill gives, and skills as
commands in the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentls.core.commands.custom import expand
from agentls.core.commands.registry import CommandSources, load_commands
from agentls.core.context.tokens import text_tokens
from agentls.core.skills.catalog import SkillDefinition, load_skills, parse_skill
from agentls.core.skills.content import render
from agentls.core.skills.listing import (
    MAX_BUDGET,
    MIN_ABOUT,
    MIN_BUDGET,
    listing_budget,
    skill_listing,
)
from agentls.policy.decision import Allow, CallFacts, Deny
from agentls.policy.tool_scope import ScopedPolicy, ToolScope, narrowed
from agentls.store.skill_files import MAX_RESOURCES, skill_folders, skill_resources


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def skill_file(root: Path, folder: str, text: str) -> Path:
    return write(root / folder / "SKILL.md", text)


def catalog(project: Path, home: Path, *, trusted: bool = True):  # type: ignore[no-untyped-def]
    return load_skills(project, home, home / ".config" / "agentls", trusted=trusted)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


# --- Parsing ---------------------------------------------------------------------------------------


def test_every_frontmatter_key(tmp_path: Path) -> None:
    path = skill_file(
        tmp_path,
        "notes",
        "---\n"
        "name: release-notes\n"
        "description: >\n  Drafts release notes\n  from the git log.\n"
        "when_to_use: Before tagging a release\n"
        "argument-hint: '[since-tag]'\n"
        "allowed-tools: Read, Bash(git log:*, --oneline)\n"
        "disable-model-invocation: no\n"
        "user-invocable: yes\n"
        "model: claude-haiku-4-5\n"
        "license: MIT\n"  # Unknown keys are ignored.
        "---\n"
        "Read the log since $1.\n",
    )
    skill = parse_skill(path, "project")
    assert skill.name == "release-notes"
    assert skill.description == "Drafts release notes from the git log."
    assert skill.when_to_use == "Before tagging a release"
    assert skill.argument_hint == "[since-tag]"
    assert skill.allowed_tools == ("Read", "Bash(git log:*, --oneline)")
    assert skill.model_invocable and skill.user_invocable
    assert skill.model == "claude-haiku-4-5"
    assert skill.body == "Read the log since $1."
    assert skill.directory == tmp_path / "notes" and skill.source == "project"


def test_everything_is_optional(tmp_path: Path) -> None:
    skill = parse_skill(skill_file(tmp_path, "pdf-forms", "# Fill PDF forms\n\nUse the script."), "user")
    assert skill.name == "pdf-forms"  # The folder's name.
    assert skill.description == "Fill PDF forms"  # The body's first line.
    assert skill.allowed_tools is None and skill.model is None and skill.argument_hint is None
    assert skill.model_invocable and skill.user_invocable


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("true", True),
        ("yes", True),
        ("on", True),
        ("1", True),
        ("'Yes'", True),
        ("'ON'", True),
        ("false", False),
        ("no", False),
        ("Off", False),
        ("0", False),
        ("'FALSE'", False),
    ],
)
def test_booleans(tmp_path: Path, written: str, value: bool) -> None:
    text = f"---\ndisable-model-invocation: {written}\nuser-invocable: {written}\n---\nBody"
    skill = parse_skill(skill_file(tmp_path, "s", text), "user")
    assert skill.model_invocable is (not value)
    assert skill.user_invocable is value


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("---\ndescription: [unclosed\n---\nBody", "not valid YAML"),
        ("---\ndescription: x\nBody", "no closing `---`"),
        ("---\n- a list\n---\nBody", "must be a mapping"),
        ("---\ndescription: x\n---\n", "body"),
        ("---\ndisable-model-invocation: maybe\n---\nBody", "disable-model-invocation"),
        ("---\nuser-invocable: 2\n---\nBody", "user-invocable"),
        ("---\nname: has space\n---\nBody", "cannot be a skill name"),
        ("---\ndescription: {a: 1}\n---\nBody", "`description` must be text"),
        ("---\nallowed-tools: {Read: yes}\n---\nBody", "allowed-tools"),
    ],
)
def test_a_bad_skill_is_skipped_with_a_warning_naming_it(
    project: Path, home: Path, text: str, problem: str
) -> None:
    bad = skill_file(home / ".claude" / "skills", "broken", text)
    skill_file(home / ".claude" / "skills", "good", "---\ndescription: Fine\n---\nBody")
    found = catalog(project, home)
    assert list(found.skills) == ["good"]
    (warning,) = found.warnings
    assert warning.startswith("skill skipped: ") and str(bad) in warning and problem in warning


def test_where_skills_are_found(project: Path, home: Path) -> None:
    skill_file(home / ".claude" / "skills", "a", "A")
    skill_file(home / ".config" / "agentls" / "skills", "b", "B")
    skill_file(project / ".claude" / "skills", "c", "C")
    skill_file(project / ".agentls" / "skills", "d", "D")
    write(project / ".claude" / "skills" / "no-skill-md" / "README.md", "not a skill")
    write(project / ".claude" / "skills" / "loose.md", "not a skill either")
    skill_file(project / ".claude" / "skills" / "c" / "nested", "e", "Skills do not nest")
    found = catalog(project, home)
    assert {n: s.source for n, s in found.skills.items()} == {
        "a": "user",
        "b": "user",
        "c": "project",
        "d": "project",
    }
    assert found.warnings == ()


def test_project_over_user_and_agentls_over_claude(project: Path, home: Path) -> None:
    skill_file(home / ".claude" / "skills", "x", "---\ndescription: user claude\n---\nB")
    skill_file(home / ".config" / "agentls" / "skills", "x", "---\ndescription: user agentls\n---\nB")
    skill_file(home / ".claude" / "skills", "y", "---\ndescription: user y\n---\nB")
    skill_file(project / ".claude" / "skills", "x", "---\ndescription: project claude\n---\nB")
    skill_file(project / ".agentls" / "skills", "y", "---\ndescription: project agentls\n---\nB")
    found = catalog(project, home)
    assert found.skills["x"].description == "project claude"
    assert found.skills["y"].description == "project agentls"
    assert catalog(project, home, trusted=False).skills["x"].description == "user agentls"


def test_two_folders_of_one_name_in_one_directory(project: Path, home: Path) -> None:
    skill_file(home / ".claude" / "skills", "a-first", "---\nname: same\n---\nFirst")
    second = skill_file(home / ".claude" / "skills", "b-second", "---\nname: same\n---\nSecond")
    found = catalog(project, home)
    assert found.skills["same"].body == "First"
    (warning,) = found.warnings
    assert str(second) in warning and "already" in warning


def test_an_untrusted_projects_skills_do_not_count(project: Path, home: Path) -> None:
    skill_file(project / ".claude" / "skills", "deploy", "---\ndescription: Deploys\n---\nRun it.")
    found = catalog(project, home, trusted=False)
    assert found.skills == {}
    (warning,) = found.warnings
    assert "not trusted" in warning and "agentls trust" in warning


def test_model_and_user_invocable_lists(project: Path, home: Path) -> None:
    skill_file(home / ".claude" / "skills", "b-user", "B")
    skill_file(project / ".claude" / "skills", "z-project", "Z")
    skill_file(project / ".claude" / "skills", "only-user", "---\ndisable-model-invocation: true\n---\nU")
    skill_file(project / ".claude" / "skills", "only-model", "---\nuser-invocable: false\n---\nM")
    skill_file(
        project / ".claude" / "skills",
        "nobody",
        "---\nuser-invocable: off\ndisable-model-invocation: on\n---\nN",
    )
    found = catalog(project, home)
    assert [s.name for s in found.model_invocable()] == ["only-model", "z-project", "b-user"]
    assert [s.name for s in found.user_invocable()] == ["b-user", "only-user", "z-project"]
    (warning,) = found.warnings
    assert "nothing can use this skill" in warning


def test_the_walk_is_bounded_and_skips_symlinked_folders(tmp_path: Path) -> None:
    skills = tmp_path / "skills"
    skill_file(tmp_path / "elsewhere", "linked", "Linked")
    skills.mkdir()
    (skills / "linked").symlink_to(tmp_path / "elsewhere" / "linked")
    skill_file(skills, "real", "Real")
    assert [p.name for p in skill_folders(skills).folders] == ["real"]
    assert skill_folders(tmp_path / "missing").folders == ()

    folder = tmp_path / "big"
    skill_file(tmp_path, "big", "Big")
    for n in range(MAX_RESOURCES + 5):
        write(folder / "data" / f"f{n:03}.txt", "x")
    write(folder / ".hidden", "x")
    resources = skill_resources(folder)
    assert len(resources.files) == MAX_RESOURCES and resources.truncated
    assert all(r.path.name != "SKILL.md" and r.path.name != ".hidden" for r in resources.files)


# --- The listing the model sees ----------------------------------------------------------------------


def _skill(name: str, description: str, when: str | None = None) -> SkillDefinition:
    return SkillDefinition(name, description, "body", Path(f"/s/{name}/SKILL.md"), "user", when_to_use=when)


def test_budget_is_one_percent_of_the_window_within_bounds() -> None:
    assert listing_budget(200_000) == 2_000
    assert listing_budget(1_000_000) == MAX_BUDGET
    assert listing_budget(8_000) == MIN_BUDGET


def test_a_short_listing_is_complete() -> None:
    listing = skill_listing([_skill("pdf", "Fill PDF forms.", "When a PDF is attached")], 2_000)
    assert listing.text == "- pdf: Fill PDF forms. — When a PDF is attached"
    assert listing.listed == ("pdf",) and not listing.shortened and listing.left_out == ()
    assert listing.tokens == text_tokens(listing.text)
    assert skill_listing([], 2_000).text == ""


def test_over_budget_descriptions_are_shortened_first() -> None:
    skills = [_skill(f"skill-{n}", f"Skill number {n} " + "does many things " * 40) for n in range(10)]
    listing = skill_listing(skills, 1_000)
    assert listing.shortened and listing.left_out == () and len(listing.listed) == 10
    assert listing.tokens <= 1_000
    lines = listing.text.splitlines()
    assert len(lines) == 10 and all(line.endswith("…") for line in lines)
    assert len({len(line) for line in lines}) == 1  # All cut to the same length.


def test_past_the_shortest_descriptions_skills_are_left_out_with_a_note() -> None:
    skills = [_skill(f"skill-{n:03}", "x" * 500) for n in range(200)]
    listing = skill_listing(skills, 500)
    assert listing.tokens <= 500
    assert listing.listed == tuple(f"skill-{n:03}" for n in range(len(listing.listed)))
    assert len(listing.listed) + len(listing.left_out) == 200 and listing.left_out
    lines = listing.text.splitlines()
    assert lines[-1] == f"- ({len(listing.left_out)} more skills not listed, to keep this list short)"
    assert all(len(line.split(": ", 1)[1]) == MIN_ABOUT for line in lines[:-1])


# --- What a loaded skill says -----------------------------------------------------------------------


def test_substitution_and_the_skills_files(tmp_path: Path) -> None:
    path = skill_file(
        tmp_path,
        "forms",
        "Fill $1 using ${CLAUDE_SKILL_DIR}/fill.py (all: $ARGUMENTS) in ${CLAUDE_PROJECT_DIR}, "
        "session ${CLAUDE_SESSION_ID}; ${HOME} and $HOME stay.",
    )
    write(tmp_path / "forms" / "fill.py", "print('hi')\n")
    write(tmp_path / "forms" / "reference" / "spec.md", "x" * 4096)
    skill = parse_skill(path, "project")
    text = render(
        skill,
        "a.pdf '$2 literal'",
        project=Path("/proj"),
        session_id="sid-1",
        resources=skill_resources(skill.directory),
    )
    folder = tmp_path / "forms"
    assert text.startswith(f"Base directory for this skill: {folder}\n\n")
    assert (
        f"Fill a.pdf using {folder}/fill.py (all: a.pdf '$2 literal') in /proj, session sid-1; "
        "${HOME} and $HOME stay." in text
    )
    assert f"- {folder / 'fill.py'} (12 bytes)" in text
    assert f"- {folder / 'reference' / 'spec.md'} (4.0 KB)" in text
    assert "x" * 100 not in text  # Listed, never inlined.


def test_expand_keeps_its_command_behaviour_and_takes_variables() -> None:
    assert expand("Fix ${CLAUDE_SKILL_DIR}", "") == "Fix ${CLAUDE_SKILL_DIR}"
    assert expand("Fix ${X}", "", {"X": "it"}) == "Fix it"
    assert expand("Fix ${X}", "now $1", {"X": "it"}) == "Fix it\n\nARGUMENTS: now $1"
    assert expand("$1 ${X} $ARGUMENTS", "a b", {"X": "$1"}) == "a $1 a b"


# --- Skills as commands -----------------------------------------------------------------------------


def sources(project: Path, home: Path, *, trusted: bool = True) -> CommandSources:
    return CommandSources(project=project, home=home, config=home / ".config" / "agentls", trusted=trusted)


def test_user_invocable_skills_are_commands(project: Path, home: Path) -> None:
    skill_file(
        project / ".claude" / "skills",
        "release-notes",
        "---\ndescription: Drafts release notes\nargument-hint: '[tag]'\nallowed-tools: Read\n---\nGo.",
    )
    skill_file(home / ".claude" / "skills", "hidden", "---\nuser-invocable: false\n---\nModel only.")
    registry = load_commands(sources(project, home))
    assert registry.warnings == ()
    assert "hidden" not in registry.custom
    command = registry.custom["release-notes"]
    info = command.info
    assert (info.source, info.label, info.argument_hint, info.calls_model) == (
        "skill",
        "skill:project",
        "[tag]",
        True,
    )
    assert command.allowed_tools == ("Read",) and command.skill is not None
    assert info.to_json()["source"] == "skill"


def test_a_skill_and_a_command_of_one_name(project: Path, home: Path) -> None:
    # Same level: the skill wins.
    write(project / ".claude" / "commands" / "deploy.md", "Command deploy")
    skill_file(project / ".claude" / "skills", "deploy", "Skill deploy")
    # The project's command over the user's skill.
    write(project / ".claude" / "commands" / "lint.md", "Command lint")
    skill_file(home / ".claude" / "skills", "lint", "Skill lint")
    # The project's skill over the user's command.
    write(home / ".claude" / "commands" / "test.md", "Command test")
    skill_file(project / ".claude" / "skills", "test", "Skill test")
    # A built-in's name stays the built-in's.
    skill_file(project / ".claude" / "skills", "cost", "Skill cost")
    registry = load_commands(sources(project, home))
    assert registry.custom["deploy"].info.source == "skill"
    assert registry.custom["lint"].info.source == "project"
    assert registry.custom["test"].info.source == "skill"
    assert registry.info("cost") is not None and registry.info("cost").source == "builtin"  # type: ignore[union-attr]
    warnings = "\n".join(registry.warnings)
    assert "/deploy runs the skill" in warnings and "/test runs the skill" in warnings
    assert "/lint runs the project's command" in warnings
    assert "/cost is a built-in command (the model can still load it)" in warnings


def test_an_untrusted_projects_skills_are_not_commands(project: Path, home: Path) -> None:
    skill_file(project / ".claude" / "skills", "deploy", "Deploy")
    registry = load_commands(sources(project, home, trusted=False))
    assert "deploy" not in registry.custom
    assert any("not trusted" in w for w in registry.warnings)


# --- Scopes in scopes --------------------------------------------------------------------------------


class _AllowAll:
    mode = "default"

    def decide(self, call: CallFacts) -> Allow:
        return Allow("ok", stage="allow")

    def settle(self, decision):  # type: ignore[no-untyped-def]
        return decision

    def hidden_tools(self, names):  # type: ignore[no-untyped-def]
        return frozenset()


def test_a_scope_inside_a_scope_narrows_both_ways(tmp_path: Path) -> None:
    def scope(rules: list[str], label: str) -> ToolScope:
        return ToolScope.parse(rules, label=label, root=tmp_path, home=tmp_path)

    command = narrowed(_AllowAll(), scope(["Read", "Agent"], "/cmd"))
    both = narrowed(command, scope(["Agent", "Bash"], "skill"))
    assert isinstance(both, ScopedPolicy) and not isinstance(both.inner, ScopedPolicy)  # One layer.

    def call(tool: str) -> CallFacts:
        return CallFacts(tool, {"command": "ls"}, tool != "Bash", False, (), tool)

    assert isinstance(both.decide(call("Agent")), Allow)
    read, bash = both.decide(call("Read")), both.decide(call("Bash"))
    assert isinstance(read, Deny) and read.rule == "allowed-tools of skill"
    assert isinstance(bash, Deny) and bash.rule == "allowed-tools of /cmd"
    assert both.hidden_tools(["Read", "Agent", "Bash", "Edit"]) == {"Read", "Bash", "Edit"}
    assert both.scope.permits(call("Agent")) and not both.scope.permits(call("Bash"))

"""Canonical paths, containment over several roots, hard links and protected paths (table-driven)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentls.policy.paths import canonical, fold, hardlink_escape, inside, protected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a.py", "/srv/proj/a.py"),
        ("./src/../a.py", "/srv/proj/a.py"),
        ("../../etc/passwd", "/etc/passwd"),
        ("../../../../../etc/passwd", "/etc/passwd"),
        ("/tmp//x/./y", "/tmp/x/y"),
        ("~/.ssh/id_rsa", "/home/u/.ssh/id_rsa"),
        ("~", "/home/u"),
        ("~bob/x", "/srv/proj/~bob/x"),
    ],
)
def test_canonical(raw: str, expected: str) -> None:
    assert canonical(raw, Path("/srv/proj"), home=Path("/home/u")) == Path(expected)


def test_canonical_parent_escape_is_outside(project: Path) -> None:
    assert not inside(canonical("../../etc/passwd", project), [project])


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("proj/a.py", True),
        ("proj", True),
        ("proj/deep/er/x", True),
        ("proj_evil/a.py", False),
        ("proj2", False),
        ("extra/lib.py", True),
        ("extra_evil/lib.py", False),
        ("other/x", False),
    ],
)
def test_inside_compares_components(tmp_path: Path, rel: str, expected: bool) -> None:
    base = tmp_path.resolve()
    assert inside(base / rel, [base / "proj", base / "extra"]) is expected


def test_symlinks_must_stay_inside(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    proj, extra, out = base / "proj", base / "extra", base / "out"
    for d in (proj, extra, out):
        d.mkdir()
    (proj / "to_out").symlink_to(out)
    (proj / "to_extra").symlink_to(extra)
    (base / "outside_link").symlink_to(proj)
    assert not inside(proj / "to_out" / "x", [proj])
    assert inside(proj / "to_extra" / "x", [proj, extra])
    assert not inside(proj / "to_extra" / "x", [proj])
    # The written path must be inside too: a link from outside into the workspace is not.
    assert not inside(base / "outside_link" / "x", [proj])


def test_workspace_opened_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path.resolve() / "real"
    real.mkdir()
    alias = tmp_path.resolve() / "alias"
    alias.symlink_to(real)
    assert inside(alias / "a.py", [alias])
    assert inside(real / "a.py", [alias])


def test_hardlinks(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    proj, out = base / "proj", base / "out"
    proj.mkdir()
    out.mkdir()
    single = proj / "single.txt"
    single.write_text("x")
    secret = out / "bashrc"
    secret.write_text("x")
    os.link(secret, proj / "linked.txt")
    (proj / "a.txt").write_text("x")
    os.link(proj / "a.txt", proj / "b.txt")
    assert not hardlink_escape(single, [proj])
    assert not hardlink_escape(proj / "missing.txt", [proj])
    assert not hardlink_escape(proj, [proj])
    assert hardlink_escape(proj / "linked.txt", [proj])
    # Both links found inside: fine; but not if the scan is cut short.
    assert not hardlink_escape(proj / "a.txt", [proj])
    assert hardlink_escape(proj / "a.txt", [proj], scan_limit=1)
    assert not hardlink_escape(proj / "linked.txt", [proj, out])
    # Nested roots must not count the one link inside twice.
    assert hardlink_escape(proj / "linked.txt", [proj, proj, base / "proj"])
    (proj / "sub").mkdir()
    os.link(secret, proj / "sub" / "again.txt")
    assert hardlink_escape(proj / "linked.txt", [proj, proj / "sub"])


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        (".git/hooks/pre-commit", "`.git/`"),
        (".GIT/hooks/pre-commit", "`.git/`"),
        ("sub/module/.git/config", "`.git/`"),
        (".git", "`.git/`"),
        (".git./config", "`.git/`"),
        (".g\u200cit/config", "`.git/`"),
        (".VsCode/settings.json", "`.vscode/`"),
        (".idea/workspace.xml", "`.idea/`"),
        (".agentls/settings.local.json", "`.agentls/`"),
        (".Claude/settings.json", "`.claude/`"),
        (".husky/pre-push", "`.husky/`"),
        (".mcp.json", "`.mcp.json`"),
        ("pkg/.MCP.JSON", "`.mcp.json`"),
        (".envrc", "`.envrc`"),
        (".npmrc", "`.npmrc`"),
        (".gitconfig", "`.gitconfig`"),
        (".ripgreprc", "`.ripgreprc`"),
        (".BashRC", "`.bashrc`"),
        (".zprofile", "`.zprofile`"),
        ("src/main.py", None),
        ("src/gitconfig.py", None),
        ("docs/.github/workflows/ci.yml", None),
        (".gitignore", None),
    ],
)
def test_protected_paths_case_insensitive(project: Path, rel: str, expected: str | None) -> None:
    reason = protected(project / rel, project, Path("/nonexistent-home"))
    if expected is None:
        assert reason is None
    else:
        assert reason is not None
        assert expected in reason


def test_protected_home_files_and_relative_to_root(tmp_path: Path) -> None:
    home = tmp_path.resolve() / "home"
    root = home / ".claude" / "projects" / "p"
    root.mkdir(parents=True)
    assert protected(home / ".bashrc", root, home) is not None
    assert protected(home / ".profile", root, home) is not None
    # The workspace itself lies below `.claude/`: its ordinary files are not protected.
    assert protected(root / "a.py", root, home) is None
    assert protected(root / ".vscode" / "x", root, home) is not None
    assert protected(Path("/etc/.git/x"), root, home) is not None


def test_symlink_to_a_protected_path_is_protected(project: Path) -> None:
    hooks = project / ".git" / "hooks"
    hooks.mkdir(parents=True)
    (project / "innocent").symlink_to(hooks)
    assert protected(project / "innocent" / "pre-commit", project, Path("/nonexistent-home")) is not None


def test_fold() -> None:
    assert fold(".GIT") == ".git"
    assert fold(".git ") == ".git"
    assert fold("..") == ".."

"""`agentls memory` and `/context` list the memory files a session loads, with their sizes and
what is wrong with them; the request carries them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.helpers import run_cli
from tests.fakeapi import FakeMessagesAPI, Reply, Text


def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / ".claude" / "rules").mkdir(parents=True)
    (root / "AGENTS.md").write_text("PROJECT-MEMORY. See @docs/style.md and @docs/gone.md\n")
    (root / "docs").mkdir()
    (root / "docs" / "style.md").write_text("STYLE-GUIDE\n")
    (root / ".claude" / "rules" / "api.md").write_text("---\npaths: api/**/*.py\n---\nAPI-RULE\n")
    return root


def test_agentls_memory_lists_files_rules_and_problems(tmp_path: Path) -> None:
    root = project(tmp_path)
    done = run_cli(["memory", "--json"], home=tmp_path / "home", base_url=None, cwd=root)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    files = [(Path(f["path"]).name, f["scope"], f["importedBy"]) for f in report["files"]]
    assert ("AGENTS.md", "project", None) in files
    assert ("style.md", "import", str(root / "AGENTS.md")) in files
    assert report["rulesWithPaths"] == [
        {"path": str(root / ".claude" / "rules" / "api.md"), "paths": ["api/**/*.py"]}
    ]
    assert any("gone.md: no such file" in w for w in report["warnings"])
    text = run_cli(["memory"], home=tmp_path / "home", base_url=None, cwd=root).stdout
    assert "imported by" in text and "warning:" in text and "api/**/*.py" in text


def test_the_request_carries_memory_and_context_lists_it(tmp_path: Path) -> None:
    root = project(tmp_path)
    with FakeMessagesAPI([Reply([Text("ok")])]) as fake:
        done = run_cli(["run", "hi"], home=tmp_path / "home", base_url=fake.base_url, cwd=root)
        assert done.returncode == 0, done.stderr
        system = json.dumps(fake.requests[0]["system"])
        assert "PROJECT-MEMORY" in system and "STYLE-GUIDE" in system and "API-RULE" not in system
        shown = run_cli(["run", "/context"], home=tmp_path / "home", base_url=fake.base_url, cwd=root)
    assert shown.returncode == 0, shown.stderr
    assert "Memory files (≈ tokens):" in shown.stdout
    assert str(root / "AGENTS.md") in shown.stdout and "imported by" in shown.stdout
    assert "gone.md" in shown.stderr  # The broken import is a warning when the session starts.

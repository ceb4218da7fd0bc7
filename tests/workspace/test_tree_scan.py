"""`TreeScanner`: what a scan lists in a git repository (changed, deleted, untracked; ignored files
left out; a workspace that is a sub-folder of its repository; the index listed again only when it
changed) and without git (every file, version-control folders skipped, a cap that says so)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from agentls.store.blobs import BlobMissing, BlobStore, blob_id
from agentls.workspace.tree_scan import TreeScanner

GIT = ["git", "-c", "user.email=t@example.com", "-c", "user.name=T", "-c", "commit.gpgsign=false"]


def commit_all(root: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "x"], cwd=root, check=True)


def test_git_lists_what_differs_from_the_index_and_names_the_rest_by_blob_id(project: Path) -> None:
    (project / "sub").mkdir()
    (project / "kept.txt").write_text("kept\n")
    (project / "changed.txt").write_text("old\n")
    (project / "gone.txt").write_text("gone\n")
    (project / "sub" / "inner.txt").write_text("inner\n")
    (project / ".gitignore").write_text("*.log\n")
    commit_all(project)
    (project / "changed.txt").write_text("new\n")
    (project / "gone.txt").unlink()
    (project / "fresh.txt").write_text("fresh\n")
    (project / "noise.log").write_text("ignored\n")
    os.symlink("kept.txt", project / "link.txt")

    scanner = TreeScanner(project)
    state = scanner.scan()
    assert state.mode == "git"
    assert set(state.files) == {"changed.txt", "gone.txt", "fresh.txt"}
    assert state.files["gone.txt"] is None
    assert state.index["kept.txt"] == blob_id(b"kept\n") and "noise.log" not in state.index
    assert "link.txt" in state.skipped
    assert scanner.git_blobs([state.index["changed.txt"], "0" * 40]) == {state.index["changed.txt"]: b"old\n"}

    # Unchanged index: the same listing, not a new one; a commit changes it.
    assert scanner.scan().index is state.index
    subprocess.run([*GIT, "add", "changed.txt"], cwd=project, check=True)
    again = scanner.scan()
    assert again.index is not state.index and again.index["changed.txt"] == blob_id(b"new\n")
    assert state.candidates(again) == {"changed.txt"}

    # A workspace that is a folder inside the repository sees its own files, named from there.
    inner = TreeScanner(project / "sub")
    (project / "sub" / "inner.txt").write_text("edited\n")
    sub = inner.scan()
    assert set(sub.files) == {"inner.txt"} and set(sub.index) == {"inner.txt"}


def test_without_git_every_file_is_listed_up_to_the_cap(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / "a" / ".git").mkdir(parents=True)  # A stray VCS folder is not walked.
    (root / "a" / ".git" / "HEAD").write_text("x")
    for i in range(5):
        (root / "a" / f"f{i}.txt").write_text(str(i))
    state = TreeScanner(root).scan()
    assert state.mode == "scan" and len(state.files) == 5 and not state.truncated
    capped = TreeScanner(root, max_files=3).scan()
    assert capped.truncated and len(capped.files) == 3
    (root / "a" / "f0.txt").write_text("changed!")
    assert state.candidates(TreeScanner(root).scan()) == {"a/f0.txt"}


def test_the_content_store_keeps_each_content_once_and_refuses_damage(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "store")
    first = store.put(b"hello\n")
    assert first == blob_id(b"hello\n") and store.put(b"hello\n") == first
    assert store.get(first) == b"hello\n" and store.written == 6
    path = tmp_path / "store" / first[:2] / first[2:]
    path.write_bytes(b"tampered")
    with pytest.raises(BlobMissing, match="damaged"):
        store.get(first)
    with pytest.raises(BlobMissing, match="not a content id"):
        store.get("../../etc/passwd")

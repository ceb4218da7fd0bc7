"""DiskWorkspace: stat/read edge cases and all-or-nothing, byte-preserving `apply`."""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

import pytest

from agentls.workspace import disk
from agentls.workspace.disk import DiskWorkspace
from agentls.workspace.pinned import FileId
from agentls.workspace.port import (
    EditFile,
    FileChange,
    FileStat,
    Overlay,
    Replacement,
    StaleFileError,
    WorkspaceError,
    WriteFile,
)
from agentls.workspace.text import content_version


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


async def test_root_and_overlay(disk_ws: DiskWorkspace, project: Path) -> None:
    assert disk_ws.root == project
    assert disk_ws.overlay() == Overlay()


async def test_stat_kinds(disk_ws: DiskWorkspace, project: Path) -> None:
    (project / "f.txt").write_bytes(b"12345")
    (project / "d").mkdir()
    os.mkfifo(project / "fifo")
    (project / "link").symlink_to(project / "f.txt")
    (project / "dangling").symlink_to(project / "nowhere")

    st = await disk_ws.stat(project / "f.txt")
    assert isinstance(st, FileStat)
    assert (st.kind, st.size) == ("file", 5)
    assert st.mtime_ns == (project / "f.txt").stat().st_mtime_ns
    assert (await disk_ws.stat(project / "d")).kind == "directory"  # type: ignore[union-attr]
    assert (await disk_ws.stat(project / "fifo")).kind == "other"  # type: ignore[union-attr]
    assert (await disk_ws.stat(project / "link")).kind == "file"  # type: ignore[union-attr]
    assert await disk_ws.stat(project / "dangling") is None
    assert await disk_ws.stat(project / "missing") is None
    assert await disk_ws.stat(project / "f.txt" / "below-a-file") is None


async def test_read_returns_bytes_and_version(disk_ws: DiskWorkspace, project: Path) -> None:
    data = codecs.BOM_UTF8 + b"a\r\nb\xff\n"
    (project / "f.txt").write_bytes(data)
    content = await disk_ws.read(project / "f.txt")
    assert content.path == project / "f.txt"
    assert content.data == data
    assert content.version == content_version(data)


async def test_read_relative_path_is_taken_from_root(disk_ws: DiskWorkspace, project: Path) -> None:
    (project / "f.txt").write_bytes(b"x")
    assert (await disk_ws.read(Path("f.txt"))).data == b"x"


async def test_read_large_file_goes_through_thread(disk_ws: DiskWorkspace, project: Path) -> None:
    data = b"0123456789abcdef\n" * 100_000  # 1.7 MB, above the in-loop threshold.
    (project / "big.txt").write_bytes(data)
    assert (await disk_ws.read(project / "big.txt")).data == data


async def test_read_missing(disk_ws: DiskWorkspace, project: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"^File does not exist: .*/missing\.txt$"):
        await disk_ws.read(project / "missing.txt")


async def test_read_directory(disk_ws: DiskWorkspace, project: Path) -> None:
    (project / "d").mkdir()
    with pytest.raises(WorkspaceError, match=r"is a directory, not a file; use Glob or Bash ls"):
        await disk_ws.read(project / "d")


@pytest.mark.timeout(10)
async def test_read_fifo_refused_without_blocking(disk_ws: DiskWorkspace, project: Path) -> None:
    os.mkfifo(project / "fifo")
    with pytest.raises(WorkspaceError, match="not a regular file"):
        await disk_ws.read(project / "fifo")


@pytest.mark.timeout(10)
def test_low_level_read_of_fifo_does_not_block(project: Path) -> None:
    # The stat check can race with a swap to a FIFO; the open itself must not wait for a writer.
    os.mkfifo(project / "fifo")
    with pytest.raises(WorkspaceError, match="not a regular file"):
        disk._read_pinned(project / "fifo", project / "fifo", 100)


async def test_read_size_cap(project: Path) -> None:
    ws = DiskWorkspace(project, max_read_bytes=10)
    (project / "ok.txt").write_bytes(b"x" * 10)
    (project / "big.txt").write_bytes(b"x" * 11)
    assert (await ws.read(project / "ok.txt")).data == b"x" * 10
    with pytest.raises(WorkspaceError, match=r"too large \(11 bytes; the limit is 10\)"):
        await ws.read(project / "big.txt")


async def test_write_new_file_creates_parents_with_umask_mode(disk_ws: DiskWorkspace, project: Path) -> None:
    path = project / "a" / "b" / "new.txt"
    [applied] = await disk_ws.apply([WriteFile(path, "hello\n", expected_version=None)])
    assert applied.path == path
    assert applied.created is True
    assert applied.version == content_version(b"hello\n")
    assert path.read_bytes() == b"hello\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()
    assert [p.name for p in path.parent.iterdir()] == ["new.txt"]  # No temp file left behind.


async def test_write_new_refused_if_file_exists(disk_ws: DiskWorkspace, project: Path) -> None:
    path = project / "f.txt"
    path.write_bytes(b"keep")
    with pytest.raises(StaleFileError, match=r"already exists\. Read it first"):
        await disk_ws.apply([WriteFile(path, "new", expected_version=None)])
    assert path.read_bytes() == b"keep"


async def test_write_overwrite_checks_version(disk_ws: DiskWorkspace, project: Path) -> None:
    path = project / "f.txt"
    path.write_bytes(b"old")
    with pytest.raises(StaleFileError, match=r"modified since it was read.*Read the file again"):
        await disk_ws.apply([WriteFile(path, "new", expected_version=content_version(b"other"))])
    assert path.read_bytes() == b"old"
    [applied] = await disk_ws.apply([WriteFile(path, "new", expected_version=content_version(b"old"))])
    assert (applied.created, path.read_bytes()) == (False, b"new")


async def test_write_keeps_bom_of_existing_file(disk_ws: DiskWorkspace, project: Path) -> None:
    path = project / "f.txt"
    old = codecs.BOM_UTF8 + b"old"
    path.write_bytes(old)
    await disk_ws.apply([WriteFile(path, "new\n", expected_version=content_version(old))])
    assert path.read_bytes() == codecs.BOM_UTF8 + b"new\n"


async def test_write_to_deleted_file_is_stale(disk_ws: DiskWorkspace, project: Path) -> None:
    with pytest.raises(StaleFileError, match="no longer exists"):
        await disk_ws.apply([WriteFile(project / "gone.txt", "x", expected_version=content_version(b""))])
    assert not (project / "gone.txt").exists()


async def test_edit_replacements_in_any_order(disk_ws: DiskWorkspace, project: Path) -> None:
    path = project / "f.txt"
    path.write_bytes(b"one two three")
    edit = EditFile(
        path,
        content_version(b"one two three"),
        (Replacement(8, 13, "3"), Replacement(0, 3, "1"), Replacement(4, 4, "and ")),
    )
    [applied] = await disk_ws.apply([edit])
    assert path.read_bytes() == b"1 and two 3"
    assert applied.version == content_version(b"1 and two 3")
    assert applied.created is False


async def test_edit_preserves_bom_crlf_and_invalid_bytes(disk_ws: DiskWorkspace, project: Path) -> None:
    path = project / "f.txt"
    old = codecs.BOM_UTF8 + b"caf\xe9\r\nmiddle\r\n\xff\xfeend\r\n"
    path.write_bytes(old)
    # Decoded text offsets exclude the BOM: "caf\udce9\r\n" is 6 characters.
    edit = EditFile(path, content_version(old), (Replacement(6, 12, "MIDDLE"),))
    await disk_ws.apply([edit])
    assert path.read_bytes() == codecs.BOM_UTF8 + b"caf\xe9\r\nMIDDLE\r\n\xff\xfeend\r\n"


async def test_edit_missing_file_fails(disk_ws: DiskWorkspace, project: Path) -> None:
    with pytest.raises(StaleFileError, match="no longer exists"):
        await disk_ws.apply([EditFile(project / "nope.txt", "v", (Replacement(0, 0, "x"),))])
    assert not (project / "nope.txt").exists()


@pytest.mark.parametrize(
    ("replacements", "message"),
    [
        ((Replacement(0, 5, "x"), Replacement(3, 6, "y")), "overlap at character 3"),
        ((Replacement(2, 99, "x"),), r"Edit range 2-99 is outside"),
        ((Replacement(3, 2, "x"),), r"Edit range 3-2 is outside"),
    ],
)
async def test_edit_bad_ranges(
    disk_ws: DiskWorkspace, project: Path, replacements: tuple[Replacement, ...], message: str
) -> None:
    path = project / "f.txt"
    path.write_bytes(b"abcdefgh")
    with pytest.raises(WorkspaceError, match=message):
        await disk_ws.apply([EditFile(path, content_version(b"abcdefgh"), replacements)])
    assert path.read_bytes() == b"abcdefgh"


async def test_unencodable_text_is_refused(disk_ws: DiskWorkspace, project: Path) -> None:
    with pytest.raises(WorkspaceError, match="cannot be encoded as UTF-8"):
        await disk_ws.apply([WriteFile(project / "f.txt", "bad \ud800", expected_version=None)])
    assert not (project / "f.txt").exists()


async def test_stale_second_change_leaves_first_untouched(disk_ws: DiskWorkspace, project: Path) -> None:
    first, second = project / "first.txt", project / "second.txt"
    first.write_bytes(b"first")
    second.write_bytes(b"second")
    changes: list[FileChange] = [
        WriteFile(first, "FIRST", expected_version=content_version(b"first")),
        EditFile(second, content_version(b"stale"), (Replacement(0, 1, "S"),)),
        WriteFile(project / "third.txt", "new", expected_version=None),
    ]
    with pytest.raises(StaleFileError):
        await disk_ws.apply(changes)
    assert first.read_bytes() == b"first"
    assert second.read_bytes() == b"second"
    assert sorted(p.name for p in project.iterdir()) == ["first.txt", "second.txt"]


async def test_failed_write_rolls_back_earlier_writes(
    disk_ws: DiskWorkspace, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = project / "first.txt"
    first.write_bytes(b"first")
    real_write = disk.replace_at
    calls = 0

    def flaky_write(
        dir_fd: int, name: str, data: bytes, mode: int | None, expect: FileId | None, directory: Path
    ) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(28, "No space left on device")
        real_write(dir_fd, name, data, mode, expect, directory)

    monkeypatch.setattr(disk, "replace_at", flaky_write)
    changes = [
        WriteFile(first, "FIRST", expected_version=content_version(b"first")),
        WriteFile(project / "sub" / "created.txt", "new", expected_version=None),
        WriteFile(project / "third.txt", "third", expected_version=None),
    ]
    with pytest.raises(WorkspaceError, match=r"Could not write .*third\.txt: No space left.*restored"):
        await disk_ws.apply(changes)
    assert first.read_bytes() == b"first"
    assert sorted(p.name for p in project.iterdir()) == ["first.txt"]  # `sub/` removed too.


async def test_same_file_twice_is_refused(disk_ws: DiskWorkspace, project: Path) -> None:
    path = project / "f.txt"
    path.write_bytes(b"x")
    (project / "link").symlink_to(path)
    v = content_version(b"x")
    with pytest.raises(WorkspaceError, match="appears twice"):
        await disk_ws.apply([WriteFile(path, "a", v), WriteFile(project / "link", "b", v)])
    assert path.read_bytes() == b"x"


async def test_mode_is_preserved(disk_ws: DiskWorkspace, project: Path) -> None:
    path = project / "script.sh"
    path.write_bytes(b"echo hi\n")
    path.chmod(0o751)
    await disk_ws.apply([EditFile(path, content_version(b"echo hi\n"), (Replacement(5, 7, "bye"),))])
    assert path.read_bytes() == b"echo bye\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o751


async def test_write_through_symlink_keeps_link(disk_ws: DiskWorkspace, project: Path) -> None:
    (project / "real").mkdir()
    target = project / "real" / "f.txt"
    target.write_bytes(b"old")
    link = project / "link.txt"
    link.symlink_to(target)
    [applied] = await disk_ws.apply([WriteFile(link, "new", expected_version=content_version(b"old"))])
    assert applied.path == link
    assert link.is_symlink()
    assert os.readlink(link) == str(target)
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in project.iterdir()) == ["link.txt", "real"]


async def test_new_file_under_a_file_fails_before_writing(disk_ws: DiskWorkspace, project: Path) -> None:
    (project / "plain").write_bytes(b"")
    changes = [
        WriteFile(project / "ok.txt", "ok", expected_version=None),
        WriteFile(project / "plain" / "child.txt", "x", expected_version=None),
    ]
    with pytest.raises(WorkspaceError, match="is not a directory"):
        await disk_ws.apply(changes)
    assert not (project / "ok.txt").exists()


async def test_unchanged_content_keeps_the_file(disk_ws: DiskWorkspace, project: Path) -> None:
    path = project / "f.txt"
    path.write_bytes(b"same")
    inode = path.stat().st_ino
    [applied] = await disk_ws.apply([WriteFile(path, "same", expected_version=content_version(b"same"))])
    assert applied.version == content_version(b"same")
    assert path.stat().st_ino == inode  # Not rewritten.

"""Session log locations: the home directory, ids, lookup by prefix, listing."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from agentls.store.jsonl import JsonlWriter
from agentls.store.sessions import (
    AmbiguousSession,
    SessionNotFound,
    SessionStore,
    agentls_home,
)


def make_session(store: SessionStore, session_id: str, header: dict[str, object]) -> Path:
    path = store.path_for(session_id)
    with JsonlWriter.open(path) as w:
        w.append(header)
        w.append({"type": "message", "text": "x" * 100})
    return path


def test_home_from_agentls_home(tmp_path: Path) -> None:
    # conftest points AGENTLS_HOME at a per-test directory.
    assert agentls_home() == tmp_path / "agentls-home"
    assert SessionStore().root == tmp_path / "agentls-home" / "sessions"


def test_home_falls_back_to_xdg_then_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTLS_HOME")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert agentls_home() == tmp_path / "state" / "agentls"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")  # Invalid per the XDG spec.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert agentls_home() == tmp_path / "home" / ".local" / "state" / "agentls"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert agentls_home() == tmp_path / "home" / ".local" / "state" / "agentls"


def test_new_id_is_safe_unique_and_sorts_by_time(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    t0 = datetime(2025, 1, 2, 15, 30, 45, tzinfo=UTC)
    first = store.new_id(t0)
    assert re.fullmatch(r"20250102-153045-[0-9a-f]{8}", first)
    later = store.new_id(t0 + timedelta(seconds=1))
    assert sorted([later, first]) == [first, later]
    # A local-time `now` is converted to UTC, so ids from different zones still sort.
    east = timezone(timedelta(hours=5))
    assert store.new_id(datetime(2025, 1, 2, 20, 30, 46, tzinfo=east)).startswith("20250102-153046-")
    ids = {store.new_id() for _ in range(200)}
    assert len(ids) == 200
    for i in ids:
        store.path_for(i)  # Valid as a file name.


@pytest.mark.parametrize(
    "bad", ["../x", "a/b", "..", ".", "", "x.jsonl", "a b", "/etc/passwd", "a\\b", "é", "x" * 129]
)
def test_path_for_rejects_unsafe_ids(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="invalid session id"):
        SessionStore(tmp_path).path_for(bad)


def test_path_for_stays_inside_root(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    path = store.path_for("20250102-153045-abcdef01")
    assert path == tmp_path / "sessions" / "20250102-153045-abcdef01.jsonl"


def test_find_exact_and_unique_prefix(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    a = make_session(store, "20250101-100000-aaaa0001", {"type": "header"})
    b = make_session(store, "20250102-100000-bbbb0001", {"type": "header"})
    assert store.find("20250101-100000-aaaa0001") == a
    assert store.find("20250102") == b
    # An exact id wins even when it is also a prefix of another id.
    c = make_session(store, "abc", {})
    make_session(store, "abcd", {})
    assert store.find("abc") == c


def test_find_ambiguous_prefix(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    make_session(store, "20250101-100000-aaaa0001", {})
    make_session(store, "20250101-110000-aaaa0002", {})
    with pytest.raises(AmbiguousSession) as info:
        store.find("20250101")
    assert info.value.matches == ["20250101-100000-aaaa0001", "20250101-110000-aaaa0002"]
    assert "20250101-100000-aaaa0001" in str(info.value)
    assert isinstance(info.value, LookupError)


@pytest.mark.parametrize("query", ["nope", "", "../x", "2026"])
def test_find_not_found_says_how_to_list(tmp_path: Path, query: str) -> None:
    store = SessionStore(tmp_path / "sessions")
    make_session(store, "20250101-100000-aaaa0001", {})
    with pytest.raises(SessionNotFound) as info:
        store.find(query)
    assert isinstance(info.value, LookupError)
    message = str(info.value)
    assert "agentls sessions" in message and str(store.root) in message


def test_find_with_no_sessions_directory(tmp_path: Path) -> None:
    with pytest.raises(SessionNotFound, match="0 sessions"):
        SessionStore(tmp_path / "missing").find("x")


def test_list_newest_first_with_headers(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    assert store.list() == []
    old = make_session(store, "20250101-100000-aaaa0001", {"type": "header", "cwd": "/old"})
    new = make_session(store, "20250102-100000-bbbb0001", {"type": "header", "cwd": "/new"})
    mid = make_session(store, "20250103-100000-cccc0001", {"type": "header", "cwd": "/mid"})
    now = 1_750_000_000
    os.utime(old, (now - 300, now - 300))
    os.utime(mid, (now - 200, now - 200))
    os.utime(new, (now - 100, now - 100))  # Created earlier than `mid` but active later.
    # Noise the listing must ignore.
    (store.root / "notes.txt").write_text("hi")
    (store.root / "bad name.jsonl").write_text("{}\n")
    (store.root / "dir.jsonl").mkdir()

    infos = store.list()
    assert [i.path for i in infos] == [new, mid, old]
    assert [i.id for i in infos] == [
        "20250102-100000-bbbb0001",
        "20250103-100000-cccc0001",
        "20250101-100000-aaaa0001",
    ]
    assert infos[0].header == {"seq": 1, "type": "header", "cwd": "/new"}
    assert infos[0].size == new.stat().st_size and infos[0].mtime == now - 100


def test_list_tolerates_damaged_headers(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.path_for("torn").write_bytes(b'{"seq":1,"ty')
    store.path_for("garbage").write_bytes(b"not json\n")
    store.path_for("array").write_bytes(b"[1]\n")
    store.path_for("empty").write_bytes(b"")
    store.path_for("huge").write_bytes(b'{"x":"' + b"y" * 2_000_000 + b'"}\n')
    infos = {i.id: i for i in store.list()}
    assert set(infos) == {"torn", "garbage", "array", "empty", "huge"}
    assert all(i.header is None for i in infos.values())

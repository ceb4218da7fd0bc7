"""A content-addressed store of file contents: what checkpoints keep so a rewind can put files back.

Each content is one file named by its id under `<root>/<id[:2]>/<id[2:]>`. The id is git's blob id
of the bytes (`blob_id`), so the content of a file git tracks can be named before it is copied
here, and the same bytes are stored once however often they are seen. A put writes a temp file,
syncs it and renames it into place (then syncs the directory): after `put` returns, the content
survives a crash, which is what lets a checkpoint be written *before* the change it protects.
Contents are never rewritten; a corrupt or missing one is reported, not guessed at.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Literal

ObjectFormat = Literal["sha1", "sha256"]

_DIR_MODE = 0o700
_FILE_MODE = 0o600


class BlobMissing(LookupError):
    """The store has no (intact) content under this id."""


def blob_id(data: bytes, algorithm: ObjectFormat = "sha1") -> str:
    """git's object id of a blob with these bytes (`git hash-object`)."""
    digest = hashlib.new(algorithm)
    digest.update(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


class BlobStore:
    """Contents by id, in one directory; nothing is created until the first put."""

    def __init__(self, root: Path, algorithm: ObjectFormat = "sha1") -> None:
        self.root = root
        self.algorithm = algorithm
        self.written = 0
        """Bytes this object has added to the store (new contents only)."""

    def _path(self, content_id: str) -> Path:
        if len(content_id) < 4 or not all(c in "0123456789abcdef" for c in content_id):
            raise BlobMissing(f"not a content id: {content_id!r}")
        return self.root / content_id[:2] / content_id[2:]

    def has(self, content_id: str) -> bool:
        try:
            return self._path(content_id).is_file()
        except BlobMissing:
            return False

    def put(self, data: bytes) -> str:
        """Store `data` durably (once) and return its id."""
        content_id = blob_id(data, self.algorithm)
        path = self._path(content_id)
        if path.is_file():
            return content_id
        path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _FILE_MODE)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise
        os.close(fd)
        temp.replace(path)
        _fsync_dir(path.parent)
        self.written += len(data)
        return content_id

    def get(self, content_id: str) -> bytes:
        """The bytes stored under `content_id`; `BlobMissing` if absent or damaged."""
        path = self._path(content_id)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise BlobMissing(f"content {content_id[:12]} is not in {self.root}: {e.strerror or e}") from e
        algorithm: ObjectFormat = "sha256" if len(content_id) == 64 else "sha1"
        if blob_id(data, algorithm) != content_id:
            raise BlobMissing(f"content {content_id[:12]} in {self.root} is damaged (its bytes do not match)")
        return data

    def size(self) -> int:
        """Bytes stored, all contents together."""
        total = 0
        try:
            folders = list(os.scandir(self.root))
        except OSError:
            return 0
        for folder in folders:
            if folder.is_dir(follow_symlinks=False):
                with os.scandir(folder.path) as entries:
                    total += sum(e.stat(follow_symlinks=False).st_size for e in entries if e.is_file())
        return total


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # Some file systems refuse to sync a directory; the rename is still done.
    finally:
        os.close(fd)

"""Where stored files live: a local directory, the database, or an S3-compatible object store.

Each backend keeps bytes under a key: an evidence file's or identity document's SHA-256 (hex),
or ``imports/<stored_name>`` for a queued import's upload. Writing a key again is harmless and
makes it young again (on the database backend, once it has aged past half the grace): the
orphan purge spares what was stored less than a grace period ago, so a transaction still in
flight never loses the file it has just stored, identical files included. ``entries`` lists
every key with the time it was last written, for that purge.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models import StoredBlob

DIGEST = re.compile(r"[0-9a-f]{64}")
IMPORTS = "imports"


def is_digest(key: str) -> bool:
    return DIGEST.fullmatch(key) is not None


def wall_clock() -> datetime:
    """Storage ages are physical, as a file's mtime or an object's Last-Modified are, and so is
    the grace they protect (a transaction's lifetime): never the platform's movable clock."""
    return datetime.now(UTC)


class Backend(Protocol):
    name: str
    shared: bool  # what one host stores, every host reads

    def put(self, key: str, data: bytes) -> None: ...
    def put_file(self, key: str, path: Path) -> None: ...
    def read(self, key: str) -> bytes | None: ...
    def source(self, key: str) -> Path | BinaryIO | None: ...
    def fetch_to(self, key: str, path: Path) -> bool: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str, written_before: datetime | None = None) -> bool: ...
    def entries(self) -> Iterator[tuple[str, datetime]]: ...


class LocalBackend:
    """Files under a directory (UPLOAD_DIR): ``<digest[:2]>/<digest>`` and ``imports/<name>``,
    as before there was a choice. Shared by several hosts only if the directory is a shared mount."""

    name = "local"

    def __init__(self, root: Path, shared: bool = False):
        self.root, self.shared = root, shared

    def path(self, key: str) -> Path:
        if is_digest(key):
            return self.root / key[:2] / key
        parts = Path(key).parts
        if not parts or any(p in ("", ".", "..") for p in parts) or Path(key).is_absolute():
            raise ValueError(f"not a storage key: {key!r}")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes) -> None:
        path = self.path(key)
        if path.exists():
            os.utime(path)  # young again: see the module's docstring
            return
        self._write(path, lambda out: out.write(data))

    def put_file(self, key: str, path: Path) -> None:
        target = self.path(key)
        if target.resolve() == path.resolve():
            return  # the import's upload was written in place
        with open(path, "rb") as source:
            self._write(target, lambda out: shutil.copyfileobj(source, out))

    @staticmethod
    def _write(path: Path, write) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)
            os.replace(tmp, path)  # atomic: a reader never sees half a file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    def source(self, key: str) -> Path | None:
        path = self.path(key)
        return path if path.exists() else None

    def fetch_to(self, key: str, path: Path) -> bool:
        source = self.path(key)
        if source.resolve() == path.resolve():
            return source.exists()
        try:
            with open(source, "rb") as f:
                self._write(path, lambda out: shutil.copyfileobj(f, out))
        except FileNotFoundError:
            return False
        return True

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete(self, key: str, written_before: datetime | None = None) -> bool:
        path = self.path(key)
        try:
            if written_before and datetime.fromtimestamp(path.stat().st_mtime, UTC) >= written_before:
                return False  # stored again meanwhile
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def entries(self) -> Iterator[tuple[str, datetime]]:
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or not (len(folder.name) == 2 or folder.name == IMPORTS):
                continue
            for file in sorted(folder.iterdir()):
                if file.is_file():
                    key = file.name if is_digest(file.name) else f"{folder.name}/{file.name}"
                    yield key, datetime.fromtimestamp(file.stat().st_mtime, UTC)


class DatabaseBackend:
    """Rows of ``stored_blob``, written in the session's transaction: the file and the row that
    points to it are committed, or rolled back, together."""

    name = "database"
    shared = True

    def put(self, key: str, data: bytes) -> None:
        """Insert the row, or if the key is stored already make it young again, but only if it
        has aged past half the purge's grace: an UPDATE of a younger row would change nothing the
        purge looks at and would lock the row to this transaction's commit, so that every
        submission of the same file (a form many applicants attach) would queue on it. A row
        the purge could take before this transaction ends is refreshed and locked, and the
        purge's DELETE, which checks the age again once the lock is its, leaves it."""
        now = wall_clock()
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        insert = (dialect.insert(StoredBlob).values(name=key, data=data, size=len(data), created_at=now)
                  .on_conflict_do_nothing(index_elements=[StoredBlob.name]).returning(StoredBlob.name))
        if db.session.execute(insert).first() is None:  # stored already (never a duplicate-key error)
            young = now - current_app.config["STORAGE_ORPHAN_GRACE"] / 2
            db.session.execute(update(StoredBlob).where(StoredBlob.name == key, StoredBlob.created_at < young)
                               .values(created_at=now))

    def put_file(self, key: str, path: Path) -> None:
        self.put(key, path.read_bytes())

    def read(self, key: str) -> bytes | None:
        return db.session.scalar(select(StoredBlob.data).where(StoredBlob.name == key))

    def source(self, key: str) -> BinaryIO | None:
        data = self.read(key)
        return None if data is None else io.BytesIO(data)

    def fetch_to(self, key: str, path: Path) -> bool:
        data = self.read(key)
        if data is None:
            return False
        LocalBackend._write(path, lambda out: out.write(data))
        return True

    def exists(self, key: str) -> bool:
        return db.session.scalar(select(StoredBlob.name).where(StoredBlob.name == key)) is not None

    def delete(self, key: str, written_before: datetime | None = None) -> bool:
        statement = delete(StoredBlob).where(StoredBlob.name == key)
        if written_before:
            # Checked again on the row as it is once its lock is ours: a submission that stored
            # the same file meanwhile made it young, and it stays.
            statement = statement.where(StoredBlob.created_at < written_before)
        return db.session.execute(statement).rowcount > 0

    def entries(self) -> Iterator[tuple[str, datetime]]:
        yield from db.session.execute(select(StoredBlob.name, StoredBlob.created_at).order_by(StoredBlob.name))

"""Uploaded files (evidence, identity documents): type sniffed from the content, stored outside
the web root under a hash. Below every service package: cases and bindings both store files."""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.errors import InvalidInput

MAX_FILE_BYTES = 10 * 1024 * 1024
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


@dataclass(frozen=True)
class Upload:
    purpose: str
    filename: str
    data: bytes


def sniff_content_type(data: bytes) -> str | None:
    """The type the bytes really are (PDF, PNG or JPEG), whatever the file is called."""
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature):
            return content_type
    return None


def check_upload(upload: Upload) -> str:
    if not upload.data:
        raise InvalidInput(_l("The file %(name)s is empty.", name=upload.filename))
    if len(upload.data) > MAX_FILE_BYTES:
        raise InvalidInput(_l("The file %(name)s is larger than 10 MB.", name=upload.filename))
    content_type = sniff_content_type(upload.data)
    if content_type is None:
        raise InvalidInput(
            _l("The file %(name)s is not a PDF, JPG or PNG file.", name=upload.filename)
        )
    return content_type


def store(data: bytes) -> str:
    """Write the bytes under their SHA-256 (once; identical files share storage)."""
    digest = hashlib.sha256(data).hexdigest()
    path = blob_path(digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    return digest


def discard(digest: str) -> bool:
    """Delete the stored file of ``digest`` (the retention purge, once no row uses it); whether
    there was one."""
    try:
        blob_path(digest).unlink()
    except FileNotFoundError:
        return False
    return True


def blob_path(digest: str) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / digest[:2] / digest


def safe_filename(name: str) -> str:
    """Keep the name for display only: no directories, no control characters, bounded length."""
    name = os.path.basename((name or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[-200:] or "file"

"""Verification codes: 16 characters of base32 (80 random bits), printed on the letter; the
database keeps their SHA-256 only."""
from __future__ import annotations

import base64
import hashlib
import re
import secrets

from app.site import site_address

VERIFY_PATH = "/letters/verify"  # the public verification page (app/web/letters.py)
_NOT_CODE = re.compile(r"[\s\-_.]")
_BASE32 = re.compile(r"[A-Z2-7]{16}")


def new_code() -> str:
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii")


def normalise(typed: str) -> str | None:
    """The code as typed (spaces, dashes, lower case, O/0 and I/1 confused), or None when it
    cannot be one."""
    code = _NOT_CODE.sub("", typed or "").upper().replace("0", "O").replace("1", "I").replace("8", "B")
    return code if _BASE32.fullmatch(code) else None


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def grouped(code: str) -> str:
    """ABCD-EFGH-JKLM-NPQR: easier to read out and type."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def verify_url(code: str) -> str:
    return f"{site_address()}{VERIFY_PATH}?code={code}"

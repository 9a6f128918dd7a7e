"""The parts of a second factor that need no database: TOTP codes (RFC 6238, through pyotp), the
secret's encryption at rest, and the recovery codes' salted hashes.

The parameters are the ones every authenticator app reads from the QR code's ``otpauth://`` URI
without asking: SHA-1, 6 digits, 30-second steps. ``tests/unit/test_totp_vectors.py`` holds this
wrapper to the RFC's own test vectors. One step either side of now is accepted, for a phone's
clock that is a little off; which step matched is returned, so the caller can refuse it twice.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pyotp.utils import strings_equal

DIGITS = 6
INTERVAL = 30  # seconds per time step
DIGEST = hashlib.sha1  # what authenticator apps assume; RFC 6238's default
VALID_WINDOW = 1  # steps either side of now
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: read off paper
_RECOVERY_LENGTH = 10  # about 50 random bits each


def new_secret() -> str:
    """160 random bits in base32, the length RFC 4226 recommends."""
    return pyotp.random_base32(length=32)


def totp(secret: str, digits: int = DIGITS, digest=DIGEST) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=digits, digest=digest, interval=INTERVAL)


def code_at(secret: str, when: datetime | int, digits: int = DIGITS, digest=DIGEST) -> str:
    return totp(secret, digits, digest).at(when)


def time_step(when: datetime) -> int:
    return int(when.timestamp()) // INTERVAL


def matching_step(secret: str, code: str, when: datetime) -> int | None:
    """The time step whose code ``code`` is, within the window around ``when``; None when none."""
    if not looks_like_code(code):
        return None
    generator = totp(secret)
    now = generator.timecode(when)
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if strings_equal(code, generator.generate_otp(step)):
            return step
    return None


def looks_like_code(code: str) -> bool:
    return re.fullmatch(rf"\d{{{DIGITS}}}", code) is not None


def normalise(code: str | None) -> str:
    """What was typed, without the spaces and hyphens people add when they copy a code."""
    return re.sub(r"[\s\-]", "", code or "").lower()[:40]


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return totp(secret).provisioning_uri(name=account, issuer_name=issuer)


# --- the secret at rest ----------------------------------------------------------------------

def _fernet(key_material: str) -> Fernet:
    """A Fernet key derived from the application's secret (HKDF), so that a copy of the database
    alone makes no codes. Changing ``SECRET_KEY`` without ``TWO_FACTOR_KEY`` makes the stored
    secrets unreadable: those users are asked to enrol again after an admin reset."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"casedesk two-factor secret").derive(key_material.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(secret: str, key_material: str) -> str:
    return _fernet(key_material).encrypt(secret.encode()).decode()


def unseal(sealed: str, key_material: str) -> str | None:
    """The secret, or None when it was sealed with another key."""
    try:
        return _fernet(key_material).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


# --- recovery codes --------------------------------------------------------------------------

def new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def recovery_hash(code: str, salt: str) -> str:
    """SHA-256 over a per-code salt and the code as typed (normalised). A slow hash would add
    nothing: the code has about 50 random bits, and ten of them are tried at each sign-in."""
    return hashlib.sha256(bytes.fromhex(salt) + normalise(code).encode()).hexdigest()


def new_salt() -> str:
    return secrets.token_hex(16)


def recovery_matches(code: str, salt: str, code_hash: str) -> bool:
    return hmac.compare_digest(recovery_hash(code, salt), code_hash)

"""The TOTP wrapper (app/services/accounts/totp.py) held to fixed vectors, not to itself: RFC 6238
Appendix B (codes, time steps), the 6-digit truncation authenticator apps use, the key-URI format
they read, and a SHA-256 computed outside Python for the recovery codes' hash."""
from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from app.services.accounts import totp

# RFC 6238, Appendix B: the seeds (ASCII) and the 8-digit codes at each time.
SEEDS = {
    "sha1": (hashlib.sha1, b"12345678901234567890"),
    "sha256": (hashlib.sha256, b"12345678901234567890123456789012"),
    "sha512": (hashlib.sha512, b"1234567890123456789012345678901234567890123456789012345678901234"),
}
VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]
# The same appendix: T, the time step, in hex.
STEPS = {59: 0x1, 1111111109: 0x23523EC, 1111111111: 0x23523ED, 1234567890: 0x273EF07,
         2000000000: 0x3F940AA, 20000000000: 0x27BC86AA}


def _secret(mode: str) -> str:
    return base64.b32encode(SEEDS[mode][1]).decode()


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@pytest.mark.parametrize(("seconds", "sha1", "sha256", "sha512"), VECTORS)
def test_the_rfc_6238_vectors(seconds, sha1, sha256, sha512):
    for mode, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        assert totp.code_at(_secret(mode), _at(seconds), digits=8, digest=SEEDS[mode][0]) == expected, mode


@pytest.mark.parametrize(("seconds", "sha1", "sha256", "sha512"), VECTORS)
def test_the_codes_we_ask_for_are_the_rfc_codes_truncated_to_six_digits(seconds, sha1, sha256, sha512):
    """What staff type: SHA-1, 6 digits, 30 s (the defaults of every app); the RFC's 8-digit code
    mod 10^6 is its last six digits."""
    assert totp.code_at(_secret("sha1"), _at(seconds)) == sha1[-6:]
    assert totp.matching_step(_secret("sha1"), sha1[-6:], _at(seconds)) == STEPS[seconds]


@pytest.mark.parametrize("seconds", sorted(STEPS))
def test_the_time_steps_are_the_rfc_ones(seconds):
    assert totp.time_step(_at(seconds)) == STEPS[seconds]


def test_a_code_is_accepted_one_step_either_side_and_no_further():
    secret, code, step = _secret("sha1"), "081804", 0x23523EC  # 1111111109: 07081804
    assert totp.matching_step(secret, code, _at(1111111109 + 30)) == step  # the phone is 30 s slow
    assert totp.matching_step(secret, code, _at(1111111109 - 29)) == step  # the same step (1111111080-109)
    assert totp.matching_step(secret, code, _at(1111111109 - 40)) == step  # the phone is fast
    assert totp.matching_step(secret, code, _at(1111111109 + 61)) is None
    assert totp.matching_step(secret, code, _at(1111111109 - 70)) is None
    assert totp.matching_step(secret, "081805", _at(1111111109)) is None
    assert totp.matching_step(secret, "81804", _at(1111111109)) is None  # 5 digits
    assert totp.matching_step(secret, "07081804", _at(1111111109)) is None  # the 8-digit code is not ours


def test_the_provisioning_uri_is_the_key_uri_format_apps_read():
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "officer@example.cn", "信用案件办理平台")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert parts.path == "/%E4%BF%A1%E7%94%A8%E6%A1%88%E4%BB%B6%E5%8A%9E%E7%90%86%E5%B9%B3%E5%8F%B0:officer%40example.cn"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["secret"] == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" and query["issuer"] == "信用案件办理平台"
    assert query.get("algorithm", "SHA1") == "SHA1" and query.get("digits", "6") == "6"
    assert query.get("period", "30") == "30"


def test_a_new_secret_has_160_bits():
    secret = totp.new_secret()
    assert len(base64.b32decode(secret)) == 20 and secret != totp.new_secret()


def test_the_recovery_hash_is_salted_sha256_of_the_code_as_typed():
    # printf '\x00\x01...\x0fabcde23456' | sha256sum
    salt = "000102030405060708090a0b0c0d0e0f"
    expected = "8c33daef1cd629eb554307e0497c7a4aa4ec9a109fca6694e8dee8669d7f9193"
    assert totp.recovery_hash("abcde-23456", salt) == expected
    assert totp.recovery_hash(" ABCDE 23456 ", salt) == expected  # as people copy it
    assert totp.recovery_hash("abcde-23456", "f" * 32) != expected  # the salt is in it


def test_recovery_codes_are_ten_characters_from_an_unambiguous_alphabet():
    codes = {totp.new_recovery_code() for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        assert len(code) == 11 and code[5] == "-"
        assert not set(code.replace("-", "")) & set("01ilo")


def test_the_secret_is_sealed_with_the_key_and_opens_with_it_only():
    sealed = totp.seal("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "key one")
    assert "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" not in sealed
    assert totp.unseal(sealed, "key one") == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    assert totp.unseal(sealed, "key two") is None

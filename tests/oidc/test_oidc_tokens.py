"""The ID token's validation (``app.web.oidc.validate_id_token``) on tokens the real provider
issued: ours is accepted; tampered, issued to another client, for another nonce or read after its
end, it is refused. No token here is signed by a key of the test's."""
from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from app import clock
from app.web import oidc as relying_party
from tests.oidc.conftest import ACCOUNTS, ID_TOKEN_TTL, OTHER


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.fixture
def validate(app, oidc):
    """``validate_id_token`` inside a request of the app configured for the provider."""
    with app.test_request_context("/auth/oidc/callback"):
        yield relying_party.validate_id_token


def test_a_token_for_us_is_accepted_with_its_claims(validate, oidc):
    token = oidc.tokens("rep", nonce="n-1")
    claims = validate(token["id_token"], "n-1", token["access_token"])
    assert claims["sub"] == "rep" and claims["aud"] == "casedesk" and claims["iss"] == oidc.issuer
    assert (claims["uscc"], claims["role"], claims["verified"]) == (ACCOUNTS["rep"]["uscc"], "legal_representative",
                                                                    True)


def test_a_flipped_signature_byte_is_refused(validate, oidc):
    token = oidc.tokens("rep", nonce="n-1")
    header, payload, signature = token["id_token"].split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[10] ^= 0x01
    with pytest.raises(relying_party.SignInRefused):
        validate(f"{header}.{payload}.{_b64(bytes(raw))}", "n-1", token["access_token"])


def test_a_changed_claim_is_refused(validate, oidc):
    token = oidc.tokens("unverified", nonce="n-1")
    header, payload, signature = token["id_token"].split(".")
    claims = {**_payload(token["id_token"]), "verified": True}  # the claim the sign-in hinges on
    forged = _b64(json.dumps(claims).encode())
    with pytest.raises(relying_party.SignInRefused):
        validate(f"{header}.{forged}.{signature}", "n-1", token["access_token"])


def test_a_token_issued_to_another_client_is_refused(validate, oidc):
    token = oidc.tokens("rep", client=OTHER, nonce="n-1")
    assert _payload(token["id_token"])["aud"] == OTHER["client_id"]  # real, signed by the provider
    with pytest.raises(relying_party.SignInRefused):
        validate(token["id_token"], "n-1", token["access_token"])


def test_a_token_from_another_issuer_is_refused(validate, app, oidc):
    """Even signed by keys we trust: the discovery document of the issuer we configured points at
    the provider's keys, but the token names the provider as its issuer."""
    metadata = relying_party._metadata()
    ours = "https://issuer.example"
    relying_party._cache[f"{ours}/.well-known/openid-configuration"] = (time.monotonic(), {**metadata, "issuer": ours})
    token = oidc.tokens("rep", nonce="n-1")
    app.config["OIDC_ISSUER"] = ours  # the fixture puts it back
    with pytest.raises(relying_party.SignInRefused):
        validate(token["id_token"], "n-1", token["access_token"])


def test_a_token_for_another_sign_in_is_refused(validate, oidc):
    token = oidc.tokens("rep", nonce="n-1")
    with pytest.raises(relying_party.SignInRefused):
        validate(token["id_token"], "n-2", token["access_token"])


def test_a_token_read_after_its_end_is_refused(validate, app, oidc):
    token = oidc.tokens("rep", nonce="n-1")
    exp = _payload(token["id_token"])["exp"]
    assert exp - time.time() <= ID_TOKEN_TTL
    leeway = app.config["OIDC_LEEWAY"]
    with clock.frozen_clock(datetime.fromtimestamp(exp + leeway - 5, UTC)):
        validate(token["id_token"], "n-1", token["access_token"])  # within the leeway: still good
    with clock.frozen_clock(datetime.fromtimestamp(exp, UTC) + timedelta(seconds=leeway + 1)), \
            pytest.raises(relying_party.SignInRefused):
        validate(token["id_token"], "n-1", token["access_token"])


def test_a_token_whose_access_token_hash_does_not_match_is_refused(validate, oidc):
    first, second = oidc.tokens("rep", nonce="n-1"), oidc.tokens("rep", nonce="n-1")
    with pytest.raises(relying_party.SignInRefused):
        validate(first["id_token"], "n-1", second["access_token"])


def test_keys_rolled_over_since_they_were_fetched_are_fetched_again(validate, oidc):
    metadata = relying_party._metadata()
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stale = RSAKey.import_key(private.public_key()).as_dict(private=False, kid="an-old-key")
    relying_party._cache[metadata["jwks_uri"]] = (time.monotonic(), {"keys": [stale]})
    token = oidc.tokens("rep", nonce="n-1")
    assert validate(token["id_token"], "n-1", token["access_token"])["sub"] == "rep"


def test_an_unsigned_token_is_refused_even_where_the_provider_offers_it(validate, app, oidc):
    metadata = relying_party._metadata()
    offering = {**metadata, "id_token_signing_alg_values_supported": ["RS256", "none"]}
    relying_party._cache[f"{oidc.issuer}/.well-known/openid-configuration"] = (time.monotonic(), offering)
    try:
        token = oidc.tokens("rep", nonce="n-1")
        unsigned = f'{_b64(json.dumps({"alg": "none"}).encode())}.{token["id_token"].split(".")[1]}.'
        with pytest.raises(relying_party.SignInRefused):  # (with the access token, its hash would refuse it too)
            validate(unsigned, "n-1")
    finally:
        relying_party._cache.pop(f"{oidc.issuer}/.well-known/openid-configuration")


@pytest.mark.parametrize("value", [None, "", "not.a.token", "a.b"])
def test_something_that_is_no_token_is_refused(validate, value):
    with pytest.raises(relying_party.SignInRefused):
        validate(value, "n-1")

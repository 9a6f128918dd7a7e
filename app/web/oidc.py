"""Sign-in with an identity provider (OpenID Connect), Authlib being the relying party.

``/auth/oidc/login`` sends the browser to the provider with a state, a nonce and a PKCE challenge
(S256) kept in the session; ``/auth/oidc/callback`` checks the state, exchanges the code over the
back channel (client secret, code verifier), validates the ID token (``validate_id_token``: its
signature against the provider's JWKS, issuer, audience, expiry, nonce, access-token hash) and
signs in the account the service finds or creates for its claims. Off while ``OIDC_ISSUER`` is
unset: no button, and both pages send to the password sign-in. A refusal is a 4xx page that says
what happened (a provider that does not answer, a 502), and stores nothing.
"""
from __future__ import annotations

import hmac
import re
import time

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from flask import Blueprint, current_app, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from app import clock
from app.errors import DomainError
from app.services import oidc as identity
from app.web.access import public
from app.web.home import home_endpoint, safe_next
from app.web.two_factor import after_identity_provider

bp = Blueprint("oidc", __name__, url_prefix="/auth/oidc")

_FLOW = "oidc_flow"  # the session's record of the sign-in under way: state, nonce, code verifier, next
_CACHE_SECONDS = 300  # discovery document and keys; an unknown key id fetches the keys again
_cache: dict[str, tuple[float, dict]] = {}


class SignInRefused(DomainError):
    """The provider's answer does not sign anybody in (state, error, token)."""

    status = 400


class ProviderUnavailable(DomainError):
    status = 502


def _refused_token() -> SignInRefused:
    return SignInRefused(_l("The identity service's answer could not be verified (its token is invalid, expired or "
                            "meant for another site). Nothing was stored. Please sign in again."))


def _unavailable() -> ProviderUnavailable:
    return ProviderUnavailable(_l("The identity service cannot be reached at the moment. Please try again later, "
                                  "or sign in with your password."))


def enabled() -> bool:
    return bool(current_app.config.get("OIDC_ISSUER"))


@bp.app_context_processor
def _sign_in_button():
    return {"oidc_label": current_app.config["OIDC_PROVIDER_LABEL"] if enabled() else None}


def _get_json(url: str, fresh: bool = False) -> dict:
    hit = _cache.get(url)
    if hit is not None and not fresh and time.monotonic() - hit[0] < _CACHE_SECONDS:
        return hit[1]
    try:
        response = requests.get(url, timeout=current_app.config["OIDC_TIMEOUT"])
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as error:
        current_app.logger.warning("identity provider: %s did not answer (%s)", url, type(error).__name__)
        raise _unavailable() from None
    if not isinstance(data, dict):
        raise _unavailable()
    _cache[url] = (time.monotonic(), data)
    return data


def _metadata() -> dict:
    """The provider's discovery document, which must name the configured issuer exactly."""
    issuer = current_app.config["OIDC_ISSUER"]
    metadata = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    if metadata.get("issuer") != issuer or not all(
            isinstance(metadata.get(key), str) for key in ("authorization_endpoint", "token_endpoint", "jwks_uri")):
        current_app.logger.error("identity provider: the discovery document does not match OIDC_ISSUER")
        raise _unavailable()
    return metadata


def _client() -> OAuth2Session:
    config = current_app.config
    return OAuth2Session(
        config["OIDC_CLIENT_ID"], config["OIDC_CLIENT_SECRET"], scope=config["OIDC_SCOPES"],
        redirect_uri=config.get("OIDC_REDIRECT_URI") or url_for("oidc.callback", _external=True),
        code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic",
        default_timeout=config["OIDC_TIMEOUT"],
    )


def _decode(id_token: str, metadata: dict):
    algorithms = [alg for alg in metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
                  if alg != "none"]  # an unsigned token proves nothing, whatever the provider offers
    try:
        return jwt.decode(id_token, KeySet.import_key_set(_get_json(metadata["jwks_uri"])), algorithms=algorithms)
    except InvalidKeyIdError:  # the provider rolled its keys over since we fetched them
        return jwt.decode(id_token, KeySet.import_key_set(_get_json(metadata["jwks_uri"], fresh=True)),
                          algorithms=algorithms)


def validate_id_token(id_token: str | None, nonce: str, access_token: str | None = None) -> dict:
    """The claims of ``id_token`` once Authlib has validated it, at the platform clock's now:
    signed by a key of the provider's JWKS, issued by ``OIDC_ISSUER`` to ``OIDC_CLIENT_ID``, not
    expired (``OIDC_LEEWAY`` seconds of skew), with this sign-in's nonce; else ``SignInRefused``."""
    config = current_app.config
    if not isinstance(id_token, str) or not id_token:
        raise _refused_token()
    metadata = _metadata()
    try:
        token = _decode(id_token, metadata)
        claims = CodeIDToken(
            token.claims, token.header,
            {"iss": {"essential": True, "value": config["OIDC_ISSUER"]},
             "aud": {"essential": True, "value": config["OIDC_CLIENT_ID"]}},
            {"nonce": nonce, "client_id": config["OIDC_CLIENT_ID"], "access_token": access_token},
        )
        claims.validate(now=int(clock.now().timestamp()), leeway=config["OIDC_LEEWAY"])
    except (JoseError, ValueError, TypeError) as error:
        current_app.logger.warning("identity provider: an ID token was refused (%s)", type(error).__name__)
        raise _refused_token() from None
    return dict(claims)


def _exchange(code: str, verifier: str) -> dict:
    try:
        return _client().fetch_token(_metadata()["token_endpoint"], code=code, code_verifier=verifier)
    except OAuthError as error:
        current_app.logger.warning("identity provider: the code was refused (%s)", error.error)
        raise SignInRefused(_l("The identity service refused to complete the sign-in. Please start it again.")) from None
    except (requests.RequestException, ValueError):
        raise _unavailable() from None


@bp.route("/login")
@public
def login():
    """To the provider, with a fresh state, nonce and code verifier; ``next`` is kept for after."""
    if not enabled():
        return redirect(url_for("auth.sign_in"))  # turned off: the password sign-in
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    nonce, verifier = generate_token(32), generate_token(64)
    uri, state = _client().create_authorization_url(_metadata()["authorization_endpoint"], nonce=nonce,
                                                    code_verifier=verifier)
    session[_FLOW] = {"state": state, "nonce": nonce, "verifier": verifier,
                      "next": safe_next(request.args.get("next")) or ""}
    return redirect(uri)


@bp.route("/callback")
@public
def callback():
    """Back from the provider: the code for a validated ID token, its claims for an account."""
    if not enabled():
        return redirect(url_for("auth.sign_in"))  # turned off: the password sign-in
    issuer = current_app.config["OIDC_ISSUER"]
    flow = session.pop(_FLOW, None)  # one answer per sign-in: a replayed callback finds nothing
    error = request.args.get("error")
    if error:
        shown = error if re.fullmatch(r"[a-z_]{1,40}", error) else "?"
        raise SignInRefused(_l("The identity service did not sign you in (%(error)s). Please try again.", error=shown))
    state = request.args.get("state", "")
    if not isinstance(flow, dict) or not hmac.compare_digest(state.encode(), str(flow.get("state", "")).encode()):
        raise SignInRefused(_l("This sign-in with the identity service did not start here, or it has expired. "
                               "Please start it again."))
    if request.args.get("iss", issuer) != issuer or not request.args.get("code"):
        raise SignInRefused(_l("The identity service's answer is incomplete or came from another service. "
                               "Please start the sign-in again."))
    token = _exchange(request.args["code"], flow["verifier"])
    claims = validate_id_token(token.get("id_token"), flow["nonce"], token.get("access_token"))
    user = identity.sign_in_by_claims(issuer, claims)
    # Signed in with the provider's strength (its ``amr``); staff without several factors there
    # are asked for their code first (issue 13). A fresh session at sign-in: no fixation.
    return after_identity_provider(user, claims, flow.get("next"))

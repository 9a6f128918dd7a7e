"""Signing in with an identity provider (OpenID Connect, issue 12): the account linked to the
provider's account, its subject and its binding, verified by the provider's claims.

Above accounts and bindings, beside cases: it creates an account and verifies its binding in one
transaction. Use case (commits once, or raises and is rolled back): ``sign_in_by_claims``.
``read_claims`` is the query that reads the claims without storing anything.
"""
from app.services.oidc.sign_in import VerifiedIdentity, read_claims, sign_in_by_claims

__all__ = ["VerifiedIdentity", "read_claims", "sign_in_by_claims"]

"""Access rules for views: deny by default.

Every view declares who may call it with one of the decorators below. A hook installed by
the application factory runs before every request and refuses any endpoint that declared
nothing, so a forgotten decorator is a 403, not an open door (and a test walks the URL map).
Object-level checks (whose case is it?) happen in the view with the ``can_*`` predicates.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user

from app.models.enums import Role
from app.services.accounts import authenticate_key

F = TypeVar("F", bound=Callable)

PUBLIC = "public"
SIGNED_IN = "signed_in"
API_KEY = "api_key"


def public(view: F) -> F:
    """Anyone, signed in or not."""
    view.access_rule = PUBLIC
    return view


def signed_in(view: F) -> F:
    """Any signed-in user, whatever the role."""
    view.access_rule = SIGNED_IN
    return view


def api_key(view: F) -> F:
    """A department's API key in ``Authorization: Bearer ...``; the key's department in ``g``."""
    view.access_rule = API_KEY
    return view


def roles(*allowed: Role) -> Callable[[F], F]:
    """Signed-in users with one of the given roles."""

    def mark(view: F) -> F:
        view.access_rule = frozenset(str(role) for role in allowed)
        return view

    return mark


def access_rule_of(endpoint: str | None):
    if endpoint is None:
        return None
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def enforce_access_rules():
    """``before_request`` hook: apply the endpoint's declared rule, refuse undeclared ones."""
    if request.endpoint in (None, "static"):
        return None  # 404s and static files
    rule = access_rule_of(request.endpoint)
    if rule is None:
        current_app.logger.error("endpoint %s declares no access rule; refused", request.endpoint)
        abort(403)
    if rule == PUBLIC:
        return None
    if rule == API_KEY:

        header = request.headers.get("Authorization", "")
        key = authenticate_key(header[7:].strip() if header.lower().startswith("bearer ") else None)
        if key is None:
            abort(401)
        g.api_key = key
        return None
    user = current_user._get_current_object()
    if not user.is_authenticated:
        if request.blueprint == "api":
            abort(401)
        return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
    if rule == SIGNED_IN or user.role in rule:
        return None
    abort(403)

"""``/healthz`` and ``/readyz`` (issue 17): for load balancers, orchestrators and monitoring.

``/healthz`` says the process serves requests and asks nothing of the database; ``/readyz``
asks the database (reachable, migrated to this code's head, the scheduler's heartbeat fresh)
and answers 503 naming the failing checks. Neither needs a sign-in nor reads a session, a
cookie or any person's data, neither is throttled, and both are meant for the hosts' own
addresses (gunicorn's 127.0.0.1:8000), not for the public site.
"""
from __future__ import annotations

import os
import socket
from datetime import timedelta

from flask import Blueprint, current_app, g, jsonify, request
from flask_login import AnonymousUserMixin

from app.services.operations import readiness
from app.web.access import public

bp = Blueprint("health", __name__)

# The probes and the scrape: no session, no cookie written.
ENDPOINTS = frozenset({"health.healthz", "health.readyz", "metrics.metrics"})
_HOST = socket.gethostname()


def skip_session():
    """``before_request``, first of all: a probe is nobody, so its session (if it sent a cookie)
    is not looked up in the database, and the probe does not touch it."""
    if request.endpoint in ENDPOINTS:
        g._login_user = AnonymousUserMixin()  # Flask-Login's cache of current_user


def _answer(body: dict, status: int):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/healthz")
@public
def healthz():
    return _answer({"status": "ok", "host": _HOST, "pid": os.getpid()}, 200)


@bp.route("/readyz")
@public
def readyz():
    max_age = current_app.config.get("READYZ_SCHEDULER_MAX_AGE")
    result = readiness(timedelta(seconds=int(max_age)) if max_age else None)
    failing = sorted(name for name, check in result.checks.items() if not check["ok"])
    body = {"status": "ready" if result.ready else "not ready", "checks": result.checks, "failing": failing}
    response = _answer(body, 200 if result.ready else 503)
    if not result.ready:
        response.headers["Retry-After"] = "10"
    return response

"""Application factory: settings, extensions, blueprints, access rules, error pages, CLI."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from flask import Flask, abort, request
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from app import clock
from app.cli import register_cli
from app.extensions import babel, csrf, db, limiter, login_manager, migrate
from app.logging_setup import install_request_logging, install_scrubber
from app.web import (
    admin,
    api,
    auth,
    binding,
    cases,
    dept,
    desk,
    filters,
    health,
    letters,
    metrics,
    oidc,
    passwords,
    portal,
    public,
    two_factor,
)
from app.web.access import enforce_access_rules
from app.web.errors import register_error_handlers
from app.web.home import refuse_unsafe_next
from app.web.i18n import Request, select_locale
from app.web.link_tokens import install_link_token_filter
from app.web.sessions import load_user
from config import BASE_DIR, load_config


def create_app(config: dict | str | None = None) -> Flask:
    """Build the application. ``config`` is an environment name or a dict of overrides for tests."""
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=os.environ.get("CASEDESK_INSTANCE", str(BASE_DIR / "instance")),
    )
    app.request_class = Request  # WTForms' catalogue loaded once, not per request (issue 16)
    if isinstance(config, dict):
        app.config.from_mapping(load_config("testing"))
        app.config.from_mapping(config)
    else:
        app.config.from_mapping(load_config(config))

    _prepare_instance(app)
    _trust_proxies(app)
    _init_logging(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_template_helpers(app)

    register_error_handlers(app)
    register_cli(app)
    return app


def _prepare_instance(app: Flask) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    if app.config.get("UPLOAD_DIR"):
        Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)


def _trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXY_COUNT`` reverse proxies, the client address and scheme are the ones
    the nearest proxies saw (the last hops of X-Forwarded-For); with 0, the peer's, and a client's
    own X-Forwarded-For is ignored (the throttles key on this address)."""
    count = int(app.config.get("TRUSTED_PROXY_COUNT") or 0)
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


def _init_logging(app: Flask) -> None:
    install_scrubber()
    install_link_token_filter()  # the tokens of password and sign-up links (issue 13)
    install_request_logging(app)  # the request id; LOG_FORMAT=json (issue 17)


def _end_sessions_safely(app: Flask) -> None:
    """End each request's session whatever the database does meanwhile: after a database
    restart, rolling back a connection the server dropped raises (its answer is already made),
    and Flask-SQLAlchemy's own teardown would turn that into a bare 500 (issue 17). The pool has
    discarded the connection by then; the next request gets a fresh one."""
    app.teardown_appcontext_funcs[:] = [f for f in app.teardown_appcontext_funcs
                                        if getattr(f, "__func__", None) is not type(db)._teardown_session]

    @app.teardown_appcontext
    def end_session(exc: BaseException | None) -> None:
        try:
            db.session.remove()
        except SQLAlchemyError:
            app.logger.warning("the database dropped the connection while the request's session ended")
            db.session.registry.clear()


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    _end_sessions_safely(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: app.config["TIMEZONE"])

    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.session_protection = "strong"

    # The user of the cookie's live server-side session (issue 13), or nobody.
    login_manager.user_loader(load_user)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """Make SQLite behave: foreign keys on, WAL for concurrent readers, real transactions.

    pysqlite starts transactions lazily and never for SELECT, which breaks SAVEPOINT and
    row-locking assumptions; we take over and emit BEGIN ourselves (see ``_sqlite_begin``).
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    """IMMEDIATE: take the write lock at the start, so that concurrent writers (the web
    process and the scheduler) queue up for ``busy_timeout`` instead of failing when a
    transaction that read first tries to write after another one committed. SQLite is the
    embedded single-host database; PostgreSQL is where concurrency is meant to scale."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _register_blueprints(app: Flask) -> None:
    class IdConverter(IntegerConverter):
        """Row ids as the database holds them (4-byte integers): anything else is a 404."""

        def __init__(self, url_map):
            super().__init__(url_map, min=1, max=2**31 - 1)

    app.url_map.converters["id"] = IdConverter
    for module in (public, auth, passwords, oidc, two_factor, portal, binding, desk, dept, admin, api, cases, letters, health,
                   metrics):
        app.register_blueprint(module.bp)
    csrf.exempt(api.bp)  # the API authenticates every call with a key, not a cookie
    for probe in (health.bp, metrics.bp):  # probes and scrapes (issue 17): no throttle, no form
        csrf.exempt(probe)
        limiter.exempt(probe)
    app.before_request(health.skip_session)
    metrics.register(app)
    app.before_request(refuse_nul_characters)
    app.before_request(refuse_unsafe_next)
    app.before_request(check_signed_in_session)
    app.before_request(enforce_access_rules)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("HSTS_MAX_AGE"):  # production: https only (issue 13)
            response.headers.setdefault(
                "Strict-Transport-Security", f"max-age={int(app.config['HSTS_MAX_AGE'])}; includeSubDomains")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        if not current_user.is_anonymous:  # not ``is_authenticated``: no reload after a commit
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def check_signed_in_session():
    """Check the signed-in session on the server before the view runs (issue 13), so that its
    one small write (``last_seen_at``, an ended session) never lands in the middle of a view."""
    if request.endpoint != "static":
        current_user._get_current_object()


def refuse_nul_characters():
    """NUL is in no name, number or statement, and PostgreSQL text refuses it: a 400 at the
    door, instead of a 500 deep inside. Uploaded files (binary) are not text and not checked."""
    texts = [v for _, values in request.args.lists() for v in values]
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        texts += [v for _, values in request.form.lists() for v in values]
    elif request.is_json:
        raw = request.get_data(cache=True)
        if b"\\u0000" in raw or b"\x00" in raw:
            abort(400)
    if any("\x00" in text for text in texts):
        abort(400)


def _register_template_helpers(app: Flask) -> None:
    filters.register(app)

    @app.context_processor
    def inject_globals():
        locale = get_locale()
        return {
            "current_locale": "zh_CN" if locale is None or locale.language == "zh" else "en",
            "demo_mode": app.config.get("DEMO_MODE", False),
            "now": clock.now,
        }

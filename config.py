"""Configuration classes, chosen by the CASEDESK_ENV environment variable.

Development runs on an SQLite file under instance/; Production refuses to start
without DATABASE_URL and SECRET_KEY from the environment.
"""
from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

from limits import parse_many

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("CASEDESK_INSTANCE", BASE_DIR / "instance"))


class ConfigError(RuntimeError):
    """A required setting is missing or wrong; the application must not start."""


def _normalise_db_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants an explicit driver.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    TIMEZONE = "Asia/Shanghai"
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "app" / "translations")
    LANGUAGES = ("zh_CN", "en")

    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'casedesk.sqlite3'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "casedesk_session"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    UPLOAD_DIR = str(INSTANCE_DIR / "uploads")

    # Sign-in throttle: failures counted over a sliding window.
    SIGNIN_WINDOW = timedelta(minutes=15)
    SIGNIN_MAX_FAILURES_PER_ACCOUNT = 5
    SIGNIN_MAX_FAILURES_PER_ADDRESS = 20

    # Throttles of the public query and of sign-up (Flask-Limiter), in its notation: several
    # limits separated by ";". The public query counts POSTs per client address and per
    # identifier typed (a keyed hash of it). Counts live in RATELIMIT_STORAGE_URI: "memory://" is
    # per process; with several workers or hosts use redis://127.0.0.1:6379 (needs the `redis`
    # package). Environment: the same names.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_STRATEGY = "fixed-window"
    PUBLIC_QUERY_LIMIT_PER_ADDRESS = "30 per minute;300 per day"
    PUBLIC_QUERY_LIMIT_PER_IDENTIFIER = "10 per hour"
    SIGNUP_LIMIT_PER_ADDRESS = "10 per hour"
    # Reverse proxies in front of the application whose X-Forwarded-For/-Proto are believed (the
    # last this many hops): 0 = none, the client address is the peer's. Environment: the same.
    TRUSTED_PROXY_COUNT = 0

    # Notifications: e-mail over SMTP (off without a host), retries with exponential back-off.
    SMTP_HOST: str | None = None
    SMTP_PORT = 25
    SMTP_STARTTLS = False
    SMTP_SSL = False
    SMTP_USER: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_TIMEOUT = 10
    MAIL_FROM = "credit-desk@localhost"
    NOTIFY_MAX_ATTEMPTS = 8
    NOTIFY_BACKOFF_SECONDS = 60  # 1, 2, 4 ... minutes, at most NOTIFY_BACKOFF_MAX_SECONDS
    NOTIFY_BACKOFF_MAX_SECONDS = 6 * 3600
    NOTIFY_CLAIM_SECONDS = 300  # a claimed notice not marked sent by then is tried again
    WEBHOOK_TIMEOUT = 10

    # Sign-in with an identity provider (OpenID Connect: 统一身份认证, 电子营业执照): off while
    # OIDC_ISSUER is unset. Environment: OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET,
    # OIDC_SCOPES, OIDC_REDIRECT_URI, OIDC_PROVIDER_LABEL; OIDC_CLAIMS, OIDC_VERIFIED_VALUES and
    # OIDC_ROLES as JSON (the claims given are merged over the defaults below).
    OIDC_ISSUER: str | None = None  # exactly as the provider's discovery document gives it
    OIDC_CLIENT_ID: str | None = None
    OIDC_CLIENT_SECRET: str | None = None
    OIDC_SCOPES = "openid profile identity"
    OIDC_REDIRECT_URI: str | None = None  # default: this site's /auth/oidc/callback
    OIDC_PROVIDER_LABEL = "统一身份认证"  # the button reads "Sign in with <label>"
    OIDC_CLAIMS = {  # our field -> the provider's claim name, all in the ID token
        "name": "name",  # the person's name (a natural person: the subject's name)
        "id_number": "id_number",  # a natural person's resident identity number
        "uscc": "uscc",  # a company's unified social credit code: the person acts for it
        "org_name": "org_name",  # the company's name
        "role": "role",  # the person's role for the company
        "verified": "verified",  # the provider's word that the claims are verified (real name)
    }
    OIDC_VERIFIED_VALUES = (True, "true", "1", "verified")  # the verified claim's accepted values
    OIDC_ROLES = {"legal_representative": "legal_representative", "agent": "agent"}  # role claim -> capacity
    OIDC_LEEWAY = 60  # seconds of clock skew allowed on the ID token's exp and iat
    OIDC_TIMEOUT = 10  # seconds, each call to the provider

    # Demo mode lists the demo accounts on the sign-in page. Never in production.
    DEMO_MODE = False
    SECRET_KEY: str | None = None

    @classmethod
    def validate(cls) -> None:
        if not cls.SECRET_KEY:
            raise ConfigError("SECRET_KEY is not set")


class DevelopmentConfig(Config):
    DEBUG = False
    DEMO_MODE = True
    SESSION_COOKIE_SECURE = False  # served over plain http on 127.0.0.1
    REMEMBER_COOKIE_SECURE = False
    SQLALCHEMY_DATABASE_URI = _normalise_db_url(
        os.environ.get("DATABASE_URL", Config.SQLALCHEMY_DATABASE_URI)
    )


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-only-secret"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    SQLALCHEMY_DATABASE_URI = "sqlite://"  # replaced by the test fixtures
    UPLOAD_DIR = ""  # set per test session
    DEMO_MODE = True
    # The throttles stay on in the tests, high enough never to get in the way; the throttle
    # tests set low ones.
    PUBLIC_QUERY_LIMIT_PER_ADDRESS = "100000 per hour"
    PUBLIC_QUERY_LIMIT_PER_IDENTIFIER = "100000 per hour"
    SIGNUP_LIMIT_PER_ADDRESS = "100000 per hour"


class ProductionConfig(Config):
    @classmethod
    def validate(cls) -> None:
        missing = [name for name in ("DATABASE_URL", "SECRET_KEY") if not os.environ.get(name)]
        if missing:
            raise ConfigError(
                "Production needs these environment variables: " + ", ".join(missing)
            )
        if len(os.environ["SECRET_KEY"]) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters long")


def load_config(name: str | None = None) -> dict:
    """Return the settings of the named environment as a plain dict, validated."""
    name = name or os.environ.get("CASEDESK_ENV", "development")
    classes = {
        "development": DevelopmentConfig,
        "testing": TestingConfig,
        "production": ProductionConfig,
    }
    try:
        cls = classes[name]
    except KeyError:
        raise ConfigError(f"Unknown CASEDESK_ENV {name!r}; use one of {sorted(classes)}") from None
    settings = {key: getattr(cls, key) for key in dir(cls) if key.isupper()}
    if cls is ProductionConfig:
        cls.validate()
        settings["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(os.environ["DATABASE_URL"])
        settings["SECRET_KEY"] = os.environ["SECRET_KEY"]
    elif cls is DevelopmentConfig:
        settings["SECRET_KEY"] = os.environ.get("SECRET_KEY") or _development_secret()
    for key in ("SMTP_HOST", "SMTP_USER", "SMTP_PASSWORD", "MAIL_FROM", "UPLOAD_DIR"):
        if key in os.environ:
            settings[key] = os.environ[key]
    if "SMTP_PORT" in os.environ:
        settings["SMTP_PORT"] = int(os.environ["SMTP_PORT"])
    for flag in ("SMTP_STARTTLS", "SMTP_SSL"):
        if flag in os.environ:
            settings[flag] = os.environ[flag].lower() in ("1", "true", "yes")
    _load_oidc(settings, production=cls is ProductionConfig)
    _load_throttles(settings)
    return settings


def _load_throttles(settings: dict) -> None:
    """The throttle settings from the environment, checked: a limit that does not parse, or a
    proxy count that is not a whole number, stops the start (not every request with a 500)."""
    for key in ("RATELIMIT_STORAGE_URI", "PUBLIC_QUERY_LIMIT_PER_ADDRESS", "PUBLIC_QUERY_LIMIT_PER_IDENTIFIER",
                "SIGNUP_LIMIT_PER_ADDRESS"):
        if os.environ.get(key):
            settings[key] = os.environ[key]
    if os.environ.get("RATELIMIT_ENABLED"):
        settings["RATELIMIT_ENABLED"] = os.environ["RATELIMIT_ENABLED"].lower() in ("1", "true", "yes")
    if os.environ.get("TRUSTED_PROXY_COUNT"):
        try:
            settings["TRUSTED_PROXY_COUNT"] = int(os.environ["TRUSTED_PROXY_COUNT"])
        except ValueError:
            raise ConfigError("TRUSTED_PROXY_COUNT is a whole number (0: no proxy)") from None
    if settings["TRUSTED_PROXY_COUNT"] < 0:
        raise ConfigError("TRUSTED_PROXY_COUNT is a whole number (0: no proxy)")
    for key in ("PUBLIC_QUERY_LIMIT_PER_ADDRESS", "PUBLIC_QUERY_LIMIT_PER_IDENTIFIER", "SIGNUP_LIMIT_PER_ADDRESS"):
        try:
            parse_many(settings[key])
        except ValueError:
            raise ConfigError(f"{key} is not a rate limit such as '10 per hour': {settings[key]!r}") from None


def _load_oidc(settings: dict, production: bool) -> None:
    """The OIDC_ settings from the environment, checked: an issuer needs its client."""
    for key in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_SCOPES", "OIDC_REDIRECT_URI",
                "OIDC_PROVIDER_LABEL"):
        if os.environ.get(key):
            settings[key] = os.environ[key]
    try:
        if os.environ.get("OIDC_CLAIMS"):
            settings["OIDC_CLAIMS"] = {**settings["OIDC_CLAIMS"], **json.loads(os.environ["OIDC_CLAIMS"])}
        for key in ("OIDC_VERIFIED_VALUES", "OIDC_ROLES"):
            if os.environ.get(key):
                settings[key] = json.loads(os.environ[key])
    except (TypeError, ValueError) as error:
        raise ConfigError(f"OIDC_CLAIMS, OIDC_VERIFIED_VALUES and OIDC_ROLES are JSON: {error}") from None
    if not (isinstance(settings["OIDC_ROLES"], dict) and isinstance(settings["OIDC_VERIFIED_VALUES"], list | tuple)):
        raise ConfigError("OIDC_ROLES is a JSON object (role -> capacity), OIDC_VERIFIED_VALUES a JSON array")
    if not settings["OIDC_ISSUER"]:
        return
    if not (settings["OIDC_CLIENT_ID"] and settings["OIDC_CLIENT_SECRET"]):
        raise ConfigError("OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET")
    if production and not settings["OIDC_ISSUER"].startswith("https://"):
        raise ConfigError("OIDC_ISSUER must be an https:// URL in production")


def _development_secret() -> str:
    """A random key kept in instance/ so development sessions survive restarts."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(os.urandom(32).hex())
        path.chmod(0o600)
    return path.read_text().strip()

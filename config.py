"""Configuration classes, chosen by the CASEDESK_ENV environment variable.

Development runs on an SQLite file under instance/; Production refuses to start
without DATABASE_URL and SECRET_KEY from the environment.
"""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

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
    return settings


def _development_secret() -> str:
    """A random key kept in instance/ so development sessions survive restarts."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(os.urandom(32).hex())
        path.chmod(0o600)
    return path.read_text().strip()

"""Configuration classes, chosen by the CASEDESK_ENV environment variable.

Development runs on an SQLite file under instance/; Production refuses to start
without DATABASE_URL and SECRET_KEY from the environment.
"""
from __future__ import annotations

import ipaddress
import json
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

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
    # Statement parameters (names, identity numbers, statements) stay out of the engine's errors,
    # and so out of every traceback in the log (issue 13). Pre-ping (issue 17): a pooled connection
    # is tried before use, so after a database restart the first request gets a fresh one, not
    # the dead socket.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"hide_parameters": True, "pool_pre_ping": True}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "casedesk_session"
    # Strict-Transport-Security on every answer (issue 13): the site is served over https only, and
    # browsers keep to https for this long (seconds; 0: no header, for plain http in development).
    HSTS_MAX_AGE = 365 * 24 * 3600
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    UPLOAD_DIR = str(INSTANCE_DIR / "uploads")
    # Where evidence, identity documents and queued imports are stored (issue 17, docs/storage.md):
    # "local" (UPLOAD_DIR; one host, or a directory every host mounts: say so with
    # STORAGE_LOCAL_SHARED), "database" (the stored_blob table, in the case's own transaction;
    # production's default) or "s3" (an S3-compatible store: STORAGE_S3_BUCKET, _PREFIX,
    # _ENDPOINT_URL, _REGION, _ADDRESSING_STYLE auto|path|virtual, _ACCESS_KEY_ID and
    # _SECRET_ACCESS_KEY, else boto3's own chain). A file no row points to (a rolled-back
    # submission's) is deleted by the daily purge once older than STORAGE_ORPHAN_GRACE.
    # Environment: the same names; STORAGE_ORPHAN_GRACE in hours.
    STORAGE_BACKEND = "local"
    STORAGE_LOCAL_SHARED = False
    STORAGE_S3_BUCKET: str | None = None
    STORAGE_S3_PREFIX = ""
    STORAGE_S3_ENDPOINT_URL: str | None = None
    STORAGE_S3_REGION: str | None = None
    STORAGE_S3_ADDRESSING_STYLE = "auto"
    STORAGE_S3_ACCESS_KEY_ID: str | None = None
    STORAGE_S3_SECRET_ACCESS_KEY: str | None = None
    STORAGE_ORPHAN_GRACE = timedelta(days=1)

    # Record imports (CSV, XLSX; issue 13): what one file may hold, checked before and while it is
    # read. An XLSX is a zip: its parts' declared sizes are checked before anything is inflated
    # (their sum, and each part over 1 MB against the ratio), and the bytes really inflated are
    # counted too. The check stops after IMPORT_MAX_ERRORS problems. A file up to
    # IMPORT_INLINE_MAX_BYTES (inflated) is checked and imported in the request (a second or
    # so); a larger one is stored in UPLOAD_DIR/imports and imported by the scheduler process,
    # the page following it; a department has at most IMPORT_MAX_QUEUED waiting. Environment:
    # the same names, whole numbers.
    IMPORT_MAX_BYTES = 20 * 1024 * 1024
    IMPORT_MAX_INFLATED_BYTES = 128 * 1024 * 1024
    IMPORT_MAX_COMPRESSION_RATIO = 100  # real sheets inflate 5 to 20 times; a zip bomb, a thousand
    IMPORT_MAX_ROWS = 200_000
    IMPORT_MAX_COLUMNS = 64  # cells read in a row
    IMPORT_MAX_CELL_CHARS = 10_000
    IMPORT_MAX_ERRORS = 1000
    IMPORT_INLINE_MAX_BYTES = 1024 * 1024
    IMPORT_MAX_QUEUED = 3

    # Scheduled jobs (issue 17): a running job's lease is renewed every quarter of
    # JOB_LEASE_SECONDS, so a job whose process died is taken over that long after; the
    # scheduler looks for jobs an admin asked to run now, and writes that it lives, every
    # JOB_POLL_SECONDS. Environment: the same names, whole numbers.
    JOB_LEASE_SECONDS = 60
    JOB_POLL_SECONDS = 5

    # Signed-in sessions, kept on the server (issue 13): a session ends when signed out, after
    # SESSION_IDLE_TIMEOUT without a request, and SESSION_ABSOLUTE_LIFETIME after its sign-in,
    # whatever the cookie says. Environment: the same names, in minutes.
    SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    SESSION_ABSOLUTE_LIFETIME = timedelta(hours=8)

    # A verified subject's accounts hear this many working days before one of its records leaves
    # publicity (issue 18; 0: not at all). Environment: the same name.
    RETIREMENT_NOTICE_WORKING_DAYS = 5
    # The public statistics (/statistics) publish no count from 1 to this less one, nor a share
    # or a median of fewer cases (issue 18). Environment: the same name.
    STATISTICS_MIN_CELL = 5

    # Sign-in back-off per account (issue 13): after SIGNIN_BACKOFF_FREE_FAILURES failures since
    # the last success (within SIGNIN_BACKOFF_WINDOW), the next attempt waits BASE, 2*BASE,
    # 4*BASE ... seconds after the last failure, at most CAP; attempts during the wait are
    # answered 429 and not counted, so guessing cannot lock the account. A browser that signed in
    # before (a device cookie, SIGNIN_DEVICE_DAYS) counts only its own failures.
    SIGNIN_BACKOFF_FREE_FAILURES = 3
    SIGNIN_BACKOFF_BASE_SECONDS = 2
    SIGNIN_BACKOFF_CAP_SECONDS = 300
    SIGNIN_BACKOFF_WINDOW = timedelta(hours=24)
    SIGNIN_DEVICE_DAYS = 180

    # What the daily purge deletes of the housekeeping tables (issue 13, item 7): sessions ended or
    # expired, sign-in attempts (never fewer than SIGNIN_BACKOFF_WINDOW's), the reports of import
    # runs finished longer ago than these. Environment: the same names, in days.
    SESSION_RECORD_RETENTION = timedelta(days=30)
    SIGN_IN_ATTEMPT_RETENTION = timedelta(days=30)
    IMPORT_RUN_RETENTION = timedelta(days=90)

    # Passwords (issue 13, app/passwords.py): at least PASSWORD_MIN_LENGTH characters, not on the
    # common-password list, without the account's names. A link asked for on the sign-in page
    # ("Forgot password?") works once, for PASSWORD_RECOVERY_LIFETIME from its mail (an admin's: a day).
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_RECOVERY_LIFETIME = timedelta(hours=1)
    # The site's own address (e.g. https://credit.example.gov.cn) for the links in mails (sign-up, password):
    # required in production, so that a client's Host header cannot choose where a link points.
    # Unset (development, tests): SERVER_NAME if set, else http://127.0.0.1:5000; never the
    # request's host. Environment: the same name.
    PUBLIC_BASE_URL: str | None = None

    # Two factors for staff (issue 13): officers, supervisors, department users and admins confirm
    # their sign-in with a TOTP code (an authenticator app, enrolled by QR code) or a recovery code.
    # Required: a staff member without one is taken to enrolment first (on in production; off in
    # development, where the demo accounts sign in with their password, and in the tests).
    # Enrolled, the code is asked anyway. The code waits CODE_MINUTES (an enrolment at sign-in
    # ENROL_MINUTES); MAX_FAILURES wrong codes end the sign-in. TWO_FACTOR_KEY (environment): the
    # key the secrets are encrypted with, derived from SECRET_KEY when unset. Environment:
    # TWO_FACTOR_REQUIRED_FOR_STAFF, outside production only.
    TWO_FACTOR_REQUIRED_FOR_STAFF = True
    TWO_FACTOR_ISSUER = "信用案件办理平台"  # the name authenticator apps show beside the account
    TWO_FACTOR_CODE_MINUTES = 5
    TWO_FACTOR_ENROL_MINUTES = 15
    TWO_FACTOR_MAX_FAILURES = 5
    # Each sign-in whose MAX_FAILURES codes were all wrong (since the last right one, within a day)
    # doubles the wait before the next may try: BASE, 2*BASE ... seconds, at most CAP.
    TWO_FACTOR_BACKOFF_BASE_SECONDS = 60
    TWO_FACTOR_BACKOFF_CAP_SECONDS = 3600
    TWO_FACTOR_KEY: str | None = None
    # An identity provider's ID token whose ``amr`` (RFC 8176) holds one of these stands for two
    # factors: staff signing in with it are not asked for a code. Environment: JSON array.
    OIDC_MFA_AMR = ("mfa", "otp", "hwk", "sc")

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
    # Sign-in POSTs per client address, generous: many people may share one address (an office,
    # a proxy); guessing one account is slowed by the back-off above. Password recovery: its
    # forms' POSTs per address.
    SIGNIN_LIMIT_PER_ADDRESS = "60 per minute;1000 per hour"
    PASSWORD_RECOVERY_LIMIT_PER_ADDRESS = "10 per hour"
    # The public check of a letter's verification code (issue 15): requests that carry a code, per address.
    LETTER_VERIFY_LIMIT_PER_ADDRESS = "30 per minute;300 per day"
    # Reverse proxies in front of the application whose X-Forwarded-For/-Proto are believed (the
    # last this many hops): 0 = none, the client address is the peer's. Environment: the same.
    TRUSTED_PROXY_COUNT = 0

    # What operators look at (issue 17, README "Running on several hosts"). /metrics answers
    # clients in METRICS_ALLOWED_NETWORKS (CIDR, comma-separated in the environment) or with
    # "Authorization: Bearer <METRICS_TOKEN>", anyone else a 404. /readyz is not ready when no
    # scheduler beat nor job run for READYZ_SCHEDULER_MAX_AGE seconds (0: no such check). LOG_FORMAT: "text" or
    # "json" (one object a line, with the request id). While the database does not answer, pages
    # are a 503 with Retry-After: DATABASE_RETRY_AFTER seconds. Environment: the same names.
    METRICS_ALLOWED_NETWORKS: tuple[str, ...] = ("127.0.0.1/32",)
    METRICS_TOKEN: str | None = None
    READYZ_SCHEDULER_MAX_AGE = 120
    LOG_FORMAT = "text"
    DATABASE_RETRY_AFTER = 30

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
    # A dispatcher's claim on a notice lapses this long after its last heartbeat (renewed every
    # third of it while the dispatcher lives): a dead dispatcher's notices are tried again then.
    NOTIFY_CLAIM_SECONDS = 60
    NOTIFY_RUN_BUDGET_SECONDS = 120  # per channel and run; the rest waits for the next run
    NOTIFY_WEBHOOK_CONCURRENCY = 4  # webhook hosts served at once, one message at a time each
    # A host (the SMTP server, a webhook host) that failed this many times in a row is skipped
    # for NOTIFY_BREAKER_SECONDS, its notices waiting without an attempt counted (0: never).
    NOTIFY_BREAKER_FAILURES = 5
    NOTIFY_BREAKER_SECONDS = 300
    WEBHOOK_TIMEOUT = 10
    # Webhook addresses (issue 13, app/services/webhook_url.py): https only; every address the host
    # resolves to must be public, unless in WEBHOOK_ALLOWED_NETWORKS (CIDR networks, e.g. a known
    # intranet receiver; environment: comma-separated); at most WEBHOOK_MAX_PER_DEPARTMENT active
    # subscriptions each. WEBHOOK_CA_BUNDLE: a CA file for the receivers' certificates instead of
    # the system's. Environment: the same names.
    WEBHOOK_REQUIRE_HTTPS = True
    WEBHOOK_ALLOWED_NETWORKS: tuple[str, ...] = ()
    WEBHOOK_MAX_PER_DEPARTMENT = 20
    WEBHOOK_CA_BUNDLE: str | None = None

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

    # Letters (issue 15): the platform's name at their head and foot, as the issuing body signs them.
    # Environment: the same name.
    PLATFORM_NAME = "公共信用信息平台"

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
    TWO_FACTOR_REQUIRED_FOR_STAFF = False  # the demo accounts sign in with the password shown; staff may enrol
    WEBHOOK_REQUIRE_HTTPS = False  # a local receiver needs WEBHOOK_ALLOWED_NETWORKS=127.0.0.1 too
    SESSION_COOKIE_SECURE = False  # served over plain http on 127.0.0.1
    REMEMBER_COOKIE_SECURE = False
    HSTS_MAX_AGE = 0  # plain http: a browser told to keep to https could not open 127.0.0.1 any more
    SQLALCHEMY_DATABASE_URI = _normalise_db_url(
        os.environ.get("DATABASE_URL", Config.SQLALCHEMY_DATABASE_URI)
    )


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-only-secret"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    HSTS_MAX_AGE = 0
    TWO_FACTOR_REQUIRED_FOR_STAFF = False  # the two-factor tests turn it on
    SQLALCHEMY_DATABASE_URI = "sqlite://"  # replaced by the test fixtures
    UPLOAD_DIR = ""  # set per test session
    DEMO_MODE = True
    # The throttles stay on in the tests, high enough never to get in the way; the throttle
    # tests set low ones.
    PUBLIC_QUERY_LIMIT_PER_ADDRESS = "100000 per hour"
    PUBLIC_QUERY_LIMIT_PER_IDENTIFIER = "100000 per hour"
    SIGNUP_LIMIT_PER_ADDRESS = "100000 per hour"
    SIGNIN_LIMIT_PER_ADDRESS = "100000 per hour"
    # The tests' webhook receivers listen on 127.0.0.1 over plain http; nothing else of the
    # loopback is allowed (the refusal tests clear this list).
    WEBHOOK_REQUIRE_HTTPS = False
    WEBHOOK_ALLOWED_NETWORKS = ("127.0.0.1/32",)
    PASSWORD_RECOVERY_LIMIT_PER_ADDRESS = "100000 per hour"
    READYZ_SCHEDULER_MAX_AGE = 0  # no scheduler runs beside the tests; the readiness tests set it
    LETTER_VERIFY_LIMIT_PER_ADDRESS = "100000 per hour"


class ProductionConfig(Config):
    STORAGE_BACKEND = "database"  # every host reads what one stored (docs/storage.md)

    @classmethod
    def validate(cls) -> None:
        missing = [name for name in ("DATABASE_URL", "SECRET_KEY", "PUBLIC_BASE_URL") if not os.environ.get(name)]
        if missing:
            raise ConfigError(
                "Production needs these environment variables: " + ", ".join(missing)
            )
        if len(os.environ["SECRET_KEY"]) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters long")
        # The mails' links are built on it (app/web/link_tokens.py), never on a client's Host header.
        base = urlsplit(os.environ["PUBLIC_BASE_URL"])
        if base.scheme != "https" or not base.hostname or base.username or base.query or base.fragment:
            raise ConfigError("PUBLIC_BASE_URL must be the site's https address, e.g. https://credit.example.gov.cn")


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
    for key in ("SMTP_HOST", "SMTP_USER", "SMTP_PASSWORD", "MAIL_FROM", "UPLOAD_DIR", "PUBLIC_BASE_URL", "PLATFORM_NAME"):
        if key in os.environ:
            settings[key] = os.environ[key]
    if "SMTP_PORT" in os.environ:
        settings["SMTP_PORT"] = int(os.environ["SMTP_PORT"])
    for key in [k for k in settings if k.startswith("NOTIFY_")]:
        if os.environ.get(key):
            try:
                settings[key] = int(os.environ[key])
            except ValueError:
                raise ConfigError(f"{key} is a whole number") from None
    for key in [k for k in settings if k.startswith(("IMPORT_MAX_", "JOB_")) or k == "IMPORT_INLINE_MAX_BYTES"]:
        if os.environ.get(key):
            try:
                settings[key] = int(os.environ[key])
            except ValueError:
                raise ConfigError(f"{key} is a whole number") from None
    for flag in ("SMTP_STARTTLS", "SMTP_SSL"):
        if flag in os.environ:
            settings[flag] = os.environ[flag].lower() in ("1", "true", "yes")
    _load_oidc(settings, production=cls is ProductionConfig)
    _load_two_factor(settings, production=cls is ProductionConfig)
    _load_throttles(settings)
    _load_webhooks(settings, production=cls is ProductionConfig)
    _load_storage(settings, production=cls is ProductionConfig)
    _load_operations(settings)
    return settings


def _load_throttles(settings: dict) -> None:
    """The throttle settings from the environment, checked: a limit that does not parse, or a
    proxy count that is not a whole number, stops the start (not every request with a 500)."""
    for key in ("RATELIMIT_STORAGE_URI", *_LIMITS):
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
    for key in _LIMITS:
        try:
            parse_many(settings[key])
        except ValueError:
            raise ConfigError(f"{key} is not a rate limit such as '10 per hour': {settings[key]!r}") from None
    for key in ("SESSION_IDLE_TIMEOUT", "SESSION_ABSOLUTE_LIFETIME"):
        if os.environ.get(key):
            try:
                settings[key] = timedelta(minutes=int(os.environ[key]))
            except ValueError:
                raise ConfigError(f"{key} is a whole number of minutes") from None
    for key in ("SESSION_RECORD_RETENTION", "SIGN_IN_ATTEMPT_RETENTION", "IMPORT_RUN_RETENTION"):
        if os.environ.get(key):
            try:
                days = int(os.environ[key])
            except ValueError:
                days = 0
            if days < 1:
                raise ConfigError(f"{key} is a whole number of days, at least 1")
            settings[key] = timedelta(days=days)
    for key in ("SIGNIN_BACKOFF_FREE_FAILURES", "SIGNIN_BACKOFF_BASE_SECONDS", "SIGNIN_BACKOFF_CAP_SECONDS",
                "RETIREMENT_NOTICE_WORKING_DAYS", "STATISTICS_MIN_CELL"):
        if os.environ.get(key):
            try:
                settings[key] = int(os.environ[key])
            except ValueError:
                raise ConfigError(f"{key} is a whole number") from None
            if settings[key] < 0:
                raise ConfigError(f"{key} is a whole number, not negative")


_LIMITS = ("PUBLIC_QUERY_LIMIT_PER_ADDRESS", "PUBLIC_QUERY_LIMIT_PER_IDENTIFIER", "SIGNUP_LIMIT_PER_ADDRESS",
           "SIGNIN_LIMIT_PER_ADDRESS", "PASSWORD_RECOVERY_LIMIT_PER_ADDRESS", "LETTER_VERIFY_LIMIT_PER_ADDRESS")


def _load_webhooks(settings: dict, production: bool) -> None:
    """The WEBHOOK_ settings from the environment, checked: a network that does not parse, or
    plain http in production, stops the start."""
    if os.environ.get("WEBHOOK_ALLOWED_NETWORKS") is not None:
        settings["WEBHOOK_ALLOWED_NETWORKS"] = tuple(
            n.strip() for n in os.environ["WEBHOOK_ALLOWED_NETWORKS"].split(",") if n.strip())
    if os.environ.get("WEBHOOK_REQUIRE_HTTPS"):
        settings["WEBHOOK_REQUIRE_HTTPS"] = os.environ["WEBHOOK_REQUIRE_HTTPS"].lower() in ("1", "true", "yes")
    if os.environ.get("WEBHOOK_CA_BUNDLE"):
        settings["WEBHOOK_CA_BUNDLE"] = os.environ["WEBHOOK_CA_BUNDLE"]
    if os.environ.get("WEBHOOK_MAX_PER_DEPARTMENT"):
        try:
            settings["WEBHOOK_MAX_PER_DEPARTMENT"] = int(os.environ["WEBHOOK_MAX_PER_DEPARTMENT"])
        except ValueError:
            raise ConfigError("WEBHOOK_MAX_PER_DEPARTMENT is a whole number") from None
    if production and not settings["WEBHOOK_REQUIRE_HTTPS"]:
        raise ConfigError("WEBHOOK_REQUIRE_HTTPS cannot be turned off in production")
    for network in settings["WEBHOOK_ALLOWED_NETWORKS"]:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(f"WEBHOOK_ALLOWED_NETWORKS: {network!r} is not an IP network such as 10.1.2.0/24") from None


def _load_two_factor(settings: dict, production: bool) -> None:
    """The TWO_FACTOR_ settings from the environment. Production always requires the second factor
    of staff: the environment can turn it on elsewhere (to try it on the demo), never off there."""
    if os.environ.get("TWO_FACTOR_KEY"):
        settings["TWO_FACTOR_KEY"] = os.environ["TWO_FACTOR_KEY"]
    if os.environ.get("TWO_FACTOR_REQUIRED_FOR_STAFF") and not production:
        settings["TWO_FACTOR_REQUIRED_FOR_STAFF"] = os.environ["TWO_FACTOR_REQUIRED_FOR_STAFF"].lower() in (
            "1", "true", "yes")
    if os.environ.get("OIDC_MFA_AMR"):
        try:
            values = json.loads(os.environ["OIDC_MFA_AMR"])
        except ValueError:
            values = None
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError("OIDC_MFA_AMR is a JSON array of amr values, such as [\"mfa\", \"otp\"]")
        settings["OIDC_MFA_AMR"] = tuple(values)


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


def _load_storage(settings: dict, production: bool) -> None:
    """The STORAGE_ settings from the environment, checked: S3 needs its bucket, and production
    keeps files on local disk only where the operator says every host mounts the directory."""
    for key in ("STORAGE_BACKEND", "STORAGE_S3_BUCKET", "STORAGE_S3_PREFIX", "STORAGE_S3_ENDPOINT_URL",
                "STORAGE_S3_REGION", "STORAGE_S3_ADDRESSING_STYLE", "STORAGE_S3_ACCESS_KEY_ID",
                "STORAGE_S3_SECRET_ACCESS_KEY"):
        if os.environ.get(key):
            settings[key] = os.environ[key]
    if os.environ.get("STORAGE_LOCAL_SHARED"):
        settings["STORAGE_LOCAL_SHARED"] = os.environ["STORAGE_LOCAL_SHARED"].lower() in ("1", "true", "yes")
    if os.environ.get("STORAGE_ORPHAN_GRACE"):
        try:
            hours = int(os.environ["STORAGE_ORPHAN_GRACE"])
        except ValueError:
            hours = 0
        if hours < 1:
            raise ConfigError("STORAGE_ORPHAN_GRACE is a whole number of hours, at least 1")
        settings["STORAGE_ORPHAN_GRACE"] = timedelta(hours=hours)
    if settings["STORAGE_BACKEND"] not in ("local", "database", "s3"):
        raise ConfigError(f"STORAGE_BACKEND is local, database or s3, not {settings['STORAGE_BACKEND']!r}")
    if settings["STORAGE_BACKEND"] == "s3" and not settings["STORAGE_S3_BUCKET"]:
        raise ConfigError("STORAGE_BACKEND=s3 needs STORAGE_S3_BUCKET")
    if settings["STORAGE_S3_ADDRESSING_STYLE"] not in ("auto", "path", "virtual"):
        raise ConfigError("STORAGE_S3_ADDRESSING_STYLE is auto, path or virtual")
    if production and settings["STORAGE_BACKEND"] == "local" and not settings["STORAGE_LOCAL_SHARED"]:
        raise ConfigError("STORAGE_BACKEND=local in production keeps each host's files to itself: use database or "
                          "s3, or set STORAGE_LOCAL_SHARED=1 if UPLOAD_DIR is one directory every host mounts")


def _load_operations(settings: dict) -> None:
    """The metrics, readiness and log settings from the environment, checked at start."""
    if os.environ.get("METRICS_ALLOWED_NETWORKS") is not None:
        settings["METRICS_ALLOWED_NETWORKS"] = tuple(
            n.strip() for n in os.environ["METRICS_ALLOWED_NETWORKS"].split(",") if n.strip())
    for network in settings["METRICS_ALLOWED_NETWORKS"]:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(f"METRICS_ALLOWED_NETWORKS: {network!r} is not an IP network such as 10.1.2.0/24") from None
    if os.environ.get("METRICS_TOKEN"):
        if len(os.environ["METRICS_TOKEN"]) < 32:
            raise ConfigError("METRICS_TOKEN must be at least 32 characters long")
        settings["METRICS_TOKEN"] = os.environ["METRICS_TOKEN"]
    if os.environ.get("LOG_FORMAT"):
        settings["LOG_FORMAT"] = os.environ["LOG_FORMAT"].lower()
    if settings["LOG_FORMAT"] not in ("text", "json"):
        raise ConfigError("LOG_FORMAT is text or json")
    for key in ("READYZ_SCHEDULER_MAX_AGE", "DATABASE_RETRY_AFTER"):
        if os.environ.get(key):
            try:
                settings[key] = int(os.environ[key])
            except ValueError:
                raise ConfigError(f"{key} is a whole number of seconds") from None
        if settings[key] < 0:
            raise ConfigError(f"{key} is a whole number of seconds")

"""Configuration refuses unsafe production settings; logs never carry an identity number."""
from __future__ import annotations

import logging

import pytest

from app.logging_setup import ScrubIdentifiers, install_scrubber
from config import ConfigError, load_config


def test_production_refuses_to_start_without_database_and_secret(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="DATABASE_URL, SECRET_KEY"):
        load_config("production")


def test_production_refuses_a_short_secret(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/casedesk")
    monkeypatch.setenv("SECRET_KEY", "too-short")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://credit.example.gov.cn")
    with pytest.raises(ConfigError, match="32"):
        load_config("production")


def test_production_settings(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/casedesk")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://credit.example.gov.cn")
    settings = load_config("production")
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/casedesk"
    assert settings["SESSION_COOKIE_SECURE"] and settings["REMEMBER_COOKIE_SECURE"]
    assert settings["SESSION_COOKIE_HTTPONLY"] and settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert not settings["DEMO_MODE"]
    assert settings["TIMEZONE"] == "Asia/Shanghai"


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="CASEDESK_ENV"):
        load_config("staging")


def test_log_lines_never_carry_an_identity_number(caplog):
    logger = logging.getLogger("casedesk.test")
    handler_filter = ScrubIdentifiers()
    caplog.handler.addFilter(handler_filter)
    try:
        logger.warning("GET /query?id=%s 200", "11010519491231002X")
        logger.warning("subject 11010519491231002x signed up")
    finally:
        caplog.handler.removeFilter(handler_filter)
    assert "11010519491231002" not in caplog.text.upper()
    assert "110105********002X" in caplog.text


def test_the_scheduler_executor_does_not_narrate_every_poll():
    """The import and recompute polls run every five seconds: their "running" and "executed"
    lines would drown the jobs' own (a failed or missed run is a warning and still shows)."""
    install_scrubber()
    executor = logging.getLogger("apscheduler.executors.default")
    assert not executor.isEnabledFor(logging.INFO)
    assert executor.isEnabledFor(logging.WARNING)

"""Structured logs (issue 17): LOG_FORMAT=json writes one JSON object a line with the request's
id, which the answer's X-Request-ID carries too; a proxy's id only when the proxy is trusted;
the message and the exception scrubbed as in the text logs."""
from __future__ import annotations

import io
import json
import logging

import pytest

from app import create_app
from app.identifiers import scrub
from app.logging_setup import JSON_LOGGERS, REQUEST_ID_HEADER, JsonFormatter
from app.web.access import public
from config import ConfigError, load_config
from tests.factories import id_number

NUMBER = id_number(7)


@pytest.fixture
def json_lines():
    """A JSON handler on the application's logger; the lines it wrote."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("app.test_json_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield logger, lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)


def _app_with_a_logging_page(database_url, **config):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, **config})

    @public
    def page():
        logging.getLogger("app.test_json_logs").info("page for %s", NUMBER)
        return "ok"

    app.add_url_rule("/logs-something", view_func=page)
    return app


def test_a_line_is_json_with_the_scrubbed_message_and_exception(app, json_lines):
    logger, lines = json_lines
    try:
        raise ValueError(f"bad number {NUMBER}")
    except ValueError:
        logger.exception("failed for %s", NUMBER)
    [line] = lines()
    assert line["level"] == "ERROR" and line["logger"] == "app.test_json_logs"
    assert line["message"] == scrub(f"failed for {NUMBER}") and NUMBER not in json.dumps(line)
    assert "ValueError" in line["exception"] and NUMBER not in line["exception"]
    assert line["time"].endswith("+00:00") and "request_id" not in line  # outside a request


def test_a_request_logs_the_id_its_answer_carries(database_url, json_lines):
    _, lines = json_lines
    response = _app_with_a_logging_page(database_url).test_client().get("/logs-something")
    [line] = lines()
    assert line["request_id"] == response.headers[REQUEST_ID_HEADER]
    assert len(line["request_id"]) == 32 and NUMBER not in line["message"]


def test_a_clients_request_id_is_not_taken_without_a_trusted_proxy(database_url, json_lines):
    _, lines = json_lines
    client = _app_with_a_logging_page(database_url).test_client()
    response = client.get("/logs-something", headers={REQUEST_ID_HEADER: "forged-by-the-client-1234"})
    assert response.headers[REQUEST_ID_HEADER] != "forged-by-the-client-1234"
    assert lines()[0]["request_id"] == response.headers[REQUEST_ID_HEADER]


def test_the_proxys_request_id_is_taken_when_it_is_trusted(database_url, json_lines):
    _, lines = json_lines
    client = _app_with_a_logging_page(database_url, TRUSTED_PROXY_COUNT=1).test_client()
    given = "0123456789abcdef0123456789abcdef"
    assert client.get("/logs-something", headers={REQUEST_ID_HEADER: given}).headers[REQUEST_ID_HEADER] == given
    assert lines()[0]["request_id"] == given
    odd = client.get("/logs-something", headers={REQUEST_ID_HEADER: "a b\"<script>"})
    assert odd.headers[REQUEST_ID_HEADER] != "a b\"<script>" and len(odd.headers[REQUEST_ID_HEADER]) == 32


def test_log_format_json_puts_the_formatter_on_the_root_and_gunicorn_handlers(database_url):
    handlers = [h for name in JSON_LOGGERS for h in logging.getLogger(name).handlers]
    extra = logging.StreamHandler(io.StringIO())
    logging.getLogger("gunicorn.error").addHandler(extra)
    before = {h: h.formatter for h in [*handlers, extra]}
    try:
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "LOG_FORMAT": "json"})
        assert isinstance(extra.formatter, JsonFormatter)
        assert all(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)
    finally:
        logging.getLogger("gunicorn.error").removeHandler(extra)
        for handler, formatter in before.items():
            handler.setFormatter(formatter)
    create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    assert not any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)


def test_the_log_format_and_the_metrics_settings_are_checked_at_start(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_config("testing")
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    assert load_config("testing")["LOG_FORMAT"] == "json"
    monkeypatch.setenv("METRICS_ALLOWED_NETWORKS", "10.0.0.0/8, nonsense")
    with pytest.raises(ConfigError, match="METRICS_ALLOWED_NETWORKS"):
        load_config("testing")
    monkeypatch.setenv("METRICS_ALLOWED_NETWORKS", "10.0.0.0/8,127.0.0.1/32")
    monkeypatch.setenv("METRICS_TOKEN", "short")
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        load_config("testing")
    monkeypatch.setenv("METRICS_TOKEN", "t" * 32)
    monkeypatch.setenv("READYZ_SCHEDULER_MAX_AGE", "soon")
    with pytest.raises(ConfigError, match="READYZ_SCHEDULER_MAX_AGE"):
        load_config("testing")
    monkeypatch.setenv("READYZ_SCHEDULER_MAX_AGE", "60")
    settings = load_config("testing")
    assert settings["METRICS_ALLOWED_NETWORKS"] == ("10.0.0.0/8", "127.0.0.1/32")
    assert settings["READYZ_SCHEDULER_MAX_AGE"] == 60 and settings["METRICS_TOKEN"] == "t" * 32
    assert settings["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True


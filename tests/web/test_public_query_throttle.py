"""Throttles (issue 12): the public query per address and per identifier, sign-up per address;
a clear 429 page with Retry-After; recovery after the window; and whose address counts behind
a proxy. The suite runs with the limiter on and high limits; each test here sets low ones."""
from __future__ import annotations

import time

import pytest

from app import create_app
from app.extensions import db as _db
from app.extensions import limiter
from tests.factories import uscc
from tests.web.helpers import csrf_token, text

HIGH = "100000 per hour"


@pytest.fixture
def limits(app, monkeypatch):
    """Set the throttles for one test, with fresh counters before and after."""

    def set_limits(address=HIGH, identifier=HIGH, sign_up=HIGH):
        monkeypatch.setitem(app.config, "PUBLIC_QUERY_LIMIT_PER_ADDRESS", address)
        monkeypatch.setitem(app.config, "PUBLIC_QUERY_LIMIT_PER_IDENTIFIER", identifier)
        monkeypatch.setitem(app.config, "SIGNUP_LIMIT_PER_ADDRESS", sign_up)

    limiter.reset()
    yield set_limits
    limiter.reset()


def _query(client, identifier, **headers):
    token = csrf_token(client, "/query")
    return client.post("/query", data={"identifier": identifier, "csrf_token": token}, headers=headers)


def _assert_refused(page, wait_at_most: int):
    assert page.status_code == 429
    html = text(page)
    assert "请求过于频繁" in html and "请于" in html and "后再试" in html
    assert "对同一统一社会信用代码、名称或身份证号码的查询次数" in html
    assert 1 <= int(page.headers["Retry-After"]) <= wait_at_most


def test_the_address_limit_refuses_the_next_query_whatever_it_asks(client, db, limits):
    limits(address="3 per minute")
    for _ in range(3):
        assert _query(client, uscc()).status_code == 200
    refused = _query(client, uscc())  # another identifier: the address is what counts
    _assert_refused(refused, 60)
    assert client.get("/query").status_code == 200  # showing the form is not counted


def test_the_identifier_limit_counts_across_addresses(client, db, limits):
    limits(identifier="2 per minute")
    code = uscc()
    assert _query(client, code).status_code == 200
    assert _query(client, code.lower()).status_code == 200  # the same code, however typed
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    _assert_refused(_query(client, f" {code} "), 60)
    assert _query(client, uscc()).status_code == 200  # another identifier from the same address


def test_a_throttled_query_recovers_after_the_window(client, db, limits):
    limits(address="2 per 2 seconds")
    assert _query(client, uscc()).status_code == 200
    assert _query(client, uscc()).status_code == 200
    refused = _query(client, uscc())
    _assert_refused(refused, 2)
    time.sleep(int(refused.headers["Retry-After"]) + 0.2)
    assert _query(client, uscc()).status_code == 200


def test_the_refusal_is_in_english_for_an_english_reader(client, db, limits):
    limits(address="1 per minute")
    with client.session_transaction() as session:
        session["locale"] = "en"
    assert _query(client, uscc()).status_code == 200
    refused = _query(client, uscc())
    assert refused.status_code == 429
    assert "Too many requests" in text(refused) and "Please try again in" in text(refused)
    assert refused.headers["Retry-After"]


def test_sign_up_is_throttled_per_address(client, db, limits):
    limits(sign_up="2 per minute")
    for _ in range(2):
        token = csrf_token(client, "/auth/sign-up")
        assert client.post("/auth/sign-up", data={"csrf_token": token}).status_code != 429
    token = csrf_token(client, "/auth/sign-up")
    refused = client.post("/auth/sign-up", data={"csrf_token": token})
    assert refused.status_code == 429
    assert "同一网络地址在一定时间内提交此表单的次数有限" in text(refused) and refused.headers["Retry-After"]


def test_without_a_trusted_proxy_a_forged_forwarded_for_does_not_move_the_address(client, db, limits):
    limits(address="2 per minute")
    assert _query(client, uscc(), **{"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    assert _query(client, uscc(), **{"X-Forwarded-For": "198.51.100.2"}).status_code == 200
    assert _query(client, uscc(), **{"X-Forwarded-For": "198.51.100.3"}).status_code == 429


@pytest.fixture
def behind_one_proxy(app, database_url, tmp_path):
    """An application trusting one proxy, on the suite's (migrated) database."""
    proxied = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "UPLOAD_DIR": str(tmp_path / "uploads"),
        "TRUSTED_PROXY_COUNT": 1, "PUBLIC_QUERY_LIMIT_PER_ADDRESS": "2 per minute",
    })
    limiter.reset()
    yield proxied
    limiter.reset()
    with proxied.app_context():
        _db.engine.dispose()


def test_behind_a_trusted_proxy_the_last_hop_is_the_address(behind_one_proxy):
    client = behind_one_proxy.test_client()
    first = {"X-Forwarded-For": "198.51.100.1"}
    forged = {"X-Forwarded-For": "10.0.0.99, 198.51.100.1"}  # the client's own entry comes first
    assert _query(client, uscc(), **first).status_code == 200
    assert _query(client, uscc(), **forged).status_code == 200
    assert _query(client, uscc(), **first).status_code == 429
    assert _query(client, uscc(), **{"X-Forwarded-For": "198.51.100.2"}).status_code == 200

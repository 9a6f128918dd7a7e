"""Mailed links start with the site's own address, never with a client's Host header (issue 13).

A sign-up, or a request for a password link, sent with a forged ``Host: evil.example`` got a mail
whose link pointed at evil.example: whoever owns it received the token when the link was opened
(host header poisoning). The links are built on ``PUBLIC_BASE_URL`` (app/web/link_tokens.py),
which production requires. The suite's SERVER_NAME is cleared here: with it set, Flask builds
external addresses on it and a forged Host changes nothing.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import Notification
from app.models.enums import Role
from config import ConfigError, load_config
from tests.factories import make_user
from tests.web.helpers import text
from tests.web.test_passwords import _forgot
from tests.web.test_sign_up import _sign_up

BASE = "https://credit.example.gov.cn"
EVIL = "evil.example"


@pytest.fixture
def forged(app, client, monkeypatch):
    """The client, every request of it with a forged Host header; SERVER_NAME unset."""
    monkeypatch.setitem(app.config, "SERVER_NAME", None)
    monkeypatch.setitem(client.environ_base, "HTTP_HOST", EVIL)
    return client


@pytest.fixture
def outbox(app, monkeypatch):
    """A mail service configured: the mails wait in the outbox (nothing here delivers them)."""
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")


def _payload(db, template: str) -> dict:
    (notice,) = db.session.scalars(select(Notification).where(Notification.template == template))
    return notice.payload


def test_the_sign_up_link_in_the_demo_box_ignores_a_forged_host(app, forged, db, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", BASE + "/")
    shown = text(_sign_up(forged))
    assert f'href="{BASE}/auth/sign-up/' in shown and EVIL not in shown


def test_the_sign_up_mail_ignores_a_forged_host(app, forged, outbox, db, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", BASE)
    assert _sign_up(forged).status_code == 200
    assert _payload(db, "sign_up_link")["link"].startswith(BASE + "/auth/sign-up/")


def test_the_sign_in_link_of_a_known_address_ignores_a_forged_host(app, forged, outbox, db, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", BASE)
    make_user(Role.APPLICANT, email="known@newco.example.cn")
    assert _sign_up(forged, email="known@newco.example.cn").status_code == 200
    assert _payload(db, "sign_up_exists")["sign_in"] == BASE + "/auth/sign-in"


def test_the_password_link_ignores_a_forged_host(app, forged, outbox, db, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", BASE)
    make_user(Role.APPLICANT, email="li.na@example.cn")
    assert _forgot(forged, "li.na@example.cn").status_code == 200
    assert _payload(db, "password_reset_link")["link_prefix"] == BASE + "/auth/password/"


def test_without_a_base_url_development_links_go_to_the_development_address(app, forged, outbox, db, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", None)
    _sign_up(forged)
    assert _payload(db, "sign_up_link")["link"].startswith("http://127.0.0.1:5000/auth/sign-up/")


def test_production_requires_the_sites_https_address(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/casedesk")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        load_config("production")
    for wrong in ("http://credit.example.gov.cn", "credit.example.gov.cn", "https://u:p@credit.example.gov.cn"):
        monkeypatch.setenv("PUBLIC_BASE_URL", wrong)
        with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
            load_config("production")
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)
    assert load_config("production")["PUBLIC_BASE_URL"] == BASE

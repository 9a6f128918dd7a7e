"""Small helpers for driving the web application through the test client."""
from __future__ import annotations

import re

from tests.factories import PASSWORD

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str) -> str:
    page = client.get(path)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def sign_in(client, username: str, password: str = PASSWORD, **extra):
    token = csrf_token(client, "/auth/sign-in")
    return client.post(
        "/auth/sign-in", data={"username": username, "password": password, "csrf_token": token, **extra}
    )


def text(response) -> str:
    return response.get_data(as_text=True)

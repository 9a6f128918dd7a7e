"""A real OpenID Connect provider for the relying-party tests: ``provider.mjs`` (the npm package
``oidc-provider``) on 127.0.0.1, started once per test session, stopped after.

``npm ci`` runs here when ``node_modules`` is missing (``.ci/run`` runs it too). Without node the
tests fail and say so: CI installs ``nodejs npm``. The provider knows two confidential clients,
ours (``CLIENT``, redirect URI our callback) and another one (``OTHER``, for the wrong-audience
test), and the accounts of ``accounts.json``; the test names the account to log in as with
``login_hint`` and the provider grants what is asked without a page.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
import requests

HERE = Path(__file__).resolve().parent
ACCOUNTS = json.loads((HERE / "accounts.json").read_text(encoding="utf-8"))
CALLBACK = "http://casedesk.test/auth/oidc/callback"  # the test app's SERVER_NAME
CLIENT = {"client_id": "casedesk", "client_secret": "casedesk-test-secret", "redirect_uris": [CALLBACK]}
OTHER = {"client_id": "another-site", "client_secret": "another-site-secret", "redirect_uris": [CALLBACK]}
ID_TOKEN_TTL = 60  # seconds


@dataclass
class Provider:
    issuer: str

    def follow(self, url: str, login: str) -> str:
        """Run the provider's side of a sign-in from the authorization URL ``url``, as ``login``;
        returns the URL it sends the browser back to (our callback, with code and state)."""
        browser = requests.Session()
        url = f"{url}&{urlencode({'login_hint': login})}"
        for _ in range(10):
            response = browser.get(url, allow_redirects=False, timeout=10)
            assert response.status_code in (302, 303), (response.status_code, response.text[:300])
            url = urljoin(url, response.headers["Location"])
            if not url.startswith(self.issuer):
                return url
        raise AssertionError("the provider kept redirecting")

    def tokens(self, login: str, client: dict = CLIENT, nonce: str = "a-nonce") -> dict:
        """A real token response for ``client`` (code flow with PKCE), as a relying party gets it."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = {"client_id": client["client_id"], "response_type": "code", "scope": "openid profile identity",
                 "redirect_uri": CALLBACK, "state": "a-state", "nonce": nonce, "code_challenge": challenge,
                 "code_challenge_method": "S256"}
        back = self.follow(f"{self.issuer}/auth?{urlencode(query)}", login)
        code = dict(parse_qsl(urlsplit(back).query))["code"]
        response = requests.post(f"{self.issuer}/token", timeout=10, auth=(client["client_id"], client["client_secret"]),
                                 data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                                       "code_verifier": verifier})
        assert response.status_code == 200, response.text
        return response.json()


def _install() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("The OIDC tests run a real provider on Node.js, which is not installed: "
                    "apt-get install nodejs npm (.ci/run does).")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True, timeout=600)


def _first_line(process: subprocess.Popen, seconds: float) -> str:
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(seconds)
    return line[0] if line else ""


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    _install()
    settings = {"port": 0, "clients": [CLIENT, OTHER], "accounts": ACCOUNTS, "id_token_ttl": ID_TOKEN_TTL}
    log = (tmp_path_factory.mktemp("oidc") / "provider.log").open("w")
    process = subprocess.Popen(
        ["node", str(HERE / "provider.mjs")], cwd=HERE, stdout=subprocess.PIPE, stderr=log, text=True,
        env={**os.environ, "OIDC_PROVIDER_CONFIG": json.dumps(settings)},
    )
    try:
        line = _first_line(process, 30)
        if not line:
            pytest.fail(f"the OIDC provider did not start; its log: {log.name}")
        issuer = json.loads(line)["issuer"]
        discovery = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10)
        assert discovery.status_code == 200 and discovery.json()["issuer"] == issuer
        yield Provider(issuer)
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        log.close()


@pytest.fixture
def oidc(app, oidc_provider):
    """The test app signing in with the provider (``OIDC_`` settings as a platform sets them)."""
    settings = {"OIDC_ISSUER": oidc_provider.issuer, "OIDC_CLIENT_ID": CLIENT["client_id"],
                "OIDC_CLIENT_SECRET": CLIENT["client_secret"], "OIDC_PROVIDER_LABEL": "统一身份认证"}
    saved = {key: app.config.get(key) for key in settings}
    app.config.update(settings)
    try:
        yield oidc_provider
    finally:
        app.config.update(saved)

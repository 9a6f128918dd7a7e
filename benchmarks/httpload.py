"""HTTP benchmarks: the app (or a floor app) under gunicorn, loaded by Debian's ``wrk``.

``serve`` starts gunicorn with N sync workers on a free port and stops it (by its pid) after;
``wrk`` runs the load generator with a Lua script that reports the latency percentiles, the
requests and every kind of error as one JSON line; ``sign_in`` and ``csrf_token`` drive the
real sign-in form with the standard library (the session cookie is marked Secure, so it is
carried by hand over plain http).
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import pyotp

ROOT = Path(__file__).resolve().parents[1]
SECRET = "benchmark-secret-key-0123456789abcdef"  # >= 32 characters: the production config
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")

REPORT_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, ' ..
    '"non_2xx_3xx": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database_url: str) -> dict:
    env = dict(os.environ)
    env.update({
        "CASEDESK_ENV": "production", "DATABASE_URL": database_url, "SECRET_KEY": SECRET,
        "CASEDESK_INSTANCE": "/tmp/casedesk-bench", "PYTHONPATH": f"{ROOT}:{ROOT / 'benchmarks'}",
        "PUBLIC_BASE_URL": "https://casedesk.example",  # production requires the site's own address
    })
    return env


@contextlib.contextmanager
def serve(app_spec: str, workers: int, env: dict):
    """gunicorn ``app_spec`` with ``workers`` sync workers; yields the base URL."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [GUNICORN, "-w", str(workers), "-b", f"127.0.0.1:{port}", "--backlog", "2048",
         "--access-logfile", "-" if os.environ.get("BENCH_ACCESS_LOG") else "/dev/null", app_spec],
        cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start: see {log.name}") from None
                time.sleep(0.2)
        time.sleep(1.0 + 0.3 * workers)  # every worker booted
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the group this function started
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def request(base: str, method: str, path: str, cookie: str = "", body: bytes | None = None,
            content_type: str | None = None) -> tuple[int, dict, str]:
    """Status, cookies set, and the page, or where a redirect sends (its Location)."""
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    if content_type:
        headers["Content-Type"] = content_type
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    text = response.read().decode("utf-8", "replace")
    cookies = {}
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            cookies[key] = rest.split(";", 1)[0]
    location = response.getheader("Location")
    conn.close()
    return response.status, cookies, location or text


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(base: str, path: str, cookie: str = "") -> tuple[str, str]:
    """The CSRF token of the form at ``path`` and the cookie to send with it."""
    status, cookies, text = request(base, "GET", path, cookie)
    match = _CSRF.search(text)
    if status != 200 or not match:
        raise RuntimeError(f"no form at {path}: {status}")
    if cookies:
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return match.group(1) or match.group(2), cookie


def sign_in(base: str, username: str, password: str) -> str:
    """Sign in through the form; the session cookie header. A staff account, which production
    asks for a second factor, enrols an authenticator the first time (the secret read off the
    enrolment page, as a person types it into an app) and gives its code after that."""
    token, cookie = csrf_token(base, "/auth/sign-in")
    body = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token}).encode()
    status, cookies, location = request(base, "POST", "/auth/sign-in", cookie, body, "application/x-www-form-urlencoded")
    if status != 302 or not cookies:
        raise RuntimeError(f"sign-in of {username} failed: {status}")
    cookie = _merged(cookie, cookies)
    for _ in range(3):  # a code of a time step used already is refused: the next step's is not
        step = urllib.parse.urlsplit(location).path
        if step not in ("/auth/two-factor/enrol", "/auth/two-factor/code"):
            return cookie
        status, page_cookies, text = request(base, "GET", step, cookie)
        cookie = _merged(cookie, page_cookies)
        secret = _SECRET.search(text)
        if secret:
            _SECRETS[username] = secret.group(1).replace(" ", "")
        form = _CSRF.search(text)
        code = pyotp.TOTP(_SECRETS[username]).now()
        body = urllib.parse.urlencode({"code": code, "csrf_token": form.group(1) or form.group(2)}).encode()
        status, cookies, _ = request(base, "POST", step, cookie, body, "application/x-www-form-urlencoded")
        cookie = _merged(cookie, cookies)
        if status in (200, 302) and cookies:
            return cookie  # signed in (the recovery codes' page after an enrolment, or the home page)
        time.sleep(31 - time.time() % 30)
        location = step
    raise RuntimeError(f"second factor of {username} failed: {status}")


_SECRET = re.compile(r'class="secret" readonly value="([A-Z2-7 ]+)"')
_SECRETS: dict[str, str] = {}  # username -> the authenticator's secret, once enrolled


def _merged(cookie: str, new: dict) -> str:
    jar = dict(part.split("=", 1) for part in cookie.split("; ") if "=" in part)
    jar.update(new)
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def page_status(base: str, path: str, cookie: str, marker: str) -> None:
    """Raise unless ``path`` answers 200 with ``marker`` in its page for this cookie: wrk counts a
    redirect (to the sign-in, say) as a success."""
    status, _, text = request(base, "GET", path, cookie)
    if status != 200 or marker not in text:
        raise RuntimeError(f"{path} answered {status} without {marker!r}: the load would not measure the page")


def wrk(url: str, connections: int, seconds: int, lua: str = "", threads: int = 2) -> dict:
    """Run wrk against ``url``; the figures of its report (latencies in ms)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua + "\n" + REPORT_LUA)
    threads = min(threads, connections)
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
         "-s", script.name, url], capture_output=True, text=True, check=True,
    ).stdout
    os.unlink(script.name)
    figures = json.loads(out.strip().splitlines()[-1])
    figures["per_second"] = round(figures["requests"] / figures["seconds"], 1)
    figures["errors"] = sum(figures[k] for k in ("non_2xx_3xx", "connect_errors", "read_errors",
                                                   "write_errors", "timeouts"))
    figures["connections"] = connections
    figures["load_average_1m"] = round(os.getloadavg()[0], 2)
    return figures


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here (ASCII)

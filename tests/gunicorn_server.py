"""A real gunicorn with deploy/gunicorn.conf.py on 127.0.0.1, for the tests of the deployment."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def migrated_sqlite(path: Path, env: dict) -> str:
    """An SQLite database built by the migrations (the release step), its URL."""
    url = f"sqlite:///{path}"
    subprocess.run([str(Path(sys.executable).with_name("flask")), "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                   env={**env, "DATABASE_URL": url}, check=True, capture_output=True, timeout=120)
    return url


def server_env(tmp_path: Path, **extra: str) -> dict:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("GUNICORN_", "PROMETHEUS_", "CASEDESK_", "LOG_FORMAT", "METRICS_", "DATABASE_URL"))}
    env.update(CASEDESK_ENV="development", CASEDESK_INSTANCE=str(tmp_path / "instance"),
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"))
    env.update(extra)
    return env


@contextmanager
def gunicorn(env: dict, port: int, *args: str):
    """gunicorn running until the block ends (SIGTERM, then waited for)."""
    process = subprocess.Popen([str(GUNICORN), "--config", str(CONFIG), *args, "wsgi:app"], cwd=ROOT,
                               env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, OSError) as error:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read() if process.stdout else ""
                    raise RuntimeError("gunicorn did not start:\n" + output) from error
                time.sleep(0.2)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()

"""deploy/ (issue 17): the gunicorn configuration loads and serves, its access log carries no
token nor query string, the units and nginx example hold together, a release migrates before
it restarts, and a backup restores."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.web.link_tokens import redact
from config import Config
from tests.gunicorn_server import CONFIG, GUNICORN, ROOT, free_port, get, gunicorn, migrated_sqlite, server_env

DEPLOY = ROOT / "deploy"
TOKEN = "Zq3sV9cXkT1mN8pL2wR7yB4uE6hJ0aDf"
SAMPLES = [
    f"/auth/password/{TOKEN}", f"/auth/sign-up/{TOKEN}", "/auth/password/forgot", "/auth/password/new",
    "/auth/password/change", "/auth/sign-up", "/auth/sign-up/", f"/auth/sign-up/{TOKEN}/x", "/public/query",
    f"/auth/password/new{TOKEN}",
]


def _load_config_module():
    """The configuration as gunicorn reads it; the environment it sets (the metrics' directory)
    is put back, so that this process's metrics stay single-process."""
    saved = dict(os.environ)
    try:
        namespace: dict = {"__file__": str(CONFIG), "__name__": "gunicorn_conf"}
        exec(compile(CONFIG.read_text(), str(CONFIG), "exec"), namespace)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return SimpleNamespace(**namespace)


@pytest.mark.slow
def test_gunicorn_checks_the_configuration(tmp_path):
    env = server_env(tmp_path)
    run = subprocess.run([str(GUNICORN), "--check-config", "-c", str(CONFIG), "wsgi:app"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_configuration_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "45")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "p"))
    conf = _load_config_module()
    assert (conf.workers, conf.timeout, conf.preload_app) == (3, 45, False)
    assert (tmp_path / "p").is_dir()
    monkeypatch.delenv("GUNICORN_WORKERS")
    assert _load_config_module().workers >= 3  # 2 x CPUs + 1


def test_the_access_log_redacts_as_the_application_does():
    conf = _load_config_module()
    for path in SAMPLES:
        assert conf.redact_path(path) == redact(path), path


def test_the_access_atoms_hold_no_query_no_token_no_secret_header():
    conf = _load_config_module()
    logger = conf.CasedeskLogger.__new__(conf.CasedeskLogger)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/auth/password/{TOKEN}?next=/x&t={TOKEN}",
               "PATH_INFO": f"/auth/password/{TOKEN}", "QUERY_STRING": f"next=/x&t={TOKEN}",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
               "HTTP_REFERER": f"https://x/auth/sign-up/{TOKEN}"}
    response = SimpleNamespace(status="200 OK", headers=[("X-Request-ID", "abc12345")], sent=10)
    request = SimpleNamespace(headers=[("AUTHORIZATION", f"Bearer {TOKEN}"), ("REFERER", environ["HTTP_REFERER"])])
    atoms = logger.atoms(response, request, environ, SimpleNamespace(seconds=0, microseconds=1500))
    line = conf.access_log_format % logger.atoms_wrapper_class(atoms)
    assert TOKEN not in repr(atoms) and TOKEN not in line
    assert '"GET /auth/password/[token] HTTP/1.1" 200' in line and "abc12345" in line


@pytest.mark.slow
def test_gunicorn_serves_with_it_and_logs_no_token(tmp_path):
    access = tmp_path / "access.log"
    env = server_env(tmp_path, GUNICORN_WORKERS="2", GUNICORN_ACCESS_LOG=str(access))
    env["DATABASE_URL"] = migrated_sqlite(tmp_path / "site.sqlite3", env)
    port = free_port()
    with gunicorn(env, port):
        base = f"http://127.0.0.1:{port}"
        status, headers, _ = get(f"{base}/auth/password/{TOKEN}?t={TOKEN}")
        assert status < 500
        get(f"{base}/auth/sign-up/{TOKEN}")
        status, headers, body = get(f"{base}/public/query?q={TOKEN}")
        request_id = headers["X-Request-ID"]
        get(f"{base}/healthz")
        time.sleep(0.5)  # the access line is written after the answer
    log = access.read_text()
    assert "/auth/password/[token]" in log and "/auth/sign-up/[token]" in log
    assert TOKEN not in log
    assert request_id in log  # the request's id, as the answer's header gave it


def test_the_units_never_migrate_and_run_the_release():
    web = (DEPLOY / "systemd" / "casedesk-web.service").read_text()
    scheduler = (DEPLOY / "systemd" / "casedesk-scheduler@.service").read_text()
    for unit in (web, scheduler):
        assert "db upgrade" not in "\n".join(line for line in unit.splitlines() if line.startswith("Exec"))
        assert "EnvironmentFile=/etc/casedesk/casedesk.env" in unit
    assert "deploy/gunicorn.conf.py wsgi:app" in web and "ExecReload=/bin/kill -HUP $MAINPID" in web
    assert "scheduler run" in scheduler and "%i" in scheduler


def _units_for_here(tmp_path: Path) -> Path:
    """The units with this checkout as the release and the current user, for systemd-analyze."""
    import getpass

    out = tmp_path / "units"
    out.mkdir()
    for unit in (DEPLOY / "systemd").iterdir():
        text = unit.read_text().replace("/srv/casedesk/current", str(ROOT)).replace("/etc/casedesk/casedesk.env",
                                                                                   str(DEPLOY / "casedesk.env.example"))
        text = text.replace("User=casedesk", f"User={getpass.getuser()}").replace("Group=casedesk", "")
        (out / unit.name.replace("@.service", "@1.service")).write_text(text)
    return out


def test_systemd_accepts_the_units(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    units = _units_for_here(tmp_path)
    run = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in units.iterdir())],
                         capture_output=True, text=True, timeout=120)
    problems = [line for line in (run.stdout + run.stderr).splitlines()
                if str(units) in line or "casedesk" in line]
    assert problems == [], "\n".join(problems)


def test_nginx_takes_the_upload_size_and_keeps_tokens_out_of_its_log():
    conf = (DEPLOY / "nginx" / "casedesk.conf").read_text()
    size = re.search(r"client_max_body_size (\d+)m;", conf)
    assert size and Config.MAX_CONTENT_LENGTH <= int(size.group(1)) * 1024 * 1024 < Config.MAX_CONTENT_LENGTH * 1.2
    # What nginx answers past it is the platform's page, from the release's static files, with the limit.
    page = re.search(r"error_page 413 /static/(\S+);", conf).group(1)
    refusal = (DEPLOY.parent / "static" / page).read_text()
    limit = f"{Config.MAX_CONTENT_LENGTH // (1024 * 1024)} MB"
    assert "上传的文件过大" in refusal and limit in refusal and "The upload is too large" in refusal
    proxy = (DEPLOY / "nginx" / "casedesk_proxy.conf").read_text()
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in proxy and "X-Forwarded-Proto $scheme" in proxy
    assert "TRUSTED_PROXY_COUNT=1" in (DEPLOY / "casedesk.env.example").read_text()
    # nginx's map, in Python's notation, cuts the same paths as the application's log filter.
    pattern = re.search(r"~(\^\(\?<keep>\S*)\s", conf).group(1).replace("(?<keep>", "(?P<keep>")
    for path in SAMPLES:
        match = re.match(pattern, path)
        logged = match.group("keep") + "[token]" if match else path
        assert TOKEN not in logged, path
        assert logged == path or redact(path).startswith(logged), path


def test_nginx_parses_the_example(tmp_path):
    nginx = shutil.which("nginx") or (Path("/usr/sbin/nginx") if Path("/usr/sbin/nginx").exists() else None)
    if not nginx:
        pytest.skip("nginx is not installed")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)
    site = (DEPLOY / "nginx" / "casedesk.conf").read_text()
    site = site.replace("/etc/ssl/casedesk/fullchain.pem", str(tmp_path / "cert.pem")).replace(
        "/etc/ssl/casedesk/privkey.pem", str(tmp_path / "key.pem")).replace(
        "/etc/nginx/casedesk_proxy.conf", str(DEPLOY / "nginx" / "casedesk_proxy.conf")).replace(
        "/var/log/nginx/", str(tmp_path) + "/")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n access_log {tmp_path}/access.log;\n include {tmp_path}/site.conf;\n}}\n")
    run = subprocess.run([str(nginx), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


@pytest.mark.slow
def test_a_release_migrates_before_it_restarts(tmp_path):
    """release.sh on a database one migration behind: `flask db upgrade` runs, and only then the
    services restart (a stand-in systemctl writes down the revision it finds)."""
    env = server_env(tmp_path)
    database = tmp_path / "site.sqlite3"
    url = migrated_sqlite(database, env)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        head = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    subprocess.run([str(Path(sys.executable).with_name("flask")), "--app", "wsgi", "db", "downgrade"], cwd=ROOT,
                   env={**env, "DATABASE_URL": url}, check=True, capture_output=True, timeout=120)
    calls = tmp_path / "systemctl.log"
    stub = tmp_path / "systemctl"
    stub.write_text(
        "#!/bin/sh\n"
        f"rev=$({sys.executable} -c \"import sqlite3; print(sqlite3.connect('{database}')"
        ".execute('select version_num from alembic_version').fetchone()[0])\")\n"
        f'echo "$* at $rev" >> {calls}\n')
    stub.chmod(0o755)
    env_file = tmp_path / "casedesk.env"
    env_file.write_text(f"CASEDESK_ENV=development\nCASEDESK_INSTANCE={tmp_path / 'instance'}\nDATABASE_URL={url}\n")
    base = tmp_path / "srv"
    base.mkdir()
    run = subprocess.run(["bash", str(DEPLOY / "release.sh"), "--migrate", str(ROOT)], cwd=tmp_path,
                         env={**env, "CASEDESK_BASE": str(base), "CASEDESK_ENV_FILE": str(env_file),
                              "SYSTEMCTL": str(stub), "READY_URL": "", "SCHEDULER_UNITS": "casedesk-scheduler@1.service"},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert calls.read_text().splitlines() == [f"restart casedesk-web.service at {head}",
                                              f"restart casedesk-scheduler@1.service at {head}"]
    assert (base / "current").resolve() == ROOT


@pytest.mark.slow
def test_a_backup_restores_the_database_and_the_evidence(throwaway_database, tmp_path, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_dump needs PostgreSQL")
    engine = sa.create_engine(throwaway_database)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE evidence_row (id int primary key, name text)")
        conn.exec_driver_sql("INSERT INTO evidence_row VALUES (1, '营业执照.pdf')")
    uploads = tmp_path / "uploads"
    (uploads / "ab").mkdir(parents=True)
    (uploads / "ab" / "file.pdf").write_bytes(b"%PDF-1.4 evidence")
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": throwaway_database, "STORAGE_BACKEND": "local",
           "UPLOAD_DIR": str(uploads), "CASEDESK_ENV_FILE": str(tmp_path / "none")}
    run = subprocess.run(["bash", str(DEPLOY / "backup.sh"), str(tmp_path / "backups")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    [backup] = list((tmp_path / "backups").iterdir())
    assert {p.name for p in backup.iterdir()} == {"casedesk.dump", "uploads.tar.gz", "SHA256SUMS", "storage_backend"}
    with engine.begin() as conn:  # the disaster
        conn.exec_driver_sql("DROP TABLE evidence_row")
    shutil.rmtree(uploads)
    run = subprocess.run(["bash", str(DEPLOY / "restore.sh"), "--clean", str(backup)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT name FROM evidence_row WHERE id = 1")) == "营业执照.pdf"
    engine.dispose()
    assert (uploads / "ab" / "file.pdf").read_bytes() == b"%PDF-1.4 evidence"

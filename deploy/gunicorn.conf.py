"""gunicorn's configuration for the credit case desk: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Every setting can be changed through the environment (deploy/casedesk.env.example) and nothing
here imports the application: the master stays free of its code, so `systemctl reload
casedesk-web` (SIGHUP) starts new workers that load the code afresh and then retires the old
ones, each finishing its requests first.

The access log never carries a link's token nor a query string: password and sign-up links
(`/auth/password/<token>`, `/auth/sign-up/<token>`) are written `/auth/password/[token]`
(the same rule as app/web/link_tokens.py, which tests/unit/test_deploy.py keeps in step), the
request line is the method, the path and the protocol only, and the referer and every
environ atom are left out.
"""
from __future__ import annotations

import glob
import json
import logging
import os
import re
import tempfile
import time
import traceback

from gunicorn.glogging import Logger


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (a container's, a cgroup's)
    except AttributeError:
        return os.cpu_count() or 1


# Where and how many: behind nginx on the same host (deploy/nginx/casedesk.conf). Sync workers:
# each request holds one database connection from start to end, so the pool per worker is small.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
workers = _int("GUNICORN_WORKERS", 2 * _cores() + 1)
threads = _int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
backlog = _int("GUNICORN_BACKLOG", 2048)

# Timeouts: a request that takes longer than `timeout` is killed with its worker (the longest
# legitimate ones, an inline import of 1 MB, take seconds); on SIGTERM and SIGHUP, workers get
# `graceful_timeout` to finish what they serve. nginx keeps connections to us open `keepalive`.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# A worker is replaced after this many requests (and a random part more), so that no slow leak
# grows for weeks; 0 turns it off.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
preload_app = False  # the master never imports the application (see the docstring: SIGHUP)
proc_name = os.environ.get("GUNICORN_PROC_NAME", "casedesk-web")
# gunicorn 24+ opens a control socket in the user's home by default: one path for every server
# of the user (two on a host would clash), and no home under the unit's ProtectHome. systemctl
# and signals are the controls here.
control_socket_disable = True
# A worker's heartbeat file on a tmpfs: on a disk, a slow fsync could get a healthy worker killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Logs: to stdout and stderr by default (journald under systemd), or to files.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# No %(r)s with the raw URI, no %(q)s, no %(f)s referer, no {...}e environ atoms: see the docstring.
access_log_format = '%(h)s - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s" %({x-request-id}o)s'

# The metrics of every worker, added up at a scrape (app/web/metrics.py): prometheus-client's
# multi-process mode reads this before the workers import it. The systemd unit gives a runtime
# directory; by hand, a new temporary one (kept across SIGHUP, the environment remembers it).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    if runtime:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.path.join(runtime, "prometheus")
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="casedesk-prometheus-")
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def on_starting(server):
    """A fresh start counts from zero: the files of a previous run's workers go."""
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)


def child_exit(server, worker):
    """A worker's live gauges go with it (its counters stay in the sum)."""
    from prometheus_client import multiprocess  # imported in the master only here, not the app

    multiprocess.mark_process_dead(worker.pid)


# The same rule as app/web/link_tokens.py (_TOKEN_IN_PATH).
_TOKEN_IN_PATH = re.compile(
    r"(/auth/(?:password|sign-up)/)(?!(?:forgot|new|change)(?=[\s\"'?#/]|$))([^\s\"'?#/]+)")
# Request and response headers that carry secrets: never an atom, whatever the format asks.
_SECRET_HEADERS = ("{authorization}i", "{cookie}i", "{proxy-authorization}i", "{set-cookie}o", "{referer}i")


def redact_path(path: str | None) -> str:
    return _TOKEN_IN_PATH.sub(lambda m: m.group(1) + "[token]", path or "-")


class CasedeskLogger(Logger):
    """gunicorn's logger with the access atoms made safe, and JSON lines with LOG_FORMAT=json."""

    def atoms(self, resp, req, environ, request_time):
        atoms = {key: value for key, value in super().atoms(resp, req, environ, request_time).items()
                 if not key.endswith("}e") and key not in _SECRET_HEADERS}
        path = redact_path(atoms.get("U"))
        atoms.update(U=path, r=f"{atoms.get('m')} {path} {atoms.get('H')}", q="-", f="-")
        return atoms

    def setup(self, cfg):
        super().setup(cfg)
        if os.environ.get("LOG_FORMAT", "").lower() == "json":
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(_JsonLines())

    def access(self, resp, req, environ, request_time):
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.logconfig_dict
                or getattr(self.cfg, "logconfig_json", None)
                or (self.cfg.syslog and not self.cfg.disable_redirect_access_to_syslog)):
            return
        atoms = self.atoms(resp, req, environ, request_time)
        http = {"method": atoms.get("m"), "path": atoms["U"], "status": atoms.get("s"),
                "duration_ms": atoms.get("M"), "bytes": atoms.get("B"), "client": atoms.get("h"),
                "user_agent": atoms.get("a")}
        try:
            self.access_log.info(self.cfg.access_log_format, self.atoms_wrapper_class(atoms),
                                 extra={"http": http, "request_id": atoms.get("{x-request-id}o")})
        except Exception:
            self.error(traceback.format_exc())


class _JsonLines(logging.Formatter):
    """The master's and workers' gunicorn lines as JSON (a worker's application replaces it with
    app.logging_setup.JsonFormatter, the same fields)."""

    def format(self, record):
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                 + f".{int(record.msecs):03d}+00:00",
                 "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                 "process": record.process}
        for key in ("request_id", "http"):
            if getattr(record, key, None):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


logger_class = CasedeskLogger

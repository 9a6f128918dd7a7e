"""Prometheus metrics (issue 17): requests by route and status, their latency, and the
platform's figures read from the database at scrape time (``app.services.operations``).

Under gunicorn each worker is a process of its own: with ``PROMETHEUS_MULTIPROC_DIR`` set
(deploy/gunicorn.conf.py sets it before any worker imports this), the request counters are
kept in files there and a scrape, answered by whichever worker, adds up every worker's. The
database figures are not per process: the scraping worker reads them once per scrape.

``/metrics`` answers only a client in ``METRICS_ALLOWED_NETWORKS`` (the address ProxyFix gives,
so behind nginx the real client's) or one with ``Authorization: Bearer <METRICS_TOKEN>``;
anyone else gets the site's 404, as for a page that does not exist.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from app.services.operations import PlatformFigures, platform_figures
from app.web.access import public

bp = Blueprint("metrics", __name__)
log = logging.getLogger(__name__)

disable_created_metrics()  # the *_created series: as many again, and not summed across workers
UNMATCHED = "[unmatched]"  # a path no route has: one label, however many paths are tried

REQUESTS = Counter("casedesk_http_requests", "HTTP requests answered, by route (the URL rule) and status.",
                   ["method", "route", "status"], registry=None)
LATENCY = Histogram("casedesk_http_request_duration_seconds", "Time to answer an HTTP request, by route.",
                    ["method", "route"], registry=None,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


def _multiprocess() -> bool:
    """Whether the metrics are kept in PROMETHEUS_MULTIPROC_DIR's files: prometheus-client
    chose so when it was imported (the environment now may say otherwise)."""
    return values.ValueClass is not values.MutexValue


def start_timer():
    g.metrics_started = time.perf_counter()


def count_request(response):
    """``after_request``: error pages included (the error handlers answer before it runs)."""
    started = g.pop("metrics_started", None)
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    method = request.method if request.method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD") else "OTHER"
    REQUESTS.labels(method, route, str(response.status_code)).inc()
    if started is not None:
        LATENCY.labels(method, route).observe(time.perf_counter() - started)
    return response


def register(app: Flask) -> None:
    """The request hooks: the timer first of all ``before_request`` hooks, so a request that a
    later hook refuses (or that fails on the database there) is timed too."""
    app.before_request_funcs.setdefault(None, []).insert(0, start_timer)
    app.after_request(count_request)


class PlatformCollector:
    """The database figures, read when Prometheus scrapes; ``casedesk_database_up`` 0 (and no
    figures) when the database does not answer, rather than a failed scrape."""

    def collect(self):
        up = GaugeMetricFamily("casedesk_database_up", "Whether the scrape could read the database (1) or not (0).")
        try:
            figures = platform_figures()
        except Exception as error:  # a scrape says the database is down, it does not fail
            log.warning("metrics: the database figures could not be read: %s", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _figures(figures)


def _figures(figures: PlatformFigures):
    backlog = GaugeMetricFamily("casedesk_outbox_notices", "Notices in the outbox not yet sent, by channel and state.",
                                labels=["channel", "state"])
    for (channel, state), count in sorted(figures.outbox.backlog.items()):
        backlog.add_metric([channel, state], count)
    yield backlog
    oldest = GaugeMetricFamily("casedesk_outbox_oldest_pending_age_seconds",
                               "Age of the oldest notice still to deliver, by channel.", labels=["channel"])
    for channel, created in sorted(figures.outbox.oldest_pending.items()):
        oldest.add_metric([channel], max(0.0, (figures.at - created).total_seconds()))
    yield oldest
    yield GaugeMetricFamily("casedesk_records_due_unretired",
                            "Records whose publicity ended and that are not retired yet.", value=figures.records_due)
    runs = CounterMetricFamily("casedesk_job_runs", "Runs of each scheduled job (job_run).", labels=["job"])
    failures = CounterMetricFamily("casedesk_job_failures", "Failed runs of each scheduled job.", labels=["job"])
    duration = GaugeMetricFamily("casedesk_job_last_duration_seconds", "How long the job's last run took.",
                                 labels=["job"])
    failed = GaugeMetricFamily("casedesk_job_last_run_failed", "Whether the job's last run failed (1) or not (0).",
                               labels=["job"])
    started = GaugeMetricFamily("casedesk_job_last_started_timestamp_seconds", "When the job's last run started.",
                                labels=["job"])
    finished = GaugeMetricFamily("casedesk_job_last_finished_timestamp_seconds", "When the job's last run ended.",
                                 labels=["job"])
    for job in figures.jobs:
        runs.add_metric([job.name], job.runs)
        failures.add_metric([job.name], job.failures)
        failed.add_metric([job.name], 1 if job.last_failed else 0)
        if job.last_duration_ms is not None:
            duration.add_metric([job.name], job.last_duration_ms / 1000)
        if job.last_started_at is not None:
            started.add_metric([job.name], job.last_started_at.timestamp())
        if job.last_finished_at is not None:
            finished.add_metric([job.name], job.last_finished_at.timestamp())
    yield from (runs, failures, duration, failed, started, finished)


def _allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    header = request.headers.get("Authorization", "")
    if token and header.lower().startswith("bearer ") and hmac.compare_digest(
            header[7:].strip().encode(), str(token).encode()):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False)
               for network in current_app.config.get("METRICS_ALLOWED_NETWORKS") or ())


def registry() -> CollectorRegistry:
    """A registry for one scrape: every worker's request metrics, and the database figures."""
    scrape = CollectorRegistry()
    if _multiprocess():
        MultiProcessCollector(scrape)
    else:
        scrape.register(REQUESTS)
        scrape.register(LATENCY)
    scrape.register(PlatformCollector())
    return scrape


@bp.route("/metrics")
@public
def metrics():
    if not _allowed():
        abort(404)
    response = Response(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


"""Benchmark: the policy draft's preview against the floor (the bare GROUP BY) and the naive way.

    .venv/bin/python benchmarks/policy_preview.py [--rows 1000000] [--sample 20000]

Loads N records in publicity into a throw-away PostgreSQL database with COPY (the expiry
benchmark's loader), then times, in one run:

* floor: the one ``SELECT ... GROUP BY`` the preview sends for records, with no Python work:
  any exact answer has to read every record in publicity once;
* preview: ``policy_admin.preview`` as the admin page calls it (records and open timers),
  for a draft that shortens the general class from one year to six months;
* naive: the per-record way (load each record with the ORM and recompute its dates) on a
  sample, scaled up to all records.

Checks that the preview's counts equal a direct count, and writes
benchmarks/results/policy_preview.json. Needs PostgreSQL on 127.0.0.1:5432 (trust auth).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import SERVER, bench_app, server_version  # noqa: E402
from expiry import prepare  # noqa: E402

TODAY = datetime(2027, 12, 1, 3, 0, tzinfo=UTC)
EFFECTIVE = date(2027, 12, 1)

GROUP_BY = (
    "SELECT severity, decision_date, sector, publicity_end, shortest_publicity_end, count(*) FROM credit_record "
    "WHERE state IN ('published', 'corrected') "
    "GROUP BY severity, decision_date, sector, publicity_end, shortest_publicity_end"
)


def _best_of(n: int, run) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(n):
        t0 = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--database", default="casedesk_bench_policy")
    args = parser.parse_args()
    url = f"{SERVER}/{args.database}"

    print(f"loading {args.rows:,} records with COPY ...", flush=True)
    data = prepare(url, args.rows, 0.2)
    app = bench_app(url)
    with app.app_context():
        from sqlalchemy import func, select

        from app import clock
        from app.extensions import db
        from app.models import CreditRecord
        from app.services.policy import compute_record_dates, get_policy_in_force
        from app.services.policy.versions import preview

        with clock.frozen_clock(TODAY):
            body = copy.deepcopy(get_policy_in_force().body)
            body["record_classes"]["general"]["publicity"] = "6m"

            # Interleaved, best of five each: both read the same pages, so neither gets a warmer cache.
            floor_seconds = preview_seconds = float("inf")
            for _ in range(5):
                seconds, groups = _best_of(1, lambda: db.session.connection().exec_driver_sql(GROUP_BY).all())
                floor_seconds = min(floor_seconds, seconds)
                seconds, result = _best_of(1, lambda: preview(body, EFFECTIVE))
                preview_seconds = min(preview_seconds, seconds)

            t0 = time.perf_counter()
            earlier = 0
            sample = db.session.scalars(select(CreditRecord).order_by(CreditRecord.id).limit(args.sample)).all()
            for record in sample:
                dates = compute_record_dates(body, record.severity, record.decision_date, sector=record.sector)
                earlier += dates.publicity_end < record.publicity_end
            naive_sample = time.perf_counter() - t0
            db.session.rollback()

        # Every record is general with a one-year end: those decided from the legacy cut-off on
        # retire earlier (six months); older ones fall under the legacy clause (three years): later.
        cutoff = date.fromisoformat(body["legacy"]["decided_before"])
        in_publicity = CreditRecord.state.in_(("published", "corrected"))
        direct_earlier = db.session.scalar(select(func.count()).where(in_publicity, CreditRecord.decision_date >= cutoff))
        direct_later = db.session.scalar(select(func.count()).where(in_publicity, CreditRecord.decision_date < cutoff))
        assert result.records_checked == data["rows"], result
        assert (result.retire_earlier, result.retire_later) == (direct_earlier, direct_later), result
        assert earlier == sum(r.decision_date >= cutoff for r in sample), earlier

    naive_scaled = naive_sample * data["rows"] / len(sample)
    figures = {
        "benchmark": "policy_preview",
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "postgresql": server_version(url)},
        "rows": data["rows"],
        "groups": len(groups),
        "floor": {"seconds": round(floor_seconds, 3), "what": "the bare GROUP BY over records in publicity"},
        "preview": {"seconds": round(preview_seconds, 3), "retire_earlier": result.retire_earlier,
                    "retire_later": result.retire_later, "retire_at_once": result.retire_at_once},
        "naive": {"sample_rows": len(sample), "sample_seconds": round(naive_sample, 2),
                  "scaled_seconds": round(naive_scaled, 1)},
        "preview_to_floor": round(preview_seconds / floor_seconds, 2),
        "naive_to_preview": round(naive_scaled / preview_seconds, 1),
    }
    out = ROOT / "benchmarks" / "results" / "policy_preview.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

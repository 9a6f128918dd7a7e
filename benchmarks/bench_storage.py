"""Benchmark: evidence storage backends on PostgreSQL (issue 17, item 2; docs/storage.md).

    .venv/bin/python benchmarks/bench_storage.py [--small 500] [--large 20] [--rounds 2]

Through ``app.services.uploads`` as the case submission uses it (``store`` then the commit, one
file per transaction; then ``read`` of each, as a download does), for each backend:

* local: files under a directory on this disk (the floor: no network, no database);
* database: ``stored_blob`` rows (bytea) in a throw-away PostgreSQL database
  (``casedesk_bench_storage``), written in the transaction;
* s3: boto3 to moto's S3 server (``moto_server``, an emulator written in Python, in memory) on
  127.0.0.1, a process of its own: a real HTTP round trip per file, but the server's own cost is
  an emulator's, not a real object store's.

Files: ``--small`` of 200 KB and ``--large`` of 5 MB, random bytes (each file distinct). The
backends run interleaved in rounds, the load average recorded before each; their files are
removed between phases (untimed). Writes benchmarks/results/storage.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import SERVER, fresh_database, server_version  # noqa: E402

URL = f"{SERVER}/casedesk_bench_storage"
KB = 1024
BACKENDS = ("local", "database", "s3")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("moto_server did not start")


def settings(kind: str, endpoint: str, folder: Path) -> dict:
    base = {"STORAGE_BACKEND": kind, "UPLOAD_DIR": str(folder)}
    if kind == "s3":
        base.update(STORAGE_S3_BUCKET="bench-evidence", STORAGE_S3_ENDPOINT_URL=endpoint, STORAGE_S3_REGION="us-east-1",
                    STORAGE_S3_ACCESS_KEY_ID="bench", STORAGE_S3_SECRET_ACCESS_KEY="bench")
    return base


def files(small: int, large: int) -> dict[str, list[bytes]]:
    return {"200KB": [os.urandom(200 * KB) for _ in range(small)], "5MB": [os.urandom(5 * KB * KB) for _ in range(large)]}


def phase(app, kind: str, batch: list[bytes]) -> dict:
    """Store each file and commit (one transaction each), then read each back."""
    from sqlalchemy import text

    from app.extensions import db
    from app.services import uploads

    write, read = [], []
    with app.app_context():
        digests = []
        for data in batch:
            start = time.perf_counter()
            digests.append(uploads.store(data))
            db.session.commit()
            write.append(time.perf_counter() - start)
        for digest, data in zip(digests, batch, strict=True):
            start = time.perf_counter()
            got = uploads.read(digest)
            db.session.rollback()  # a download's request ends its transaction
            read.append(time.perf_counter() - start)
            assert got == data
        size = db.session.execute(text("SELECT pg_total_relation_size('stored_blob')")).scalar()
        for digest in digests:  # untimed: the next phase starts empty
            uploads.discard(digest)
        db.session.commit()
        if kind == "database":
            db.session.execute(text("TRUNCATE stored_blob"))
            db.session.commit()
    mb = sum(len(d) for d in batch) / (KB * KB)
    return {"files": len(batch), "mb": round(mb, 1),
            "write_s": round(sum(write), 3), "read_s": round(sum(read), 3),
            "write_mb_s": round(mb / sum(write), 1), "read_mb_s": round(mb / sum(read), 1),
            "write_ms_p50": round(statistics.median(write) * 1000, 2),
            "write_ms_p95": round(sorted(write)[int(len(write) * 0.95) - 1] * 1000, 2),
            "read_ms_p50": round(statistics.median(read) * 1000, 2),
            "read_ms_p95": round(sorted(read)[int(len(read) * 0.95) - 1] * 1000, 2),
            "stored_blob_bytes_before_cleanup": size}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--large", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    app = fresh_database(URL)
    server, endpoint = start_moto()
    folder = Path("/tmp/casedesk-bench/storage")
    try:
        import boto3

        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                     aws_secret_access_key="bench").create_bucket(Bucket="bench-evidence")
        data = files(args.small, args.large)
        rounds = []
        for n in range(args.rounds):
            figures = {}
            for kind in BACKENDS:
                app.config.update(settings(kind, endpoint, folder))
                for size, batch in data.items():
                    load = os.getloadavg()[0]
                    result = phase(app, kind, batch)
                    result["load_before"] = round(load, 2)
                    figures[f"{kind} {size}"] = result
                    print(f"round {n + 1} {kind:8} {size:5}: write {result['write_s']:.2f} s "
                          f"({result['write_mb_s']} MB/s, p50 {result['write_ms_p50']} ms), read {result['read_s']:.2f} s "
                          f"({result['read_mb_s']} MB/s) (load {load:.2f})", flush=True)
            rounds.append(figures)
    finally:
        server.terminate()
        server.wait(timeout=10)

    best = {key: {metric: min(r[key][metric] for r in rounds) if metric.endswith(("_s", "_p50", "_p95"))
                  and not metric.endswith("mb_s") else max(r[key][metric] for r in rounds)
                  for metric in rounds[0][key] if metric not in ("load_before",)} for key in rounds[0]}
    out = {
        "taken": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "postgresql": server_version(URL)},
        "data": {"small": f"{args.small} x 200 KB", "large": f"{args.large} x 5 MB", "rounds": args.rounds},
        "s3_server": "moto_server (moto[server], an S3 emulator in Python, in memory) on 127.0.0.1",
        "best_of_rounds": best,
        "rounds": rounds,
    }
    path = ROOT / "benchmarks" / "results" / "storage.json"
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

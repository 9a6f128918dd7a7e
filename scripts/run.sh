#!/usr/bin/env bash
# Runs the product on this machine: SQLite database under instance/, demo data on first run,
# the web application on http://127.0.0.1:5000 and the scheduler (expiry, SLA sweep,
# notification dispatch, retention) beside it. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export FLASK_APP=wsgi
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:${PORT:-5000}}"  # the mails' links
.venv/bin/flask db upgrade
.venv/bin/flask seed-demo --if-empty
.venv/bin/flask scheduler run &
scheduler=$!
trap 'kill "$scheduler" 2>/dev/null || true; wait "$scheduler" 2>/dev/null || true' EXIT INT TERM
echo "Credit case desk: http://127.0.0.1:${PORT:-5000}  (Ctrl-C stops it)"
.venv/bin/flask run --host 127.0.0.1 --port "${PORT:-5000}"

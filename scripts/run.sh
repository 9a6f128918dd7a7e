#!/usr/bin/env bash
# Runs the product on this machine: SQLite database under instance/, demo data on first run,
# the web application on http://127.0.0.1:5000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export FLASK_APP=wsgi
.venv/bin/flask db upgrade
.venv/bin/flask seed-demo --if-empty
echo "Credit case desk: http://127.0.0.1:5000  (Ctrl-C stops it)"
exec .venv/bin/flask run --host 127.0.0.1 --port "${PORT:-5000}"

#!/usr/bin/env bash
# Runs the test suite. SQLite by default; set TEST_DATABASE_URL to a throw-away PostgreSQL
# database to run the same suite there. Extra arguments go to pytest (e.g. -m "not slow").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# Lint and layering: ruff over the tree, and import-linter's contracts (pyproject.toml) that keep
# dependencies pointing one way (web -> forms and services -> models and workflows; service
# packages in layers; blueprints apart; workflows pure). The test command runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check --quiet .
if ! report=$(PYTHONPATH=. .venv/bin/lint-imports --no-cache 2>&1); then
  echo "$report" >&2
  exit 1
fi
echo "lint: ruff clean; $(grep -c ' KEPT$' <<<"$report") import contracts kept"

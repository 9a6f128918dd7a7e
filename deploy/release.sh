#!/usr/bin/env bash
# A release on one host: build the new release's venv, check its configuration, migrate the
# database (on the first host only: --migrate), switch `current` to it, restart, wait for ready.
#
#   deploy/release.sh --migrate /srv/casedesk/releases/2026-12-02-1   # the first host
#   deploy/release.sh /srv/casedesk/releases/2026-12-02-1             # each other host, one by one
#
# Migrations run before any process starts on the new code, and never when a process starts
# (the units have no such step): the hosts still on the old code keep serving on the migrated
# database (/readyz says "database ahead of this code"), so each release's migrations only add
# what the old code can live with, and drop what it still uses only in a later release.
#
# Environment: CASEDESK_BASE (/srv/casedesk), CASEDESK_ENV_FILE (/etc/casedesk/casedesk.env),
# SYSTEMCTL (systemctl), READY_URL (http://127.0.0.1:8000/readyz; empty: do not wait),
# SCHEDULER_UNITS (the casedesk-scheduler@ instances running here, found by default).
set -euo pipefail

migrate=false
restart=true
while [ $# -gt 0 ]; do
  case "$1" in
    --migrate) migrate=true; shift ;;
    --no-restart) restart=false; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "release.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: release.sh [--migrate] [--no-restart] RELEASE_DIR" >&2; exit 2; }

release=$(realpath "$1")
base=${CASEDESK_BASE:-/srv/casedesk}
env_file=${CASEDESK_ENV_FILE:-/etc/casedesk/casedesk.env}
systemctl=${SYSTEMCTL:-systemctl}
ready_url=${READY_URL-http://127.0.0.1:8000/readyz}
[ -f "$release/wsgi.py" ] || { echo "release.sh: $release holds no release (no wsgi.py)" >&2; exit 2; }
[ -r "$env_file" ] || { echo "release.sh: cannot read $env_file" >&2; exit 2; }

step() { echo "== $*"; }

# The environment the services get: systemd's EnvironmentFile, NAME=value lines, taken as
# they are (no shell expansion: a secret may hold a $).
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in ''|'#'*) continue ;; esac
  export "${line%%=*}=${line#*=}"
done < "$env_file"

cd "$release"
if [ ! -x .venv/bin/python ]; then
  step "venv for $release"
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "$release"
fi
step "translations"
scripts/i18n.sh compile

step "configuration check (the application loads with this environment)"
.venv/bin/gunicorn --check-config --config deploy/gunicorn.conf.py wsgi:app

if $migrate; then
  step "migrations (flask db upgrade), before any process runs the new code"
  .venv/bin/flask --app wsgi db upgrade
fi
step "database revision: $(.venv/bin/flask --app wsgi db current 2>/dev/null | tail -n1)"

step "current -> $release"
ln -sfn "$release" "$base/current.new"
mv -T "$base/current.new" "$base/current"

if ! $restart; then
  step "not restarted (--no-restart)"
  exit 0
fi
# A new master for the web (a new venv; casedesk-web.socket keeps the port, so no connection
# is refused meanwhile); the schedulers one after the other (the others keep running the jobs).
step "restart casedesk-web"
"$systemctl" restart casedesk-web.service
units=${SCHEDULER_UNITS:-$("$systemctl" list-units --plain --no-legend --state=active 'casedesk-scheduler@*.service' 2>/dev/null | awk '{print $1}' || true)}
for unit in $units; do
  step "restart $unit"
  "$systemctl" restart "$unit"
done

if [ -n "$ready_url" ]; then
  step "waiting for $ready_url"
  for _ in $(seq 1 60); do
    if curl -fsS --max-time 2 "$ready_url" >/dev/null 2>&1; then
      step "ready"
      exit 0
    fi
    sleep 1
  done
  echo "release.sh: not ready after 60 s: curl $ready_url; journalctl -u casedesk-web" >&2
  echo "release.sh: to go back: deploy/release.sh <the previous release> (no --migrate)" >&2
  exit 1
fi

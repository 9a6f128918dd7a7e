#!/usr/bin/env bash
# Restore a backup of deploy/backup.sh: the database from its dump (into an empty database, or
# replacing every object of the one given with --clean), and the evidence directory from its tar.
#
#   systemctl stop casedesk-web casedesk-scheduler@\*     # on every host: nothing writes meanwhile
#   deploy/restore.sh --clean /var/backups/casedesk/20261202T020000Z
#   deploy/release.sh --migrate /srv/casedesk/current     # a dump older than the code: migrate it
#   systemctl start casedesk-web casedesk-scheduler@1
#
# The evidence directory is replaced whole: the one there is moved aside to <dir>.before-<stamp>.
# With STORAGE_BACKEND=s3 restore the bucket's objects from its versions (as of the dump's time).
# Environment: as backup.sh (CASEDESK_ENV_FILE, or DATABASE_URL and UPLOAD_DIR).
set -euo pipefail

clean=()
if [ "${1:-}" = --clean ]; then clean=(--clean --if-exists); shift; fi
[ $# -eq 1 ] || { echo "usage: restore.sh [--clean] BACKUP_DIR" >&2; exit 2; }
backup=$(realpath "$1")
env_file=${CASEDESK_ENV_FILE:-/etc/casedesk/casedesk.env}
if [ -z "${DATABASE_URL:-}" ] && [ -r "$env_file" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    export "${line%%=*}=${line#*=}"
  done < "$env_file"
fi
[ -n "${DATABASE_URL:-}" ] || { echo "restore.sh: DATABASE_URL is not set" >&2; exit 2; }
url=$(sed -E 's#^postgres(ql)?(\+[a-z0-9]+)?://#postgresql://#' <<<"$DATABASE_URL")
uploads=${UPLOAD_DIR:-${CASEDESK_INSTANCE:-/srv/casedesk/instance}/uploads}

[ -f "$backup/casedesk.dump" ] || { echo "restore.sh: no casedesk.dump in $backup" >&2; exit 2; }
echo "== checking $backup/SHA256SUMS"
(cd "$backup" && sha256sum --check --quiet SHA256SUMS)

echo "== database <- $backup/casedesk.dump"
pg_restore "${clean[@]}" --no-owner --no-privileges --single-transaction --exit-on-error \
  --dbname "$url" "$backup/casedesk.dump"

if [ -f "$backup/uploads.tar.gz" ]; then
  if [ -e "$uploads" ]; then
    aside="$uploads.before-$(date -u +%Y%m%dT%H%M%SZ)"
    echo "== the evidence directory there is moved to $aside"
    mv "$uploads" "$aside"
  fi
  echo "== evidence directory $uploads <- $backup/uploads.tar.gz"
  mkdir -p "$uploads"
  tar --extract --gzip --file "$backup/uploads.tar.gz" --directory "$uploads"
fi
echo "== restored; if the code is newer than the dump: flask --app wsgi db upgrade (deploy/release.sh --migrate)"

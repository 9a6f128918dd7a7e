#!/usr/bin/env bash
# Back up the database (pg_dump, custom format) and, with STORAGE_BACKEND=local, the evidence
# directory (tar), into DEST/<UTC stamp>/ with a SHA-256 list. Restore: deploy/restore.sh.
#
#   deploy/backup.sh /var/backups/casedesk
#
# Evidence in the database (STORAGE_BACKEND=database, production's default) is in the dump.
# In S3 (STORAGE_BACKEND=s3) it is not copied here: turn on the bucket's versioning (a deleted or
# overwritten object stays restorable) and its replication to a second bucket or site, with a
# lifecycle rule that keeps old versions at least as long as these dumps.
# The dump comes first and the files after: a file stored between the two is only an orphan
# (the daily purge removes it), never a case that points at a missing file.
#
# Environment: CASEDESK_ENV_FILE (/etc/casedesk/casedesk.env), or DATABASE_URL, STORAGE_BACKEND
# and UPLOAD_DIR set already; KEEP_DAYS (30): older backups in DEST are removed.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: backup.sh DEST_DIR" >&2; exit 2; }
dest=$1
env_file=${CASEDESK_ENV_FILE:-/etc/casedesk/casedesk.env}
if [ -z "${DATABASE_URL:-}" ] && [ -r "$env_file" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    export "${line%%=*}=${line#*=}"
  done < "$env_file"
fi
[ -n "${DATABASE_URL:-}" ] || { echo "backup.sh: DATABASE_URL is not set" >&2; exit 2; }
# libpq wants postgresql://; SQLAlchemy's driver suffix is not part of it.
url=$(sed -E 's#^postgres(ql)?(\+[a-z0-9]+)?://#postgresql://#' <<<"$DATABASE_URL")
backend=${STORAGE_BACKEND:-local}
[ -n "${CASEDESK_ENV:-}" ] && [ "$CASEDESK_ENV" = production ] && [ -z "${STORAGE_BACKEND:-}" ] && backend=database
uploads=${UPLOAD_DIR:-${CASEDESK_INSTANCE:-/srv/casedesk/instance}/uploads}

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$dest/$stamp"
mkdir -p "$out"
chmod 700 "$out"

echo "== database -> $out/casedesk.dump"
pg_dump --format=custom --compress=6 --no-owner --no-privileges --file "$out/casedesk.dump" "$url"

case "$backend" in
  local)
    if [ -d "$uploads" ]; then
      echo "== evidence directory $uploads -> $out/uploads.tar.gz"
      tar --create --gzip --file "$out/uploads.tar.gz" --directory "$uploads" .
    else
      echo "== no evidence directory at $uploads (nothing stored yet)"
    fi
    ;;
  database) echo "== evidence is in the database: in the dump" ;;
  s3) echo "== evidence is in S3 (${STORAGE_S3_BUCKET:-the bucket}): kept by the bucket's versioning and replication, not here" ;;
  *) echo "backup.sh: unknown STORAGE_BACKEND $backend" >&2; exit 2 ;;
esac
echo "$backend" > "$out/storage_backend"

(cd "$out" && sha256sum -- * > SHA256SUMS)
echo "== $out: $(du -sh "$out" | cut -f1)"

if [ -n "${KEEP_DAYS:-30}" ] && [ "${KEEP_DAYS:-30}" -gt 0 ]; then
  find "$dest" -mindepth 1 -maxdepth 1 -type d -name '20*Z' -mtime +"${KEEP_DAYS:-30}" -exec rm -rf {} +
fi

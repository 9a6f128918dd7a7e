#!/usr/bin/env bash
# Translations: `scripts/i18n.sh update` re-extracts the messages and merges them into the
# catalogs; `scripts/i18n.sh compile` (run by the run and test commands) builds the .mo files.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-.venv/bin/pybabel}
case "${1:-compile}" in
  update)
    "$PYBABEL" extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-output \
      --project "credit-case-desk" -o app/translations/messages.pot .
    "$PYBABEL" update --no-fuzzy-matching -i app/translations/messages.pot -d app/translations -l zh_Hans_CN
    ;;
  compile)
    "$PYBABEL" compile --use-fuzzy -d app/translations 2>&1 | grep -v "^compiling" || true
    ;;
  *) echo "usage: $0 [update|compile]" >&2; exit 2 ;;
esac

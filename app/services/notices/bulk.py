"""The outbox by the set: the rows ``outbox.enqueue`` writes one notice at a time, written for
any number of notices by a few statements.

The caller gives its notices as SQL, a relation of ``(key, payload, user_id, department_id)``
(one inbox notice per row, to a user or to a department). The fan-out is ``enqueue``'s, row for
row and key for key: the inbox row; an e-mail row (``<key>:email``) when SMTP is configured and
the recipient has an address (the account's, or the department's contact address); a webhook
row (``<key>:webhook:<subscription>``, the payload with ``_subscription``) per active subscription
of a recipient department, or of every department, that takes the template. As with
``enqueue``, the e-mail and webhook rows follow only an inbox row that is new: every row goes
in with ``ON CONFLICT (key) DO NOTHING``, so a second run, or a second host, writes nothing.

PostgreSQL: common table expressions to append to the caller's data-modifying ``WITH``
(``postgres_ctes``), so the whole fan-out is part of one statement. SQLite, which has no
data-modifying CTEs but serialises writers: an ``INSERT ... SELECT`` for the inbox, then one for
the e-mails and one for the webhooks, which read back the inbox rows this transaction just wrote
(those with a higher id than the table's last before the insert: no other writer runs meanwhile).
"""
from __future__ import annotations

from sqlalchemy import bindparam, text

from app.extensions import db
from app.models.base import UTCDateTime
from app.models.enums import Channel, NotificationStatus
from app.services.notices.outbox import smtp_configured

COLUMNS = (
    "key, channel, template, payload, status, attempts, next_attempt_at, created_at, "
    "recipient_user_id, recipient_department_id"
)
# Bound by every statement here: the instant of the run and when the notices are due to go.
FRESH = "notification AS fresh"  # SQLite: the inbox rows just written, read back
TIMES = (bindparam("now", type_=UTCDateTime()), bindparam("next_attempt", type_=UTCDateTime()))


def _row(key: str, channel: str, template: str, payload: str, source: str) -> str:
    return (
        f"SELECT {key}, '{channel}', '{template}', {payload}, '{NotificationStatus.PENDING}', 0, "
        f":next_attempt, :now, {source}.recipient_user_id, {source}.recipient_department_id"
    )


def _email_from(template: str, alias: str, source: str, where: str) -> str:
    key = f"{alias}.key || '\\:email'"  # escaped: not a bound parameter
    return (
        f"{_row(key, Channel.EMAIL, template, alias + '.payload', alias)} "
        f"FROM {source} LEFT JOIN user_account AS u ON u.id = {alias}.recipient_user_id "
        f"LEFT JOIN department AS d ON d.id = {alias}.recipient_department_id "
        f"WHERE {where} COALESCE(u.email, d.contact_email, '') <> ''"
    )


def _hooks_from(template: str, alias: str, source: str, payload: str, events: str, where: str) -> str:
    key = f"{alias}.key || ':webhook:' || w.id"
    return (
        f"{_row(key, Channel.WEBHOOK, template, payload, alias)} "
        f"FROM {source} JOIN webhook_subscription AS w ON w.is_active "
        f"AND (w.department_id = {alias}.recipient_department_id OR w.department_id IS NULL) "
        f"WHERE {where} {alias}.recipient_department_id IS NOT NULL AND {events}"
    )


def postgres_ctes(template: str, notices: str, *, departments: bool = True) -> str:
    """``, inbox AS (...), ...``: the CTEs that write the notices of the relation named ``notices``.

    To append to a ``WITH`` whose main query may count the new inbox rows (``inbox``). Binds
    ``:now`` and ``:next_attempt`` (``TIMES``). ``departments=False``: no recipient is a
    department, so no webhook can follow (one join less).
    """
    ctes = (
        f", inbox AS (INSERT INTO notification ({COLUMNS}) "
        f"SELECT n.key, '{Channel.INBOX}', '{template}', n.payload, '{NotificationStatus.PENDING}', 0, "
        f":next_attempt, :now, n.user_id, n.department_id FROM {notices} AS n "
        f"ON CONFLICT (key) DO NOTHING "
        f"RETURNING key, payload, recipient_user_id, recipient_department_id)"
    )
    if smtp_configured():
        ctes += f", email AS (INSERT INTO notification ({COLUMNS}) {_email_from(template, 'inbox', 'inbox', '')} " \
                "ON CONFLICT (key) DO NOTHING)"
    if departments:
        payload = "(inbox.payload::jsonb || jsonb_build_object('_subscription', w.id))::json"
        events = f"w.events::jsonb ?| array['*', '{template}']"
        ctes += f", hooks AS (INSERT INTO notification ({COLUMNS}) " \
                f"{_hooks_from(template, 'inbox', 'inbox', payload, events, '')} ON CONFLICT (key) DO NOTHING)"
    return ctes


def sqlite_enqueue(template: str, notices: str, params: dict, *, departments: bool = True) -> int:
    """Write the notices of the SELECT ``notices`` (SQLite); the number of new inbox rows.

    ``params`` binds ``notices``' own parameters and ``now`` and ``next_attempt``.
    """
    before = db.session.scalar(text("SELECT COALESCE(max(id), 0) FROM notification"))
    written = db.session.execute(
        text(
            f"INSERT INTO notification ({COLUMNS}) "
            f"SELECT n.key, '{Channel.INBOX}', '{template}', n.payload, '{NotificationStatus.PENDING}', 0, "
            f":next_attempt, :now, n.user_id, n.department_id FROM ({notices}) AS n WHERE true "
            "ON CONFLICT (key) DO NOTHING"
        ).bindparams(*TIMES),
        params,
    ).rowcount
    if not written:
        return 0
    new = f"fresh.id > :before AND fresh.channel = '{Channel.INBOX}' AND fresh.template = '{template}' AND"
    fan_out = {**params, "before": before}
    if smtp_configured():
        db.session.execute(
            text(f"INSERT INTO notification ({COLUMNS}) {_email_from(template, 'fresh', FRESH, new)} "
                 "ON CONFLICT (key) DO NOTHING").bindparams(*TIMES),
            fan_out,
        )
    if departments:
        payload = "json_set(fresh.payload, '$._subscription', w.id)"
        events = f"EXISTS (SELECT 1 FROM json_each(w.events) AS e WHERE e.value IN ('*', '{template}'))"
        db.session.execute(
            text(f"INSERT INTO notification ({COLUMNS}) {_hooks_from(template, 'fresh', FRESH, payload, events, new)} "
                 "ON CONFLICT (key) DO NOTHING").bindparams(*TIMES),
            fan_out,
        )
    return written

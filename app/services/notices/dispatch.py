"""Deliver the outbox: in-app inbox, e-mail over SMTP, signed webhooks; retries with back-off.

Each dispatcher run has a token of its own. It claims due notices in a short transaction
(``SKIP LOCKED`` on PostgreSQL), writing its token and a lapse (``NOTIFY_CLAIM_SECONDS``) on
them, and extends the lapse while it works (a heartbeat, every third of it): a claimed notice is
invisible to other dispatchers for as long as its holder lives, however slow its receiver; a
claim whose holder died lapses and may be taken. Just before a message goes out the run
re-asserts its claim and counts the attempt in a short committed transaction, and skips the
notices it no longer holds; it writes an outcome only where it still holds the claim.

No transaction is open while a message travels: the run prepares it (the send-time fields of
``SEND_TIME_FIELDS`` committed), then hands it to a sending thread and records the outcome
afterwards. In-app notices are delivered by being marked, in one transaction after the claim.
E-mail and webhooks travel in threads of their own, one lane per host (the SMTP server, each
webhook host), so a host that hangs delays only its own notices; a lane stops after
``NOTIFY_RUN_BUDGET_SECONDS`` and leaves the rest to the next run. A host that failed
``NOTIFY_BREAKER_FAILURES`` times in a row is skipped for ``NOTIFY_BREAKER_SECONDS`` (its
notices wait, and no attempt is counted).

Notices of a digested template for one recipient go out as one message. A failed delivery is
retried after 1, 2, 4 ... minutes; after the last attempt the notice is dead, where admins see
it and can retry it. The one window for a double delivery is a dispatcher that dies after the
receiver accepted a message and before the outcome was recorded: every message carries the
notice's key (``X-Casedesk-Key``) and a ``Message-ID`` derived from it, the same on a resend, so
receivers can drop the repeat.
"""
from __future__ import annotations

import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import monotonic
from urllib.parse import urlsplit

from flask import Flask, current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from app import clock
from app.extensions import db
from app.models import Notification, WebhookSubscription
from app.models.enums import Channel, NotificationStatus
from app.services.notices.breakers import BREAKERS
from app.services.notices.delivery import DeliveryFailed, compose
from app.services.notices.messages import DIGESTED, SECRET_FIELDS
from app.services.transaction import use_case


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    messages: int = 0
    # left for a later run without an attempt: their host's circuit is open, or the run's time
    # for their channel was up
    postponed: int = 0


@dataclass
class _Prepared:
    """A message ready to leave: the notices it delivers (ids) and how to send it, no database object."""

    ids: list[int]
    send: Callable[[], None]


def _lapse() -> timedelta:
    return timedelta(seconds=current_app.config["NOTIFY_CLAIM_SECONDS"])


@use_case
def claim_due(limit: int, token: str | None = None) -> list[int]:
    """Take up to ``limit`` due notices for the dispatcher run ``token``; returns their ids.

    A short transaction of its own, the dispatch job's first checkpoint: the claim must be
    committed before delivery starts, so that a second dispatcher skips these notices. No
    attempt is counted here: a run that dies now leaves the notices as they were, due again
    once the claim lapses."""
    now = clock.now()
    unclaimed = or_(Notification.claimed_until.is_(None), Notification.claimed_until <= now)
    due = (
        select(Notification.id)
        .where(
            or_(Notification.status == NotificationStatus.PENDING, Notification.status == NotificationStatus.SENDING),
            Notification.next_attempt_at <= now,
            unclaimed,
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(db.session.scalars(due))
    if ids:
        # Conditional again: the rows are locked on PostgreSQL, and SQLite's transaction holds the
        # write lock, but the condition is what the claim means.
        ids = sorted(db.session.scalars(
            update(Notification)
            .where(Notification.id.in_(ids), unclaimed)
            .values(status=NotificationStatus.SENDING, claimed_by=token or uuid.uuid4().hex,
                    claimed_until=now + _lapse())
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        ))
    db.session.commit()
    return ids


@use_case
def dispatch_pending(limit: int = 500) -> DispatchResult:
    """Deliver what is due now. Safe to run on several hosts at once.

    A job: it commits the claim, the in-app notices, then around each message the re-asserted
    claim before it leaves and the outcome after (its batch checkpoints); the heartbeat commits
    in between. The main thread does all the database work; the sending threads none."""
    config = current_app.config
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    token = uuid.uuid4().hex
    result = DispatchResult()
    ids = claim_due(limit, token)
    result.claimed = len(ids)
    if not ids:
        return result
    lanes = _plan(token, ids, result)
    if not lanes:
        return result
    started = monotonic()
    budget = float(config["NOTIFY_RUN_BUDGET_SECONDS"])
    beat = max(float(config["NOTIFY_CLAIM_SECONDS"]) / 3, 0.05)
    pools = {
        Channel.EMAIL: ThreadPoolExecutor(1, thread_name_prefix="dispatch-email"),
        Channel.WEBHOOK: ThreadPoolExecutor(max(1, int(config["NOTIFY_WEBHOOK_CONCURRENCY"])),
                                            thread_name_prefix="dispatch-webhook"),
    }
    in_flight: dict[Future, tuple[str, _Prepared]] = {}

    def feed(lane: str) -> None:
        """Start the lane's next message, or put the rest of the lane back in line."""
        queue = lanes[lane]
        while queue:
            if monotonic() - started > budget:
                rest = [i for group in queue for i in group]
                queue.clear()
                current_app.logger.warning("dispatch: %s: the run's %ss are up; %d notice(s) left for the next run",
                                           lane, int(budget), len(rest))
                _postpone(token, rest, None, None, result)
                return
            until = BREAKERS.open_until(lane, clock.now())
            if until is not None:
                rest = [i for group in queue for i in group]
                queue.clear()
                _postpone(token, rest, until, f"{lane}: skipped until {until.isoformat(timespec='seconds')} "
                                              "after repeated failures", result)
                return
            result.messages += 1
            prepared = _prepare(token, queue.popleft(), result)
            if prepared is not None:
                in_flight[pools[_channel_of(lane)].submit(_in_context, app, prepared.send)] = (lane, prepared)
                return

    try:
        for lane in list(lanes):
            feed(lane)
        renew_at = monotonic() + beat
        while in_flight:
            done, _waiting = wait(list(in_flight), timeout=max(0.0, renew_at - monotonic()),
                                  return_when=FIRST_COMPLETED)
            if monotonic() >= renew_at:
                try:
                    _renew(token)
                except OperationalError as error:  # the next beat tries again; the pre-send check stays
                    db.session.rollback()
                    current_app.logger.warning("dispatch: the claim could not be renewed: %s", error)
                renew_at = monotonic() + beat
            for future in done:
                lane, prepared = in_flight.pop(future)
                error = future.exception()
                if error is not None and not isinstance(error, DeliveryFailed):
                    error = DeliveryFailed(f"{type(error).__name__}: {error}")
                _record(token, prepared, error, result)
                _count_for_breaker(lane, error)
                feed(lane)
    except Exception:
        # The run fails (the database, most likely): what already travels still gets its outcome
        # where it can, rather than being sent again once its claim lapses.
        db.session.rollback()
        for future, (_lane, prepared) in in_flight.items():
            try:
                _record(token, prepared, future.exception(), result)
            except Exception:
                db.session.rollback()
                current_app.logger.exception("dispatch: the outcome of notice(s) %s was not recorded", prepared.ids)
        raise
    finally:
        # Nothing is left queued here; a message whose outcome could not be recorded stays
        # claimed until its claim lapses, and is then tried again.
        for pool in pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
    return result


def _in_context(app: Flask, send: Callable[[], None]) -> None:
    """A sending thread: the application's settings and texts, never its database session."""
    with app.app_context():
        send()


def _channel_of(lane: str) -> str:
    return lane.split(" ", 1)[0]


def _count_for_breaker(lane: str, error: Exception | None) -> None:
    if error is None:
        BREAKERS.succeeded(lane)
        return
    if not getattr(error, "host_failed", False):
        return
    config = current_app.config
    until = BREAKERS.failed(lane, clock.now(), int(config["NOTIFY_BREAKER_FAILURES"]),
                            timedelta(seconds=config["NOTIFY_BREAKER_SECONDS"]))
    if until is not None:
        current_app.logger.warning("dispatch: %s failed %d times in a row; its notices wait until %s (last: %s)",
                                   lane, config["NOTIFY_BREAKER_FAILURES"], until.isoformat(timespec="seconds"),
                                   str(error)[:200])


def _plan(token: str, ids: list[int], result: DispatchResult) -> dict[str, deque[list[int]]]:
    """Step after the claim, committed: the in-app notices are delivered (by being marked); the
    messages of the others are grouped into lanes, one per host they travel to."""
    config = current_app.config
    now = clock.now()
    notices = db.session.scalars(
        select(Notification).where(Notification.id.in_(ids), Notification.claimed_by == token)
        .order_by(Notification.id)
    ).all()
    lanes: dict[str, deque[list[int]]] = defaultdict(deque)
    others = []
    for notice in notices:
        if notice.channel == Channel.INBOX:  # the row is the inbox entry: delivered once it is marked sent
            notice.attempts += 1
            _sent(notice, now, result)
            result.messages += 1
        else:
            others.append(notice)
    smtp = f"{Channel.EMAIL} {config.get('SMTP_HOST') or '-'}:{config.get('SMTP_PORT')}"
    subscriptions = {
        s.id: s.url for s in db.session.execute(
            select(WebhookSubscription.id, WebhookSubscription.url).where(WebhookSubscription.id.in_(
                {n.payload.get("_subscription") for n in others if n.channel == Channel.WEBHOOK} - {None})))
    }
    for group in _groups(others):
        first = group[0]
        if first.channel == Channel.WEBHOOK:
            lane = f"{Channel.WEBHOOK} {_host_of(subscriptions.get(first.payload.get('_subscription')))}"
        else:
            lane = smtp
        lanes[lane].append([n.id for n in group])
    db.session.commit()
    return dict(lanes)


def _host_of(url: str | None) -> str:
    """Where a webhook goes, as its circuit breaker knows it: host and port."""
    try:
        parts = urlsplit(url or "")
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        return "-"
    return f"{(parts.hostname or '-').lower()}:{port}"


def _prepare(token: str, ids: list[int], result: DispatchResult) -> _Prepared | None:
    """Step just before a message leaves, committed: re-assert the claim on its notices (those no
    longer held are skipped), count the attempt, make the message (and its send-time fields).
    None when nothing is to be sent: no notice still held, nothing left to say (done), or a
    message that could not be made (its failure recorded)."""
    now = clock.now()
    group = _reassert(token, ids, now)
    if not group:
        db.session.commit()
        return None
    try:
        send = compose(group)
    except DeliveryFailed as error:
        failure = str(error)
    except SQLAlchemyError:
        raise
    except Exception as error:  # a fault in a text or a maker: this message is retried, the run goes on
        current_app.logger.exception("dispatch: the message of notice(s) %s could not be made", ids)
        db.session.rollback()
        group = _reassert(token, ids, now)
        failure = f"{type(error).__name__}: {error}"
    else:
        if send is not None:
            held = [n.id for n in group]  # read before the commit: reading after it would open a transaction
            db.session.commit()  # the claim, the attempt and what was made for the message, before it leaves
            return _Prepared(held, send)
        for notice in group:  # nothing left to say: done without a message
            _sent(notice, now, result)
        db.session.commit()
        return None
    for notice in group:
        _failed(notice, failure, result)
    db.session.commit()
    return None


def _reassert(token: str, ids: list[int], now: datetime) -> list[Notification]:
    """Step: those of the notices ``ids`` this run still holds, their claim extended and their
    attempt counted (no commit)."""
    held = sorted(db.session.scalars(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.claimed_by == token, Notification.claimed_until > now)
        .values(attempts=Notification.attempts + 1, claimed_until=now + _lapse())
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    ))
    if len(held) < len(ids):
        current_app.logger.warning("dispatch: notice(s) %s no longer held by this run: not sent",
                                   sorted(set(ids) - set(held)))
    if not held:
        return []
    return list(db.session.scalars(
        select(Notification).where(Notification.id.in_(held)).order_by(Notification.id)
        .execution_options(populate_existing=True)
    ))


def _record(token: str, prepared: _Prepared, error: Exception | None, result: DispatchResult) -> None:
    """Step after a message travelled, committed: its outcome, on the notices this run still holds."""
    now = clock.now()
    notices = db.session.scalars(
        select(Notification).where(Notification.id.in_(prepared.ids), Notification.claimed_by == token)
        .order_by(Notification.id).with_for_update().execution_options(populate_existing=True)
    ).all()
    if len(notices) < len(prepared.ids):
        current_app.logger.warning("dispatch: notice(s) %s were taken by another run while their message travelled",
                                   sorted(set(prepared.ids) - {n.id for n in notices}))
    for notice in notices:
        if error is None:
            _sent(notice, now, result)
        else:
            _failed(notice, str(error), result)
    db.session.commit()


def _renew(token: str) -> None:
    """The heartbeat, committed: extend the claims this run still holds (never one that lapsed)."""
    now = clock.now()
    db.session.execute(
        update(Notification)
        .where(Notification.claimed_by == token, Notification.claimed_until > now)
        .values(claimed_until=now + _lapse())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _postpone(token: str, ids: list[int], until: datetime | None, reason: str | None,
              result: DispatchResult) -> None:
    """Put claimed notices back in line untried (no attempt counted), at ``until`` or now, committed."""
    values: dict = {"status": NotificationStatus.PENDING, "claimed_by": None, "claimed_until": None}
    if until is not None:
        values["next_attempt_at"] = until
    if reason is not None:
        values["last_error"] = reason[:2000]
    for start in range(0, len(ids), 500):
        result.postponed += db.session.execute(
            update(Notification)
            .where(Notification.id.in_(ids[start:start + 500]), Notification.claimed_by == token)
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
    db.session.commit()


def _groups(notices: list[Notification]) -> list[list[Notification]]:
    """Digested e-mail notices go out together per recipient and template; the rest alone."""
    groups: dict[tuple, list[Notification]] = defaultdict(list)
    alone = []
    for notice in notices:
        if notice.channel == Channel.EMAIL and notice.template in DIGESTED:
            key = (notice.recipient_user_id, notice.recipient_department_id, notice.template)
            groups[key].append(notice)
        else:
            alone.append([notice])
    return list(groups.values()) + alone


def _sent(notice: Notification, now: datetime, result: DispatchResult) -> None:
    notice.status, notice.sent_at, notice.last_error = NotificationStatus.SENT, now, None
    notice.claimed_by = notice.claimed_until = None
    _forget_secrets(notice)
    result.sent += 1


def _forget_secrets(notice: Notification) -> None:
    """A sent message's single-use link leaves the outbox: whoever reads the table later cannot use it."""
    secret = SECRET_FIELDS.get(notice.template, ())
    if any(field in notice.payload for field in secret):
        notice.payload = {k: ("(sent)" if k in secret else v) for k, v in notice.payload.items()}


def _failed(notice: Notification, error: str, result: DispatchResult) -> None:
    config = current_app.config
    notice.last_error = error[:2000]
    notice.claimed_by = notice.claimed_until = None
    if notice.attempts >= config["NOTIFY_MAX_ATTEMPTS"]:
        notice.status = NotificationStatus.DEAD
        result.dead += 1
        current_app.logger.warning("notice %s is dead after %d attempts: %s", notice.id, notice.attempts, error[:200])
        return
    delay = min(config["NOTIFY_BACKOFF_SECONDS"] * 2 ** (max(notice.attempts, 1) - 1),
                config["NOTIFY_BACKOFF_MAX_SECONDS"])
    notice.status = NotificationStatus.PENDING
    notice.next_attempt_at = clock.now() + timedelta(seconds=delay)
    result.retrying += 1



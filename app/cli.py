"""Operator commands: ``flask --app wsgi <command>``."""
from __future__ import annotations

from contextlib import nullcontext
from datetime import date, datetime
from pathlib import Path

import click
from flask import Flask

from app import clock
from app.errors import DomainError, NotFound
from app.jobs import run_scheduler
from app.models.enums import Role
from app.services import calendar
from app.services.accounts import (
    create_key,
    find_department_by_code,
    get_user_by_username,
    reset_two_factor,
    revoke_key,
)
from app.services.admin import (
    DEMO_ACCOUNTS,
    expire_job,
    has_data,
    job_health,
    job_lock,
    latest_recompute,
    recompute,
    rehearse,
    run_job,
    run_recompute,
    scheduler_alive,
    scheduler_last_seen,
    seed_demo,
    sla_job,
)
from app.services.cases import queue_count_drift, recount_queues
from app.services.forecast import MAX_HORIZON, forecast, forecast_csv
from app.services.notices import dispatch_pending, retry_notices
from app.services.records import import_records, list_due_records
from app.services.uploads import copy_local_files


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


def register_cli(app: Flask) -> None:
    register_job_cli(app)

    @app.cli.group("storage")
    def storage_group() -> None:
        """Stored files: evidence, identity documents, queued imports (docs/storage.md)."""

    @storage_group.command("copy-local")
    def storage_copy_local() -> None:
        """Copy the files of UPLOAD_DIR into STORAGE_BACKEND (database or s3), before every host uses it."""
        try:
            copied, present = copy_local_files()
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"storage: {copied} file(s) copied to {app.config['STORAGE_BACKEND']}, {present} already there")

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when data is already there.")
    def seed_demo_command(if_empty: bool) -> None:
        """Load the demo data set: departments, subjects, 1,000 records, cases, one account per role."""
        if has_data():
            if if_empty:
                click.echo("demo data: database already holds data, nothing loaded")
                return
            raise click.ClickException("the database already holds data; demo data goes into an empty one")
        counts = seed_demo()
        click.echo("demo data loaded: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
        click.echo("demo accounts (user name / password):")
        for account in DEMO_ACCOUNTS:
            click.echo(f"  {account.role:<11} {account.username:<11} {account.password}")

    @app.cli.group("calendar")
    def calendar_group() -> None:
        """Working days and calendar periods, as the platform computes them."""

    @calendar_group.command("add-working-days")
    @click.argument("start")
    @click.argument("n", type=click.IntRange(min=0, max=3650))
    def add_working_days_command(start: str, n: int) -> None:
        """Print the day on which N working days after START end (START itself not counted)."""
        working = calendar.get_working_calendar()
        try:
            click.echo(working.add_working_days(_day(start), n).isoformat())
        except ValueError as error:
            raise click.ClickException(str(error)) from None

    @calendar_group.command("period")
    @click.argument("start")
    @click.argument("length")
    def period_command(start: str, length: str) -> None:
        """Print the last day of a period such as 1m, 3m, 1y or 20d starting after START (Civil Code)."""
        try:
            click.echo(calendar.end_of_period(_day(start), length).isoformat())
        except calendar.InvalidPeriod as error:
            raise click.BadParameter(str(error)) from None

    @calendar_group.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--by", "username", help="The admin this import is audited as (without it, as the system).")
    def import_command(path: Path, username: str | None) -> None:
        """Load calendar overrides from a CSV file of date,kind[,note] lines (kind: holiday or workday),
        with the rules of the admin console's import: all lines, or none."""
        actor = None
        if username is not None:
            actor = get_user_by_username(username)
            if actor is None or not actor.is_active or actor.role != Role.ADMIN:
                raise click.ClickException(f"no active admin with the user name {username!r}")
        with path.open("rb") as file:
            data = file.read(calendar.MAX_SCHEDULE_BYTES + 1)  # more is refused: no schedule is that long
        try:
            report = calendar.import_schedule(actor, data)
        except DomainError as error:
            raise click.ClickException(f"{path}: {error}") from None
        if report.errors:
            for error in report.errors:
                click.echo(error, err=True)
            raise click.ClickException(f"nothing imported: {len(report.errors)} bad line(s)")
        for label, days in (("added", report.added), ("changed", report.changed)):
            for day in days:
                click.echo(f"{label} {day.isoformat()}")
        click.echo(f"{len(report.added)} added, {len(report.changed)} changed, {len(report.unchanged)} unchanged")

    @calendar_group.command("show")
    @click.argument("year", type=click.IntRange(1990, 2100))
    def show_command(year: int) -> None:
        """List the days of YEAR that are not ordinary (holidays, make-up working days, overrides)."""
        working = calendar.get_working_calendar()
        day = date(year, 1, 1)
        while day.year == year:
            info = working.describe(day)
            ordinary = info.source in ("weekday", "weekend") or info.source.startswith("weekends-only")
            if not ordinary:
                click.echo(f"{day.isoformat()} {'workday' if info.working else 'holiday'} {info.source} {info.name or ''}".rstrip())
            day = date.fromordinal(day.toordinal() + 1)
        if year in working.uncovered:
            click.echo(f"warning: no holiday schedule for {year}: weekends only until overrides are added")


def _report_drift(drift: dict, verb: str) -> None:
    for (kind, state, assignee), (kept, counted) in sorted(drift.items(), key=str):
        click.echo(f"{kind}\t{state}\t{assignee or '-'}\t{verb} {kept}, counted {counted}")
    click.echo(f"{len(drift)} queue count(s) off" if drift else "queue counts agree with the cases")


def _instant(value: str | None):
    """An ISO-8601 instant; without a zone it is read as platform time (Asia/Shanghai)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 date or time, e.g. 2026-12-01T09:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=clock.PLATFORM_TZ)


def _as_of(at):
    return clock.frozen_clock(at) if at is not None else nullcontext()


def _in_future(at) -> bool:
    return at is not None and at > clock.now()


def _refuse_future_writes(at, would: str) -> None:
    """A sweep as of a later instant commits real changes (records retired, deadlines marked
    breached, notices sent) before their time: only on purpose (``--commit``). Refused, it says
    what it would have done, and exits 2."""
    click.echo(f"as of {at.isoformat()}: {would}; nothing written")
    raise click.UsageError(
        f"{at.isoformat()} is later than now: a sweep as of it would commit real changes ahead of their time. "
        "Use --dry-run to rehearse, or --commit to write them (a copy of the database).")


def _commit_option(command):
    command = click.option("--allow-future", "commit", is_flag=True, hidden=True)(command)  # its former name
    return click.option("--commit", "commit", is_flag=True,
                        help="With --now later than the real time: commit what it does (a rehearsal database).")(command)


def register_job_cli(app: Flask) -> None:
    @app.cli.group("sweep")
    def sweep_group() -> None:
        """Run the scheduled sweeps by hand (each is safe to run twice or on two hosts)."""

    @sweep_group.command("expire")
    @click.option("--now", "at", help="Run as of this instant (ISO-8601), e.g. to catch up or rehearse.")
    @click.option("--dry-run", is_flag=True, help="List what would retire and change nothing.")
    @click.option("--batch-size", type=click.IntRange(1, 100_000), default=10_000, show_default=True)
    @_commit_option
    def expire_command(at: str | None, dry_run: bool, batch_size: int, commit: bool) -> None:
        """Retire every record whose publicity has ended; the last line says how many."""
        instant = _instant(at)
        refused = _in_future(instant) and not commit
        with _as_of(instant):
            if dry_run or refused:
                due = list_due_records()
                if not dry_run:
                    _refuse_future_writes(instant, f"would retire {len(due)} record(s)")
                for record in due:
                    click.echo(f"{record.id}\t{record.department.code}\t{record.decision_number}\t{record.publicity_end}")
                click.echo(f"would retire {len(due)}")
                click.echo("retired 0")
                return
            result = expire_job(batch_size=batch_size)
        click.echo(f"{result.batches} batch(es), {result.departments_told} department digest(s), "
                   f"{result.cases_closed} case(s) closed")
        click.echo(f"retired {result.retired}")

    @sweep_group.command("sla")
    @click.option("--now", "at", help="Run as of this instant (ISO-8601).")
    @click.option("--dry-run", is_flag=True, help="Say what it would mark and send, and change nothing.")
    @_commit_option
    def sla_command(at: str | None, dry_run: bool, commit: bool) -> None:
        """Mark deadlines due soon and breached, escalate, lapse; write the notices."""
        instant = _instant(at)
        refused = _in_future(instant) and not commit
        with _as_of(instant):
            if dry_run or refused:
                would = rehearse(sla_job)
                summary = (f"would mark due soon {would.due_soon}, breached {would.breached}, "
                           f"escalations {would.escalations}, automatic transitions {would.auto_transitions}")
                if not dry_run:
                    _refuse_future_writes(instant, summary)
                click.echo(summary)
                return
            result = sla_job()
        click.echo(f"due soon {result.due_soon}, breached {result.breached}, "
                   f"escalations {result.escalations}, automatic transitions {result.auto_transitions}")

    @app.cli.group("outbox")
    def outbox_group() -> None:
        """The notification outbox."""

    @outbox_group.command("dispatch")
    @click.option("--limit", type=click.IntRange(1, 100_000), default=500, show_default=True)
    def dispatch_command(limit: int) -> None:
        """Deliver the notices that are due (inbox, e-mail, webhooks), under the dispatch job's lock:
        never beside the scheduler's run (each notice's claim is its own, besides)."""
        with job_lock("dispatch") as acquired:
            if not acquired:
                click.echo("dispatch: skipped, another process runs it")
                return
            result = dispatch_pending(limit)
        click.echo(f"claimed {result.claimed}, sent {result.sent} in {result.messages} message(s), "
                   f"retrying {result.retrying}, dead {result.dead}, postponed {result.postponed}")

    @outbox_group.command("retry")
    @click.argument("ids", nargs=-1, type=int, required=True)
    def retry_command(ids: tuple[int, ...]) -> None:
        """Put dead notices back in line now, with a fresh set of attempts."""
        try:
            n = retry_notices(list(ids))
        except NotFound:
            raise click.ClickException("no such notice waiting or dead") from None
        click.echo(f"requeued {n}")

    @app.cli.group("scheduler")
    def scheduler_group() -> None:
        """The scheduled jobs: expire, sla, dispatch, purge."""

    @scheduler_group.command("run")
    def scheduler_run_command() -> None:
        """Run the scheduler in the foreground (several hosts may run one each)."""
        run_scheduler(app)

    @scheduler_group.command("run-once")
    @click.argument("job", type=click.Choice(["expire", "sla", "dispatch", "purge"]))
    def run_once_command(job: str) -> None:
        """Run one job now, under its lock, and record its heartbeat."""
        outcome = run_job(job)
        if outcome.ran:
            click.echo(f"{job}: {outcome.result}")
        else:
            until = outcome.held_until.isoformat() if outcome.held_until else "-"
            click.echo(f"{job}: skipped, {outcome.held_by or 'another process'} runs it (lease until {until})")

    @scheduler_group.command("status")
    def scheduler_status_command() -> None:
        """Each job's last run, duration, result and how far behind it is."""
        for h in job_health():
            behind = "never ran" if h.behind is None else f"behind {int(h.behind.total_seconds())}s"
            last = h.last_finished_at.isoformat() if h.last_finished_at else "-"
            click.echo(f"{h.name:<9} every {int(h.every.total_seconds())}s  last {last}  "
                       f"{h.last_duration_ms or 0}ms  runs {h.runs}  failures {h.failures}  {behind}"
                       + (f"  held by {h.locked_by} until {h.locked_until.isoformat()}" if h.running else "")
                       + (f"  skips {h.skips}, last {h.last_skipped_at.isoformat()}" if h.last_skipped_at else "")
                       + (f"  queued since {h.requested_at.isoformat()}" if h.requested_at else "")
                       + (f"  error: {h.last_error}" if h.last_error else ""))
        seen = scheduler_last_seen()
        click.echo(f"scheduler last seen {seen.isoformat() if seen else 'never'}"
                   + ("" if scheduler_alive(seen) else " (none running)"))

    @app.cli.group("policy")
    def policy_group() -> None:
        """Policy versions: the recompute of records and cases onto the version in force."""

    @policy_group.command()  # named after the function: "recompute"
    @click.argument("version", type=click.IntRange(min=1))
    @click.option("--by", "username", help="The admin this recompute is audited as (without it, as the system).")
    def recompute_command(version: int, username: str | None) -> None:
        """Move records in publicity and open cases onto VERSION (the one in force), here, in the
        foreground; a run of VERSION left unfinished (queued, or its process died) is resumed."""
        actor = None
        if username is not None:
            actor = get_user_by_username(username)
            if actor is None or not actor.is_active or actor.role != Role.ADMIN:
                raise click.ClickException(f"no active admin with the user name {username!r}")
        pending = latest_recompute()
        try:
            if pending is not None and not pending.finished and pending.version == version:
                result = run_recompute()
                if result is None:
                    raise click.ClickException("another process is running this recompute")
            else:
                result = recompute(actor, version)
        except DomainError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"version {result.version}: {result.records} records ({result.records_moved} with new dates), "
                   f"{result.cases} cases ({result.timers_moved} deadlines moved, {result.cases_kept} kept)")

    @app.cli.group("queues")
    def queues_group() -> None:
        """The officers' queue counts, kept by delta in the transactions that move cases."""

    @queues_group.command("check")
    def queues_check_command() -> None:
        """Compare the kept counts with a recount of the cases; exit 1 if any differs."""
        drift = queue_count_drift()
        _report_drift(drift, "kept")
        if drift:
            raise SystemExit(1)

    @queues_group.command("recount")
    def queues_recount_command() -> None:
        """Rebuild the counts from the cases (under a lock), and say what was wrong."""
        _report_drift(recount_queues(), "kept")

    @app.cli.command("forecast")
    @click.option("--days", type=click.IntRange(1, MAX_HORIZON), default=30, show_default=True,
                  help="Working days ahead.")
    @click.option("--department", "department_code", default=None, help="One department's slice (its code).")
    @click.option("--csv", "as_csv", is_flag=True, help="Per day and party, as CSV (the page's download).")
    def forecast_command(days: int, department_code: str | None, as_csv: bool) -> None:
        """What the expiry job and the SLA sweep will do, day by day; writes nothing."""
        department = find_department_by_code(department_code) if department_code else None
        if department_code and department is None:
            raise click.BadParameter(f"no department with the code {department_code!r}", param_hint="--department")
        ahead = forecast(days, department.id if department else None)
        if as_csv:
            click.echo("".join(forecast_csv(ahead)), nl=False)
            return
        click.echo(f"forecast {ahead.today} .. {ahead.until} ({days} working days)"
                   + (f", department {department.code}" if department else ""))
        click.echo(f"{'day':<12}{'':<4}{'retiring':>9}{'due':>7}{'at risk':>9}{'due soon':>10}")
        for day, working, figures in ahead.totals():
            click.echo(f"{day.isoformat():<12}{'' if working else 'rest':<4}{figures.retiring:>9}"
                       f"{figures.falling_due:>7}{figures.at_risk:>9}{figures.due_soon:>10}")
        whole = ahead.total()
        click.echo(f"{'total':<16}{whole.retiring:>9}{whole.falling_due:>7}{whole.at_risk:>9}{whole.due_soon:>10}")
        overdue = sum(ahead.overdue.values())
        if overdue:
            click.echo(f"already past their deadline: {overdue}")

    @app.cli.group("records")
    def records_group() -> None:
        """Credit records."""

    @records_group.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--department", "code", required=True, help="The providing department's code.")
    def import_command(path: Path, code: str) -> None:
        """Import records from CSV (UTF-8) or XLSX: the whole file, or nothing and a report."""
        department = find_department_by_code(code)
        if department is None:
            raise click.ClickException(f"no department with the code {code!r}")
        report = import_records(path, department)
        if not report.ok:
            for row, column, message in report.errors:
                click.echo(f"row {row}\t{column}\t{message}", err=True)
            more = " (the check stopped at the error limit, IMPORT_MAX_ERRORS)" if report.truncated else ""
            raise click.ClickException(f"nothing imported: {len(report.errors)} error(s) in {report.rows} row(s){more}")
        click.echo(f"imported {report.imported}" + (f", corrected {report.corrected}" if report.corrected else ""))

    @app.cli.group("users")
    def users_group() -> None:
        """User accounts."""

    @users_group.command("reset-two-factor")
    @click.argument("username")
    @click.option("--reason", required=True, help="Why (5 to 500 characters); kept in the admin audit log.")
    def reset_two_factor_command(username: str, reason: str) -> None:
        """Remove an account's authenticator and recovery codes, e.g. for the sole admin who lost
        both: it enrols again at its next sign-in. Audited as the system; its sessions end."""
        user = get_user_by_username(username)
        if user is None:
            raise click.ClickException(f"no account with the user name {username!r}")
        try:
            reset_two_factor(None, user.id, reason)
        except DomainError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"second factor of {user.username} reset: it enrols again at its next sign-in")

    @app.cli.group("apikey")
    def apikey_group() -> None:
        """Department API keys (the admin console will manage them too)."""

    @apikey_group.command("create")
    @click.option("--department", "code", required=True)
    @click.option("--name", default="key")
    def apikey_create(code: str, name: str) -> None:
        """Create a key; it is shown this once and stored hashed."""
        department = find_department_by_code(code)
        if department is None:
            raise click.ClickException(f"no department with the code {code!r}")
        key, token = create_key(department, name)
        click.echo(f"prefix {key.prefix}; the key (shown once): {token}")

    @apikey_group.command("revoke")
    @click.argument("prefix")
    def apikey_revoke(prefix: str) -> None:
        """Revoke a key by its prefix."""
        try:
            revoke_key(prefix)
        except NotFound:
            raise click.ClickException(f"no key with the prefix {prefix!r}") from None
        click.echo(f"revoked {prefix}")

"""The officer desk and the supervisor dashboard."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict
from wtforms.widgets import Select

from app import clock, csv_export
from app.errors import DomainError, InvalidInput
from app.forms.desk import BulkForm, QueueFilterForm
from app.forms.names import NameResolutionForm
from app.forms.validators import choices
from app.labels import label
from app.models.enums import Role
from app.services.binding import (
    get_name_mismatch,
    identity_check_rule,
    list_open_name_mismatches,
    resolve_name_mismatch,
)
from app.services.cases import (
    BULK_TRIGGERS,
    QueueCursor,
    QueueFilter,
    apply_to_many,
    count_open_cases,
    due_soon_horizon,
    list_open_cases,
    list_queue,
    open_queue_counts,
    queue_choices,
)
from app.services.policy import clock_rule, get_policy_in_force
from app.services.records import count_late_publications
from app.services.sla import sla_compliance, summarise
from app.web.access import roles
from app.web.charts import bar_chart
from app.web.filters import Labels
from workflows import BINDING, CASE_WORKFLOWS, RECORD, case_transitions
from workflows.diagram import shared_exits, svg

bp = Blueprint("desk", __name__, url_prefix="/desk")


@bp.route("/")
@roles(Role.OFFICER, Role.SUPERVISOR)
def home():
    return render_template("desk/home.html", cases=list_open_cases(limit=50), now=clock.now(), soon=due_soon_horizon())


@bp.route("/dashboard")
@roles(Role.SUPERVISOR)
def dashboard():
    now = clock.now()
    return render_template(
        "desk/dashboard.html",
        open_counts=count_open_cases(),
        overdue_counts=count_open_cases(overdue_before=now),
        due_soon_counts=count_open_cases(due_between=(now, due_soon_horizon())),
        late=count_late_publications(90),
    )


class QuickSelect(Select):
    """WTForms' ``<select>``, the same markup, without its machinery per option (``html_params``,
    a Markup format per attribute): the queue page draws some 150 options (the officers twice,
    the departments). Anything but plain options (attributes given, required or disabled flags,
    groups, attributes or booleans on an option) is drawn by WTForms itself."""

    def __call__(self, field, **kwargs):
        flags = field.flags
        if kwargs or self.multiple or field.has_groups() or any(getattr(flags, k, None) for k in self.validation_attrs):
            return super().__call__(field, **kwargs)
        html = [f'<select id="{escape(field.id)}" name="{escape(field.name)}">']
        for choice in field.iter_choices():
            if choice.render_kw or isinstance(choice.value, bool) or choice.value is None:
                html.append(self.render_option(choice))
            else:
                selected = "selected " if choice.selected else ""
                html.append(f'<option {selected}value="{escape(choice.value)}">{escape(choice.label or choice.value)}</option>')
        html.append("</select>")
        return Markup("".join(html))


QUICK_SELECT = QuickSelect()

_OPEN_STATES = sorted({s.name for w in CASE_WORKFLOWS.values() for s in w.states if not s.done})


def _filter_choices(form: QueueFilterForm, officers, departments, kind_names: Labels, state_names: Labels) -> None:
    everyone = [("", _("All"))]
    form.kind.choices = choices(everyone + [(k, kind_names[k]) for k in CASE_WORKFLOWS])
    form.state.choices = choices(everyone + [(s, state_names[s]) for s in _OPEN_STATES])
    form.department.choices = choices(everyone + [(str(i), name) for i, name in departments])
    form.assignee.choices = choices(everyone + [("me", _("Me")), ("none", _("Nobody yet"))] + [
        (str(i), name) for i, name in officers
    ])
    for field in (form.kind, form.state, form.department, form.assignee):
        field.widget = QUICK_SELECT


@bp.route("/queues")
@roles(Role.OFFICER, Role.SUPERVISOR)
def queues():
    """Open cases by deadline, with filters and keyset pages; counts per queue beside them."""
    return _queue_page(request.args)


def _queue_page(args: MultiDict, *, status: int = 200, bulk_errors: tuple[str, ...] = ()):
    """The queue page for the filters ``args``; a refused bulk action shows it again, its
    message above the ticked list (``bulk_errors``), with the filters the officer had."""
    officers, departments = queue_choices()
    form = QueueFilterForm(args)
    kind_names, state_names = Labels("case_kind"), Labels("case_state")  # each code's label once a page
    _filter_choices(form, officers, departments, kind_names, state_names)
    page = dict(form=form, counts=open_queue_counts(current_user.id), overdue=count_open_cases(clock.now()),
                bulk=_bulk_form(officers), bulk_errors=bulk_errors, back=urlencode(list(args.items(multi=True))), now=clock.now(),
                soon=due_soon_horizon(), kind_names=kind_names, state_names=state_names)
    if args and not form.validate():
        return render_template("desk/queues.html", cases=[], next_cursor=None, **page), 422
    try:
        after = QueueCursor.decode(form.after.data) if form.after.data else None
    except ValueError:
        abort(400)
    filters = QueueFilter(
        kind=form.kind.data or None,
        state=form.state.data or None,
        department_id=int(form.department.data) if form.department.data else None,
        assignee=form.assignee.data or None,
        overdue=form.overdue.data,
        submitted_from=form.submitted_from.data,
        submitted_to=form.submitted_to.data,
    )
    rows, next_cursor = list_queue(current_user, filters, after)
    kept = {k: v for k, v in args.items() if k != "after"}
    return render_template(
        "desk/queues.html", cases=rows, case_href=_case_href(), **page,
        next_url=url_for("desk.queues", **kept, after=next_cursor.encode()) if next_cursor else None,
        first_url=url_for("desk.queues", **kept) if after else None,
    ), status


def _case_href() -> str:
    """The address of a case page but its id: a row's link is this and the case's id (one
    ``url_for`` a page, not one a row). The route ends in the id; a route that no longer does
    fails here (and the queue's tests), not with wrong links."""
    probe = url_for("cases.show", case_id=1)
    if not probe.endswith("/1"):
        raise RuntimeError(f"the case page's address no longer ends in its id: {probe}")
    return probe[:-1]


def _bulk_form(officers: list[tuple[int, str]] | None = None) -> BulkForm:
    form = BulkForm()
    form.action.choices = choices([(a, label("trigger", a)) for a in BULK_TRIGGERS])
    form.assignee_id.choices = choices(officers if officers is not None else queue_choices()[0])
    form.action.widget = form.assignee_id.widget = QUICK_SELECT
    return form


@bp.route("/queues/bulk", methods=["POST"])
@roles(Role.OFFICER, Role.SUPERVISOR)
def bulk():
    """One action on the ticked cases; each goes through its own workflow, each may refuse."""
    form = _bulk_form()
    back = MultiDict(parse_qsl(request.form.get("back", ""), keep_blank_values=True))  # the filters of the page the action came from
    if not form.validate_on_submit():
        return _queue_page(back, status=422, bulk_errors=(_("Choose an action."),))
    try:
        versions = {int(v): int(request.form[f"v{v}"]) for v in request.form.getlist("case")}
    except (KeyError, ValueError):
        return _queue_page(back, status=422, bulk_errors=(_("The list of cases was not understood. Reload the page."),))
    if not versions:
        return _queue_page(back, status=422, bulk_errors=(_("Tick at least one case."),))
    steps = case_transitions(form.action.data)
    result = apply_to_many(
        current_user, form.action.data, versions,
        assignee_id=form.assignee_id.data if any(t.assigns for t in steps) else None,
        reason=_("Bulk action from the queue") if any(t.reason_required for t in steps) else None,
    )
    if result.done:
        flash(_("Done for %(n)d case(s): %(numbers)s", n=len(result.done), numbers=", ".join(result.done)), "success")
    for number, why in result.refused:
        flash(f"{number}: {why}", "error")
    return redirect(url_for("desk.queues", **back.to_dict()), 303)


def _compliance_views(days: int):
    rows = sla_compliance(days)
    by_workflow = [(label("case_kind", k), t, m) for k, t, m in summarise(rows, "workflow")]
    by_step = [(f"{label('case_kind', k)} · {label('clock', c)}", t, m) for (k, c), t, m in summarise(rows, "step")]
    # The platform's own steps first, then each department's (verification, opinion) by name.
    per_department = summarise(rows, "department")
    names = {r.department_id: r.department for r in rows}
    by_department = [(_("Platform"), t, m) for d, t, m in per_department if d is None] + sorted(
        (names[d], t, m) for d, t, m in per_department if d is not None
    )
    return rows, by_workflow, by_step, by_department


@bp.route("/dashboard/sla")
@roles(Role.SUPERVISOR)
def sla_charts():
    """Deadlines met over the last 30 and 90 days, per workflow, step and department."""
    periods = []
    for days in (30, 90):
        _rows, by_workflow, by_step, by_department = _compliance_views(days)
        periods.append({
            "days": days,
            "charts": [
                (_("Per workflow"), bar_chart(by_workflow, _("Per workflow"))),
                (_("Per step"), bar_chart(by_step, _("Per step"))),
                (_("Platform and departments"), bar_chart(by_department, _("Platform and departments"))),
            ],
        })
    return render_template("desk/sla.html", periods=periods)


@bp.route("/dashboard/sla.csv")
@roles(Role.SUPERVISOR)
def sla_csv():
    """The figures behind the charts, one line per workflow, step and department."""
    try:
        days = int(request.args.get("days", "30"))
    except ValueError:
        raise InvalidInput(_("The period must be a number of days.")) from None
    if not 1 <= days <= 3660:
        raise InvalidInput(_("The period must be a number of days."))
    rows = sorted(sla_compliance(days), key=lambda r: (r.workflow, r.clock, r.department or ""))
    # Charged to the platform for its own steps (no department), else to the department.
    # A department's name is typed by an admin: the escaper keeps ``=HYPERLINK(...)`` text.
    body = csv_export.text(
        [_("Workflow"), _("Step"), _("Charged to"), _("Department"), _("Deadlines"), _("Met"), _("Missed"), _("Rate")],
        ([label("case_kind", r.workflow), label("clock", r.clock), label("charged_to", r.charged_to),
          r.department or "", r.total, r.met, r.missed, f"{r.rate:.4f}"] for r in rows))
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=sla-{days}d.csv"})


def _names_page(failed: int | None = None, form: NameResolutionForm | None = None, status: int = 200):
    return render_template("desk/names.html", rows=list_open_name_mismatches(), form=form or NameResolutionForm(),
                           failed=failed), status


@bp.route("/names")
@roles(Role.OFFICER, Role.SUPERVISOR)
def names():
    """Names that disagree with the platform's, oldest first: an officer decides which stands."""
    return _names_page()


@bp.route("/names/<id:mismatch_id>/resolve", methods=["POST"])
@roles(Role.OFFICER, Role.SUPERVISOR)
def resolve_name(mismatch_id: int):
    """Keep the platform's name or take the given one, with a reason; the list again on a refusal.

    An unknown mismatch is a 404, one decided meanwhile (or a name changed meanwhile) a 409.
    """
    get_name_mismatch(mismatch_id)  # an unknown one is a 404 whatever the form says
    form = NameResolutionForm()
    if form.validate_on_submit():
        try:
            resolve_name_mismatch(current_user, mismatch_id, form.keep.data, form.reason.data,
                                  form.seen.data if form.seen.data else None)
        except DomainError as error:
            if error.status in (404, 409):
                raise
            form.form_errors.append(str(error))
        else:
            flash(_("The subject's name is decided."), "success")
            return redirect(url_for("desk.names"))
    return _names_page(mismatch_id, form, 422)


ALL_WORKFLOWS = {**CASE_WORKFLOWS, RECORD.name: RECORD, BINDING.name: BINDING}


@bp.route("/workflows")
@bp.route("/workflows/<name>")
@roles(Role.OFFICER, Role.SUPERVISOR, Role.ADMIN)
def workflows(name: str = "objection"):
    """Each workflow drawn from its definition, with its steps and the deadlines in force."""
    workflow = ALL_WORKFLOWS.get(name)
    if workflow is None:
        abort(404)
    vocabulary = {RECORD.name: "record_state", BINDING.name: "binding_state"}.get(workflow.name, "case_state")

    def name_of(kind: str, code: str) -> str:
        return label(vocabulary if kind == "state" else kind, code)

    policy = get_policy_in_force()
    clocks = [
        (clock, identity_check_rule(policy.body) if workflow is BINDING else clock_rule(policy.body, workflow.name, clock.name))
        for clock in workflow.clocks
    ]
    return render_template(
        "desk/workflows.html",
        workflows=ALL_WORKFLOWS,
        workflow=workflow,
        vocabulary=vocabulary,
        diagram=Markup(svg(workflow, label=name_of)),
        shared=shared_exits(workflow),
        clocks=clocks,
        policy=policy,
    )

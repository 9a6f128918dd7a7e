"""The policy pages: history, a draft with its preview, saving, withdrawing, recomputing (queued, with progress)."""
from __future__ import annotations

import copy
import re
from datetime import date, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app import clock
from app.errors import Conflict
from app.models import AdminAudit, Policy
from app.models.enums import Role
from app.services.admin import request_recompute, run_recompute
from app.services.binding import with_identity_check
from app.services.policy import get_policy_in_force
from app.services.policy import versions as policy_versions
from tests.factories import make_record, make_user
from tests.web.helpers import csrf_token, sign_in, text

TODAY = datetime(2026, 11, 25, 10, 0)


def _form(client, **changes):
    body = with_identity_check(get_policy_in_force().body)  # the draft shows the identity check too
    data = {"csrf_token": csrf_token(client, "/admin/policy/new"), "effective_from": "2026-12-01", "note": "试行"}
    for name, rule in body["record_classes"].items():
        data.update({f"class.{name}.shortest_publicity": rule["shortest_publicity"],
                     f"class.{name}.publicity": rule["publicity"]})
        for flag in ("published", "repairable"):
            if rule[flag]:
                data[f"class.{name}.{flag}"] = "on"
    for workflow, clocks in body["sla"].items():
        for name, spec in clocks.items():
            unit = "wd" if "wd" in spec else "cd"
            data[f"sla.{workflow}.{name}.length"] = str(spec[unit])
            data[f"sla.{workflow}.{name}.unit"] = unit
            if "extension" in spec:
                data[f"sla.{workflow}.{name}.extension"] = str(spec["extension"])
    data.update({"due_soon_wd": "1", "publication_wd": "7", "retention": "5y", **changes})
    return data


def test_preview_then_save_then_withdraw(client, db):
    admin = make_user(Role.ADMIN)
    with clock.frozen_clock(TODAY):
        make_record(decision_date=date(2026, 9, 1))
        sign_in(client, admin.username)
        assert "v1" in text(client.get("/admin/policy"))
        preview = client.post("/admin/policy/new", data=_form(client, **{"class.general.publicity": "6m",
                                                                        "action": "preview"}))
        assert preview.status_code == 200
        assert 'id="preview"' in text(preview) and db.session.scalar(select(Policy).where(Policy.version == 2)) is None
        saved = client.post("/admin/policy/new", data=_form(client, **{"class.general.publicity": "6m",
                                                                      "action": "save"}))
        assert saved.status_code == 302
        policy = db.session.scalar(select(Policy).where(Policy.version == 2))
        assert policy.effective_from == date(2026, 12, 1) and policy.created_by_id == admin.id
        assert policy.body["record_classes"]["general"]["publicity"] == "6m"
        assert get_policy_in_force().version == 1  # scheduled, not yet in force
        assert client.get("/admin/policy/2").status_code == 200
        withdrawn = client.post("/admin/policy/2/withdraw", data={"csrf_token": csrf_token(client, "/admin/policy")})
        assert withdrawn.status_code == 302
        assert client.post("/admin/policy/1/withdraw",
                           data={"csrf_token": csrf_token(client, "/admin/policy")}).status_code == 409
        for unknown in ("/admin/policy/99/recompute", "/admin/policy/99/withdraw"):
            assert client.post(unknown, data={"csrf_token": csrf_token(client, "/admin/policy")}).status_code == 404
    actions = db.session.scalars(select(AdminAudit.action).order_by(AdminAudit.id)).all()
    assert actions == ["policy.create", "policy.withdraw"]


def test_bad_drafts_are_422_and_save_nothing(client, db):
    with clock.frozen_clock(TODAY):
        sign_in(client, make_user(Role.ADMIN).username)
        for changes in ({"effective_from": "2026-11-01"}, {"effective_from": "soon"},
                        {"class.serious.publicity": "three years"}, {"class.general.shortest_publicity": "2y"},
                        {"sla.repair.accept.length": "0"}, {"sla.repair.accept.unit": "hours"}):
            response = client.post("/admin/policy/new", data=_form(client, action="save", **changes))
            assert response.status_code == 422, changes
            assert 'class="errors"' in text(response)
    assert db.session.scalar(select(Policy).where(Policy.version > 1)) is None
    assert db.session.scalar(select(AdminAudit)) is None


def test_policy_pages_are_admin_only(client, db):
    sign_in(client, make_user(Role.SUPERVISOR).username)
    assert client.get("/admin/policy").status_code == 403
    assert client.get("/admin/policy/new").status_code == 403


def test_each_bad_field_is_marked_and_keeps_the_value_in_force(client, db):
    with clock.frozen_clock(TODAY):
        sign_in(client, make_user(Role.ADMIN).username)
        in_force = get_policy_in_force().body
        for name, bad in (("effective_from", "soon"), ("class.serious.publicity", "three years"),
                          ("class.general.publicity", "1m"),  # shorter than the shortest publicity
                          ("sla.repair.accept.length", "0"), ("sla.repair.accept.unit", "hours"),
                          ("due_soon_wd", "-1"), ("publication_wd", "0"), ("retention", "forever")):
            page = text(client.post("/admin/policy/new", data=_form(client, action="preview", **{name: bad})))
            assert f'id="{name}-errors"' in page, name
            assert page.count("field-errors") == 1, name  # that field only
            assert 'id="preview"' not in page
        page = text(client.post("/admin/policy/new", data=_form(client, action="preview", retention="forever")))
        assert f'name="retention" value="{in_force["retention_after_retirement"]}"' in page


def test_a_saved_draft_carries_each_edited_field(client, db):
    with clock.frozen_clock(TODAY):
        sign_in(client, make_user(Role.ADMIN).username)
        saved = client.post("/admin/policy/new", data=_form(client, action="save", **{
            "sla.repair.accept.unit": "cd", "sla.repair.accept.length": "20", "class.minor.published": "",
            "class.general.shortest_publicity": "2M", "due_soon_wd": "2", "publication_wd": "5", "retention": "3y"}))
        assert saved.status_code == 302
    body = db.session.scalar(select(Policy).where(Policy.version == 2)).body
    assert body["sla"]["repair"]["accept"]["cd"] == 20 and "wd" not in body["sla"]["repair"]["accept"]
    assert body["record_classes"]["minor"]["published"] is False
    assert body["record_classes"]["general"]["shortest_publicity"] == "2m"
    assert body["reminders"]["due_soon_before"] == {"wd": 2} and body["publication_deadline"] == {"wd": 5}
    assert body["retention_after_retirement"] == "3y"
    base = get_policy_in_force().body
    assert set(body) == set(base)  # what the form does not edit is carried over
    assert {k: v for k, v in body.items() if k not in EDITED} == {k: v for k, v in base.items() if k not in EDITED}


EDITED = {"record_classes", "sla", "reminders", "publication_deadline", "retention_after_retirement"}


def _v2(db, admin):
    body = copy.deepcopy(get_policy_in_force().body)
    body["record_classes"]["general"]["publicity"] = "6m"
    return policy_versions.create_version(admin, body, clock.today(), "v2").version


def test_recompute_is_queued_at_once_and_the_page_shows_its_progress(client, db):
    """The POST queues the run and answers (it moves nothing itself); the scheduler's run is shown."""
    admin = make_user(Role.ADMIN)
    with clock.frozen_clock(TODAY):
        record = make_record(decision_date=date(2026, 9, 1))
        version = _v2(db, admin)
        sign_in(client, admin.username)
        asked = client.post(f"/admin/policy/{version}/recompute", data={"csrf_token": csrf_token(client, "/admin/policy")})
        assert asked.status_code == 302 and asked.headers["Location"].endswith("/admin/policy")
        db.session.refresh(record)
        assert record.policy_version == 1  # not run in the request
        page = text(client.get("/admin/policy"))
        assert 'id="recompute-run"' in page and "排队中" in page and "0 / 1（0 条日期改变）" in page
        assert 'http-equiv="refresh"' in page  # the page follows the run
        again = client.post(f"/admin/policy/{version}/recompute", data={"csrf_token": csrf_token(client, "/admin/policy")})
        assert again.status_code == 409 and "已在排队或运行" in text(again)
        run_recompute()  # the scheduler's poll
        page = text(client.get("/admin/policy"))
        assert "已完成" in page and "1 / 1（1 条日期改变）" in page and 'http-equiv="refresh"' not in page
    db.session.refresh(record)
    assert record.policy_version == version
    audits = db.session.scalars(select(AdminAudit).where(AdminAudit.action.like("policy.recompute%"))
                                .order_by(AdminAudit.id)).all()
    assert [(a.action, a.actor_id) for a in audits] == [("policy.recompute_requested", admin.id),
                                                         ("policy.recompute", admin.id)]


def test_a_failed_recompute_shows_its_error_and_can_be_asked_again(client, db):
    admin = make_user(Role.ADMIN)
    with clock.frozen_clock(TODAY):
        make_record(decision_date=date(2026, 9, 1))
        version = _v2(db, admin)
        request_recompute(admin, version)
        _v2(db, admin)  # v3 in force: the queued run onto v2 can no longer run
        with pytest.raises(Conflict):
            run_recompute()
        sign_in(client, admin.username)
        page = text(client.get("/admin/policy"))
        assert "失败" in page and "Conflict: " in page and 'action="/admin/policy/3/recompute"' in page


def test_periods_and_clocks_read_as_words_in_the_readers_language(client, db):
    body = get_policy_in_force().body
    serious = body["record_classes"]["serious"]
    sign_in(client, make_user(Role.ADMIN).username)
    page = client.get("/admin/policy/1").get_data(as_text=True)
    shown = re.sub(r'<input[^>]*name="csrf_token"[^>]*>', "", page)  # a random token may hold "0d"
    assert f"<code>{serious['publicity']}</code>" not in shown and not re.search(r"\b0d\b", shown)
    number, unit = int(serious["publicity"][:-1]), serious["publicity"][-1]
    assert f"{number} {dict(y='年', m='个月', d='天')[unit]}" in page
    assert "个工作日" in page
    english = type(client)(client.application)
    sign_in(english, make_user(Role.ADMIN, locale="en").username)
    page = english.get("/admin/policy/1").get_data(as_text=True)
    assert f"{number} {dict(y='year', m='month', d='day')[unit]}{'s' if number > 1 else ''}" in page
    assert "working days" in page


@pytest.mark.parametrize(("spec", "zh", "en"), [
    ("3m", "3 个月", "3 months"), ("1y", "1 年", "1 year"), ("0d", "无", "none"), ("20d", "20 天", "20 days"),
    ("oops", "oops", "oops"),
])
def test_a_period_in_words(app, spec, zh, en):
    from app.web.filters import period

    for locale, expected in (("zh_CN", zh), ("en", en)):
        with app.test_request_context(), force_locale(locale):
            assert period(spec) == expected


@pytest.mark.parametrize(("spec", "zh", "en"), [
    ("15wd+5", "15 个工作日，可延长一次 5 个工作日", "15 working days, extended once by 5 working days"),
    ("30cd no-shift", "30 个自然日，届满日遇休息日不顺延", "30 calendar days, not moved off rest days"),
    ("1wd", "1 个工作日", "1 working day"),
])
def test_a_clock_rule_in_words(app, spec, zh, en):
    from app.web.filters import clock_spec

    for locale, expected in (("zh_CN", zh), ("en", en)):
        with app.test_request_context(), force_locale(locale):
            assert clock_spec(spec) == expected

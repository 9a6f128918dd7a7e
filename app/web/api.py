"""The JSON API for departments (/api/v1): records, referrals, notices, webhooks.

Every endpoint is declared with ``@operation``, which records what the OpenAPI document says
of it; the document at /api/v1/openapi.json is built from those declarations and the URL map,
so it cannot drift from the code. Errors are RFC 9457 problem details.
"""
from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime

from flask import Blueprint, current_app, g, jsonify, render_template, request, url_for

from app import clock
from app.errors import InvalidInput, NotFound
from app.identifiers import scrub
from app.models import CreditRecord
from app.services import accounts, records
from app.services.cases import (
    VERIFICATION_RESULTS,
    Action,
    get_case_for,
    list_cases_waiting_for_department,
    transition_case,
)
from app.services.notices import list_inbox
from app.web.access import api_key, public
from app.web.errors import ApiError, register_api_error_handlers
from workflows import CASE_WORKFLOWS, DEPARTMENT

bp = Blueprint("api", __name__, url_prefix="/api/v1")
register_api_error_handlers(bp)
OPERATIONS: dict[str, dict] = {}
MAX_BULK = 10_000


def operation(summary: str, *, request_schema: dict | None = None, response: dict | None = None,
              status: int = 200, query: dict | None = None, media: str = "application/json"):
    """Declare what the OpenAPI document says of a view."""
    def mark(view):
        OPERATIONS[f"api.{view.__name__}"] = {
            "summary": summary, "request": request_schema, "response": response or {"type": "object"},
            "status": status, "query": query or {}, "media": media,
        }
        return view
    return mark


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object.")
    return body


def _record_json(record: CreditRecord) -> dict:
    return {
        "id": record.id, "decision_number": record.decision_number, "state": record.state,
        "category": record.category, "severity": record.severity,
        "decision_date": record.decision_date.isoformat(), "publicity_end": record.publicity_end.isoformat(),
        # The end day of the shortest publicity, as the pages and `calendar period` give it; repair
        # may be applied for from the next day (``repair_possible_from``, kept for existing clients).
        "shortest_publicity_end": record.shortest_publicity_end.isoformat(),
        "repair_possible_from": record.repair_possible_from.isoformat(),
        "under_objection": record.under_objection, "is_public": record.is_public,
        "published_late": record.published_late, "version": record.version,
    }


RECORD_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "decision_number": {"type": "string"}, "state": {"type": "string"},
        "category": {"type": "string"}, "severity": {"type": "string"},
        "decision_date": {"type": "string", "format": "date"}, "publicity_end": {"type": "string", "format": "date"},
        "shortest_publicity_end": {"type": "string", "format": "date"},
        "repair_possible_from": {"type": "string", "format": "date"}, "under_objection": {"type": "boolean"},
        "is_public": {"type": "boolean"}, "published_late": {"type": "boolean"}, "version": {"type": "integer"},
    },
    "required": ["id", "decision_number", "state"],
}
NEW_RECORD_SCHEMA = {
    "type": "object",
    "properties": {name: {"type": "string"} for name in (
        "identifier", "subject_name", "category", "severity", "decision_number", "decision_date", "facts",
        "sanction", "sanction_kinds", "sector", "publish_minor", "measure_until")},
    "required": ["identifier", "subject_name", "category", "severity", "decision_number", "decision_date",
                 "facts", "sanction"],
}


@bp.route("/")
@public
@operation("What this API offers")
def index():
    return jsonify(
        openapi=url_for("api.openapi"), docs=url_for("api.docs"),
        authentication="Authorization: Bearer <department API key>",
    )


@bp.route("/records")
@api_key
@operation("The department's records, oldest first, 100 a page (keyset: pass the last id as after); with "
           "retired_since, only those the expiry job retired at or after that instant (a date is its start, "
           "platform time; a time without offset is platform time)",
           response={"type": "object", "properties": {"records": {"type": "array", "items": RECORD_SCHEMA},
                                                       "next_after": {"type": ["integer", "null"]}}},
           query={"after": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                  "retired_since": {"type": "string", "format": "date-time"}})
def list_records():
    try:
        after = int(request.args.get("after", "0"))
    except ValueError:
        after = -1
    if not 0 <= after <= 2**31 - 1:
        raise ApiError(400, "after must be a record id (an integer from 0).")
    if "retired_since" in request.args:
        since = _instant(request.args["retired_since"])
        page, next_after = records.list_retired_since(g.api_key.department_id, since, after, limit=100)
    else:
        page, next_after = records.list_records_page(g.api_key.department_id, after, limit=100)
    return jsonify(records=[_record_json(r) for r in page], next_after=next_after)


def _instant(text: str) -> datetime:
    """An ISO-8601 date or date and time; platform time unless it names its offset."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        value = value if value.tzinfo else value.replace(tzinfo=clock.PLATFORM_TZ)
        value.astimezone(UTC)  # as it is stored: year 1 or 9999 with an offset does not fit
    except (ValueError, OverflowError):
        raise ApiError(400, "retired_since must be an ISO-8601 date or time, e.g. 2027-06-01 or "
                            "2027-06-01T03:00:00+08:00.") from None
    return value


@bp.route("/records/<id:record_id>")
@api_key
@operation("One of the department's records", response=RECORD_SCHEMA)
def get_record(record_id: int):
    record = records.find_record_of_department(g.api_key.department_id, record_id)
    if record is None:
        raise ApiError(404, "No such record.")  # another department's is as good as absent
    return jsonify(_record_json(record))


@bp.route("/records", methods=["POST"])
@api_key
@operation(
    f"Push records, one or up to {MAX_BULK:,} at once: all valid and stored, or none. A record already "
    "provided (same decision number) is unchanged if identical; changed facts or sanction make a new version.",
    request_schema={"type": "object", "properties": {"records": {"type": "array", "items": NEW_RECORD_SCHEMA,
                                                                  "minItems": 1, "maxItems": MAX_BULK}},
                    "required": ["records"]},
    response={"type": "object", "properties": {k: {"type": "integer"} for k in ("created", "updated", "unchanged")}},
)
def push_records():
    body = _json_body()
    items = body.get("records")
    if not isinstance(items, list) or not items:
        raise ApiError(422, "records must be a non-empty list.", [{"field": "records", "message": "required"}])
    if len(items) > MAX_BULK:
        raise ApiError(422, f"At most {MAX_BULK} records per request.")
    try:
        result = records.push_records(g.api_key.department, items)
    except records.InvalidRecords as refused:
        raise ApiError(422, str(refused), refused.errors) from None
    return jsonify(asdict(result)), 200


def _case_json(case) -> dict:
    return {"id": case.id, "number": case.number, "kind": case.kind, "state": case.state, "version": case.version,
            "due_at": case.due_at.isoformat() if case.due_at else None,
            "record": case.record.decision_number if case.record else None,
            # The applicant's own words, read by a department: identity numbers masked (issue 13).
            "title": scrub(case.title), "statement": scrub(case.statement)}


CASE_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "number": {"type": "string"}, "kind": {"type": "string"}, "state": {"type": "string"},
    "version": {"type": "integer"}, "due_at": {"type": ["string", "null"]}, "record": {"type": ["string", "null"]},
    "title": {"type": "string"}, "statement": {"type": "string"}}, "required": ["id", "number", "state", "version"]}


@bp.route("/referrals")
@api_key
@operation("Cases waiting for the department's reply, earliest deadline first",
           response={"type": "object", "properties": {"referrals": {"type": "array", "items": CASE_SCHEMA}}})
def list_referrals():
    waiting = list_cases_waiting_for_department(g.api_key.department_id)
    return jsonify(referrals=[_case_json(c) for c in waiting])


@bp.route("/referrals/<id:case_id>/reply", methods=["POST"])
@api_key
@operation("Reply to a referral: what the verification found, why, on the version seen",
           request_schema={"type": "object", "properties": {
               "verification": {"type": "string", "enum": list(VERIFICATION_RESULTS)},
               "reason": {"type": "string", "minLength": 1}, "version": {"type": "integer"}},
               "required": ["reason", "version"]},
           response=CASE_SCHEMA)
def reply_to_referral(case_id: int):
    body = _json_body()
    version, reason = body.get("version"), body.get("reason")
    if not isinstance(version, int) or not isinstance(reason, str) or not reason.strip():
        raise ApiError(422, "reason (text) and version (integer) are required.",
                       [{"field": "reason", "message": "required"}, {"field": "version", "message": "required"}])
    actor = _department_user(g.api_key)
    case = get_case_for(actor, case_id)
    # The department's answer to what the case waits for (verification, opinion, response).
    trigger = CASE_WORKFLOWS[case.kind].answer_by(DEPARTMENT)
    verification = body.get("verification")
    transition_case(case.id, Action(trigger, version, reason, verification=verification), actor)
    return jsonify(_case_json(get_case_for(actor, case_id)))


def _department_user(key):
    """The department's own account acts for its key (audit events need a user)."""
    user = accounts.get_department_actor(key.department_id)
    if user is None:
        raise ApiError(409, "The department has no active user account to act for the key.")
    return user


@bp.route("/notices")
@api_key
@operation("The department's latest notices",
           response={"type": "object", "properties": {"notices": {"type": "array", "items": {"type": "object"}}}})
def list_notices():
    user = _department_user(g.api_key)
    return jsonify(notices=[{"id": n.id, "template": n.template, "payload": n.payload,
                             "created_at": n.created_at.isoformat()} for n in list_inbox(user, limit=100)])


@bp.route("/webhooks", methods=["POST"])
@api_key
@operation("Subscribe a webhook; the signing secret is returned once. The address must be https, without user "
           "name, password or fragment, and its host must resolve to public Internet addresses only (checked "
           "again at each delivery; redirects are not followed); a department has at most a configured number "
           "of active subscriptions (20 by default): a refusal is a 422 saying why", status=201,
           request_schema={"type": "object", "properties": {
               "url": {"type": "string", "format": "uri", "maxLength": 500}, "events": {"type": "array", "items": {"type": "string"}},
               "name": {"type": "string"}}, "required": ["url"]},
           response={"type": "object", "properties": {"id": {"type": "integer"}, "secret": {"type": "string"}}})
def subscribe_webhook():
    body = _json_body()
    url = body.get("url")
    if not isinstance(url, str):
        raise ApiError(422, "url must be an https address.", [{"field": "url", "message": "invalid"}])
    events = body.get("events", ["*"])
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events) or not events:
        raise ApiError(422, "events must be a list of notice names.", [{"field": "events", "message": "invalid"}])
    try:  # the address rule and the cap are the service's, the same as for the admin form
        subscription, secret = accounts.subscribe_webhook(g.api_key, str(body.get("name") or "api")[:100], url,
                                                          events)
    except InvalidInput as refused:
        raise ApiError(422, str(refused)) from None
    return jsonify(id=subscription.id, secret=secret), 201


@bp.route("/webhooks/<id:subscription_id>", methods=["DELETE"])
@api_key
@operation("Unsubscribe a webhook", status=204, response={"type": "object"})
def unsubscribe_webhook(subscription_id: int):
    try:
        accounts.unsubscribe_webhook(g.api_key, subscription_id)
    except NotFound:
        raise ApiError(404, "No such subscription.") from None
    return "", 204


@bp.route("/openapi.json")
@public
@operation("This document")
def openapi():
    return jsonify(openapi_document())


@bp.route("/docs")
@public
@operation("A readable page of this API", media="text/html", response={"type": "string"})
def docs():
    return render_template("api/docs.html", spec=openapi_document())


def openapi_document() -> dict:
    paths: dict = {}
    for rule in current_app.url_map.iter_rules():
        meta = OPERATIONS.get(rule.endpoint)
        if meta is None:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op: dict = {
                "operationId": rule.endpoint.replace(".", "_") + "_" + method.lower(),
                "summary": meta["summary"],
                "responses": {
                    str(meta["status"]): ({"description": "OK"} if meta["status"] == 204 else
                                          {"description": "OK", "content": {meta["media"]: {"schema": meta["response"]}}}),
                    "default": {"description": "A problem", "content": {"application/problem+json": {"schema": PROBLEM}}},
                },
            }
            params = [{"name": a, "in": "path", "required": True,
                       "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}} for a in rule.arguments]
            params += [{"name": n, "in": "query", "required": False, "schema": s} for n, s in meta["query"].items()]
            if params:
                op["parameters"] = params
            if meta["request"]:
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": meta["request"]}}}
            if getattr(current_app.view_functions[rule.endpoint], "access_rule", None) == "api_key":
                op["security"] = [{"apiKey": []}]
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "Credit case desk: department API", "version": "1"},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
    }


PROBLEM = {"type": "object", "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
    "detail": {"type": "string"}, "errors": {"type": "array", "items": {"type": "object"}}},
    "required": ["title", "status"]}


"""Officers and admins see each workflow drawn from its definition, with its deadlines."""
from __future__ import annotations

import re

import pytest

from app.models.enums import Role
from tests.factories import make_user
from tests.web.helpers import sign_in, text
from workflows import BINDING, CASE_WORKFLOWS, RECORD


@pytest.mark.parametrize("name", [*CASE_WORKFLOWS, "record", "binding"])
def test_each_workflow_page_draws_every_state(client, name):
    sign_in(client, make_user(Role.OFFICER).username)
    page = client.get(f"/desk/workflows/{name}")
    assert page.status_code == 200
    html = text(page)
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    workflow = {**CASE_WORKFLOWS, "record": RECORD, "binding": BINDING}[name]
    assert svg.count('class="state') == len(workflow.states)
    assert "&lt;" not in svg.split(">", 1)[0]  # the diagram is markup, not escaped text


def test_deadlines_come_from_the_policy_in_force(client):
    sign_in(client, make_user(Role.ADMIN).username)
    html = text(client.get("/desk/workflows/objection"))
    assert "20个自然日" in html
    assert "10个工作日" in html


def test_unknown_workflow_is_404(client):
    sign_in(client, make_user(Role.SUPERVISOR).username)
    assert client.get("/desk/workflows/nothing").status_code == 404

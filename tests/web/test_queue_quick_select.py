"""The queue page's selects drawn without WTForms' per-option machinery: the markup WTForms
draws, option for option (issue 16, item 4)."""
from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectField
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import Select

from app.forms.validators import choices
from app.web.desk import QUICK_SELECT

TRICKY = [("", "全部"), ("a&b", "<b>甲</b>"), ('q"uote', "it's"), ("7", ""), ("plain", "Plain")]


class _Form(Form):
    text = SelectField("Text", validators=[Optional()])
    number = SelectField("Number", coerce=int, validators=[Optional()], validate_choice=False)
    required = SelectField("Required", validators=[InputRequired()])


def _form(data: dict) -> _Form:
    form = _Form(MultiDict(data))
    form.text.choices = choices(TRICKY)
    form.number.choices = choices([(3, "三"), (12, "<十二>"), (40, "四十")])
    form.required.choices = choices(TRICKY)
    return form


@pytest.mark.parametrize("data", [{}, {"text": "a&b", "number": "12"}, {"text": 'q"uote'}, {"text": "7", "number": "40"}])
def test_quick_select_draws_what_wtforms_draws(data):
    form = _form(data)
    for field in (form.text, form.number, form.required):
        expected = Select()(field)
        assert QUICK_SELECT(field) == expected
        assert QUICK_SELECT(field, class_="wide") == Select()(field, class_="wide")  # attributes: WTForms draws it


def test_quick_select_marks_the_chosen_option_and_escapes_every_label():
    form = _form({"text": "a&b"})
    html = str(QUICK_SELECT(form.text))
    assert '<option selected value="a&amp;b">&lt;b&gt;甲&lt;/b&gt;</option>' in html
    assert '<option value="7">7</option>' in html  # no label: the value stands for it, as in WTForms
    assert html.startswith('<select id="text" name="text">') and html.count("selected") == 1


def test_the_queue_filters_draw_as_before(client, db):
    from app.models.enums import Role
    from tests.factories import make_user
    from tests.web.helpers import sign_in, text

    sign_in(client, make_user(Role.OFFICER).username)
    html = text(client.get("/desk/queues?kind=complaint"))
    assert '<select id="kind" name="kind"><option value="">全部</option><option value="objection">' in html
    assert '<option selected value="complaint">' in html

"""The forms offer the notices by their labels (app/labels.py), not by the texts' module: one label each."""
from __future__ import annotations

from app.forms.admin import WebhookForm
from app.labels import LABELS
from app.services.notices.messages import TEMPLATES


def test_every_notice_template_has_a_label_and_every_label_a_template():
    assert set(LABELS["notice"]) == set(TEMPLATES)


def test_the_webhook_form_offers_every_notice(app):
    with app.test_request_context():
        offered = {choice.value for choice in WebhookForm(meta={"csrf": False}).events.choices}
    assert offered == {"*", *TEMPLATES}

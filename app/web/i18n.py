"""Locale choice: the visitor's explicit switch, then the account's preference, then Chinese.

Also the request class, for one thing: WTForms' own messages (a required field, a too long
entry) in the request's language without reading their catalogue from disk on every request.
Flask-WTF keeps that catalogue on the request (``request.wtforms_translations``) and loads it
when it finds none, once per request; here the attribute is the process's copy for the
request's language, loaded once per language (issue 16).
"""
from __future__ import annotations

from functools import cached_property

from babel import support
from flask import Request as FlaskRequest
from flask import current_app, has_request_context, session
from flask_babel import get_locale
from flask_login import current_user
from wtforms.i18n import messages_path

_wtforms_catalogues: dict[str, support.Translations] = {}


def select_locale() -> str:
    """Outside a request (jobs, CLI) messages are in the platform's default language."""
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    user = current_user._get_current_object()
    if user and user.is_authenticated and user.locale in languages:
        return user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def wtforms_translations() -> support.Translations:
    """WTForms' catalogue for the request's language, as Flask-WTF loads it, loaded once."""
    locale = get_locale()
    key = str(locale)
    catalogue = _wtforms_catalogues.get(key)
    if catalogue is None:  # two threads may both load it: the same catalogue either way
        catalogue = _wtforms_catalogues[key] = support.Translations.load(messages_path(), [locale], domain="wtforms")
    return catalogue


class Request(FlaskRequest):
    """The application's request: Flask's, with WTForms' catalogue read from the process's."""

    @cached_property
    def wtforms_translations(self) -> support.Translations:
        return wtforms_translations()

"""Chinese first: every message on screen has a Chinese translation with the same placeholders."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "app" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
METHODS = [("app/**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS, options_map={"templates/**.html": {}}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_is_translated():
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    translated = {_singular(m.id) for m in catalog if m.id and all(_forms(m.string)) and not m.fuzzy}
    missing = sorted(_source_messages() - translated)
    assert missing == [], "run scripts/i18n.sh update and translate: " + "; ".join(missing)


def test_translations_keep_their_placeholders():
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    placeholder = re.compile(r"%\(\w+\)[sd]")
    for message in catalog:
        for source in _forms(message.id) if message.id else ():
            for string in _forms(message.string):
                if string:
                    assert sorted(placeholder.findall(source)) == sorted(placeholder.findall(string)), message.id


def _forms(text) -> tuple[str, ...]:
    """A message's text, or each form of a plural one (``ngettext``)."""
    return (text,) if isinstance(text, str) else tuple(text)


def _singular(message_id) -> str:
    return _forms(message_id)[0]

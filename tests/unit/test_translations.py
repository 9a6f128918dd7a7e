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


def test_every_admin_action_has_a_name_and_every_name_an_action():
    """The audit page and its export name what an admin did; a new action without a name would
    show its code (``webhook.create``) to a Chinese reader."""
    import ast

    from app.labels import LABELS

    action = re.compile(r"^[a-z]+\.[a-z_]+$")
    written = set()
    for path in (ROOT / "app").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        if "audit_admin_change" in source and path.name != "audit.py":
            written |= {node.value for node in ast.walk(ast.parse(source))
                        if isinstance(node, ast.Constant) and isinstance(node.value, str) and action.match(node.value)}
    assert written and written == set(LABELS["admin_action"])


def test_every_kind_of_object_an_admin_changes_has_a_name():
    import ast

    from app.labels import LABELS

    kinds = {"case", "record", "calendar_override"}  # the event trails' own, and the calendar's constant
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "audit_admin_change"
                    and len(node.args) > 2 and isinstance(node.args[2], ast.Constant)):
                kinds.add(node.args[2].value)
    assert kinds == set(LABELS["object_type"])

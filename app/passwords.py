"""What a new password must not be (issue 13; OWASP ASVS 4.0 2.1, NIST SP 800-63B 5.1.1.2).

Length is what protects a password: ``PASSWORD_MIN_LENGTH`` characters at least (12), any
characters, no composition rules. On top of that a password is refused when guessing lists
start with it: a common password (the bundled list, ``app/data/common_passwords.txt``, compared
case-insensitively), a common one with digits or symbols around it (``Password2024!``), the
account's own names (user name, e-mail address, display name, subject name, when contained),
one character or a short pattern repeated (``aaaa``, ``abcabc``) or a run of consecutive
characters (``12345``, ``qwert``). Every refusal says why, in the user's language.

A pure helper below both the forms and the services: the WTForms validator
(``app.forms.validators.AcceptablePassword``) and the use cases that set passwords
(``app.services.accounts.passwords``) apply the same rule.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from flask import current_app, has_app_context
from flask_babel import gettext as _

COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "common_passwords.txt"
DEFAULT_MIN_LENGTH = 12
# A name in Latin letters shorter than this is inside too many passwords by chance ("li",
# "tom"); a word of a longer name counts from PART_MIN ("Zhang Jianguo": "zhang", "jianguo";
# not "used" of "used-long-ago"). A name in Chinese characters counts from two ("王伟").
NAME_MIN = 4
NAME_PART_MIN = 5
WIDE_NAME_MIN = 2
CORE_MIN = 4  # "Password2024!" is "password" with decoration; "ab12!" is no word with digits added
REPEAT_RUN = 4  # "aaaa"
SEQUENCE_RUN = 5  # "12345", "abcde", "qwert", and backwards
SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")  # digits, punctuation and spaces at either end
_SEPARATORS = re.compile(r"[\s._+\-@]+")


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list, case-folded (read once per process: about 40,000 lines)."""
    with COMMON_PASSWORDS.open(encoding="utf-8") as lines:
        return frozenset(line.rstrip("\n").casefold() for line in lines if line.strip())


def min_length() -> int:
    if has_app_context():
        return int(current_app.config.get("PASSWORD_MIN_LENGTH", DEFAULT_MIN_LENGTH))
    return DEFAULT_MIN_LENGTH


def _name_forms(names: Iterable[str]) -> set[str]:
    """The forms of the account's names to look for: each whole (spaces and dots removed too),
    an address's local part, and the longer words of a name."""
    forms = set()
    for name in names:
        name = (name or "").strip().casefold()
        if not name:
            continue
        if "@" in name:
            name = name.split("@", 1)[0]
        forms |= {whole for whole in (name, _SEPARATORS.sub("", name)) if _long_enough(whole, NAME_MIN)}
        forms |= {part for part in _SEPARATORS.split(name) if _long_enough(part, NAME_PART_MIN)}
    return forms


def _long_enough(name: str, minimum: int) -> bool:
    return len(name) >= (WIDE_NAME_MIN if any(ord(c) > 0x2E7F for c in name) else minimum)


def _repeats(password: str) -> bool:
    """One character four times in a row, or the whole password one short pattern over and over."""
    return bool(re.search(rf"(.)\1{{{REPEAT_RUN - 1}}}", password, flags=re.DOTALL)
                or re.fullmatch(r"(.{1,4}?)\1{2,}.{0,3}", password, flags=re.DOTALL))


def _runs(password: str) -> bool:
    """A run of ``SEQUENCE_RUN`` consecutive characters of the alphabet, the digits or a keyboard row."""
    for start in range(len(password) - SEQUENCE_RUN + 1):
        window = password[start:start + SEQUENCE_RUN]
        if any(window in line or window[::-1] in line for line in SEQUENCES):
            return True
    return False


def password_problems(password: str, *, names: Iterable[str] = ()) -> list[str]:
    """Why ``password`` is refused, each reason translated; empty when it is acceptable.

    ``names`` are the account's own names: user name, e-mail address, display name, subject name.
    """
    password = password or ""
    folded = password.casefold()
    problems = []
    if len(password) < min_length():
        problems.append(_("Use at least %(count)d characters.", count=min_length()))
    common = common_passwords()
    core = _EDGES.sub("", folded)
    if folded in common or folded.strip() in common:
        problems.append(_("This is one of the most common passwords."))
    elif core != folded and len(core) >= CORE_MIN and core in common:
        problems.append(_("This is a common password with digits or symbols added."))
    squeezed = _SEPARATORS.sub("", folded)
    if any(form in folded or form in squeezed for form in _name_forms(names)):
        problems.append(_("Do not use your name, user name or e-mail address in the password."))
    if _repeats(folded):
        problems.append(_("Do not repeat a character or a short pattern (such as aaaa or abcabc)."))
    if _runs(folded):
        problems.append(_("Do not use a run of consecutive characters (such as 12345, abcde or qwert)."))
    return problems

"""Identifiers of credit subjects: validation with check characters, and masking.

* Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters over a
  31-symbol alphabet (no I, O, Z, S, V); the 18th is a check character over the first 17
  with weights 3^i mod 31.
* Resident identity number (居民身份证号码, GB 11643-1999): 17 digits and an ISO 7064
  MOD 11-2 check character (X for 10); digits 7-14 are the birth date, which must exist.

Messages are returned as lazy strings so forms, CSV reports and the API each show them in
the reader's language.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from app import clock

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_ID_CHECK = "10X98765432"

# Anything shaped like an identity number (six digits, a plausible birth date, four more),
# for scrubbing free text (logs, exports).
ID_NUMBER_PATTERN = re.compile(
    r"(?<!\d)(\d{6})((?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))(\d{3}[0-9Xx])(?!\d)"
)


class InvalidIdentifier(ValueError):
    """The identifier is malformed; ``str(error)`` says what is wrong, in the reader's language."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class Identifier:
    kind: str  # "legal" or "natural", as in SubjectKind
    value: str  # normalised: upper case, no spaces
    birth_date: date | None = None


def normalise(raw: str) -> str:
    """Upper-case and strip spaces, including the full-width ones pasted from documents."""
    return re.sub(r"[\s\u3000]", "", raw or "").upper()


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_VALUE[ch] * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def id_check_char(first17: str) -> str:
    total = sum(int(ch) * w for ch, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_uscc(raw: str) -> Identifier:
    value = normalise(raw)
    if len(value) != 18:
        raise InvalidIdentifier(
            _l("A unified social credit code has 18 characters; %(n)d were given.", n=len(value))
        )
    bad = sorted({ch for ch in value if ch not in _USCC_VALUE})
    if bad:
        raise InvalidIdentifier(
            _l(
                "A unified social credit code uses digits and capital letters except I, O, Z, S and V; "
                "it contains %(chars)s.",
                chars=" ".join(bad),
            )
        )
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        raise InvalidIdentifier(
            _l("The check character of this unified social credit code is wrong: please check the code for typing errors.")
        )
    return Identifier("legal", value)


def validate_id_number(raw: str) -> Identifier:
    value = normalise(raw)
    if len(value) != 18:
        raise InvalidIdentifier(
            _l("A resident identity number has 18 characters; %(n)d were given.", n=len(value))
        )
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise InvalidIdentifier(
            _l("A resident identity number is 17 digits followed by a digit or X.")
        )
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdentifier(
            _l("The birth date in this resident identity number (%(d)s) does not exist.", d=value[6:14])
        ) from None
    if birth.year < 1900 or birth > clock.today():
        raise InvalidIdentifier(
            _l("The birth date in this resident identity number (%(d)s) is not possible.", d=value[6:14])
        )
    if value[17] != id_check_char(value[:17]):
        raise InvalidIdentifier(
            _l("The check digit of this resident identity number is wrong: please check the number for typing errors.")
        )
    return Identifier("natural", value, birth)


def validate(raw: str, kind: str | None = None) -> Identifier:
    """Validate an identifier of the given kind, or tell the kind from its shape.

    Without a kind, anything shaped like an identity number (17 digits with a real birth date,
    then a digit or X) is judged as one and never retried as a credit code: otherwise a
    mistyped identity number would pass, one time in 31, as a valid code, and be shown unmasked.
    """
    if kind == "legal":
        return validate_uscc(raw)
    if kind == "natural":
        return validate_id_number(raw)
    value = normalise(raw)
    if _looks_like_id_number(value):
        return validate_id_number(value)
    return validate_uscc(value)


def _looks_like_id_number(value: str) -> bool:
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789X":
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return True


def mask(identifier: str, kind: str) -> str:
    """Mask a natural person's number as 110105********002X; legal entity codes are public."""
    if kind != "natural" or len(identifier) < 10:
        return identifier
    return identifier[:6] + "*" * (len(identifier) - 10) + identifier[-4:]


def scrub(text: str) -> str:
    """Mask every identity-number-shaped run in free text (log lines, error reports)."""
    return ID_NUMBER_PATTERN.sub(lambda m: m.group(1) + "*" * 8 + m.group(3), text)


def complete_uscc(first17: str) -> str:
    """Append the check character to 17 code characters (for demo data and tests)."""
    return first17 + uscc_check_char(first17)


def complete_id_number(first17: str) -> str:
    """Append the check digit to 17 digits (for demo data and tests)."""
    return first17 + id_check_char(first17)

"""Identifiers: USCC (GB 32100-2015) and resident identity number (GB 11643-1999).

Pure unit tests: no database, no Flask app. Error messages are lazy strings; outside an app
``str(error)`` gives the English source text, so the assertions look for meaningful words.
"""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask_babel.speaklater import LazyString
from hypothesis import given, settings
from hypothesis import strategies as st

from app.clock import frozen_clock
from app.identifiers import (
    USCC_ALPHABET,
    InvalidIdentifier,
    complete_id_number,
    complete_uscc,
    id_check_char,
    mask,
    normalise,
    scrub,
    uscc_check_char,
    validate,
    validate_id_number,
    validate_uscc,
)

# Real-world codes: the brief's example, Huawei Technologies, Tencent (Shenzhen), Alibaba (China).
VALID_USCCS = ["91350100M000100Y43", "914403001922038216", "9144030071526726XG", "91330100716105852F"]
# The worked example of GB 11643-1999 (check character X) and one ending in a digit.
ID_X = "11010519491231002X"
ID_DIGIT = complete_id_number("11010519800101001")
USCC = "91350100M000100Y43"
DIGITS = "0123456789"

# Hypothesis: no example database written into the work tree, moderate example counts.
PROPERTY = settings(database=None, max_examples=200, deadline=None)


def message(raw, validator):
    with pytest.raises(InvalidIdentifier) as info:
        validator(raw)
    return str(info.value)


# ---------------------------------------------------------------------------------------
# Check characters
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", VALID_USCCS)
def test_real_world_uscc_is_valid(code):
    parsed = validate_uscc(code)
    assert parsed.kind == "legal"
    assert parsed.value == code
    assert parsed.birth_date is None


def test_uscc_check_char_of_example():
    assert uscc_check_char("91350100M000100Y4") == "3"


def test_uscc_check_char_zero_when_sum_is_a_multiple_of_31():
    # All zeros weigh 0, so the check character is the alphabet's value 0, not "31".
    assert uscc_check_char("0" * 17) == "0"


def test_id_number_example_from_the_standard_is_valid():
    parsed = validate_id_number(ID_X)
    assert parsed.kind == "natural"
    assert parsed.value == ID_X
    assert parsed.birth_date == date(1949, 12, 31)


def test_id_check_char_of_example_is_x():
    # Weights 2^(17-i) mod 11 = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 over 11010519491231002
    # give 167; 167 mod 11 = 2, which maps to X in "10X98765432".
    assert id_check_char("11010519491231002") == "X"


def test_id_number_ending_in_a_digit_is_valid():
    assert ID_DIGIT[-1].isdigit()
    assert validate_id_number(ID_DIGIT).birth_date == date(1980, 1, 1)


# ---------------------------------------------------------------------------------------
# USCC errors
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [USCC[:17], USCC + "0", "", "9135"])
def test_uscc_of_wrong_length_is_rejected(raw):
    text = message(raw, validate_uscc)
    assert "18 characters" in text
    assert f"{len(raw)} were given" in text


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_uscc_with_forbidden_letter_is_rejected(letter):
    raw = USCC[:8] + letter + USCC[9:]  # replaces the M of the organisation code
    text = message(raw, validate_uscc)
    assert "except I, O, Z, S and V" in text
    assert text.endswith(f"contains {letter}.")


def test_uscc_forbidden_letter_in_lower_case_is_rejected():
    text = message(USCC[:8] + "o" + USCC[9:], validate_uscc)
    assert "contains O" in text


def test_uscc_lists_each_forbidden_character_once_sorted():
    raw = "91350100" + "ZIZ" + USCC[11:]
    assert message(raw, validate_uscc).endswith("contains I Z.")


def test_uscc_with_punctuation_is_rejected():
    assert "contains -" in message(USCC[:17] + "-", validate_uscc)


def test_uscc_with_wrong_check_char_is_rejected():
    text = message(USCC[:17] + "4", validate_uscc)
    assert "check character" in text


# ---------------------------------------------------------------------------------------
# Identity number errors
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [ID_X[:17], ID_X + "1", "", "1101051949123100"])
def test_id_number_of_wrong_length_is_rejected(raw):
    text = message(raw, validate_id_number)
    assert "18 characters" in text
    assert f"{len(raw)} were given" in text


@pytest.mark.parametrize(
    "raw",
    [
        "1101051949123100AX",  # letter among the first 17
        "X1010519491231002X",  # X is only allowed last
        "11010519491231002Y",  # last character neither digit nor X
        "110105-9491231002X",  # punctuation
    ],
)
def test_id_number_with_non_digits_is_rejected(raw):
    assert "17 digits followed by a digit or X" in message(raw, validate_id_number)


@pytest.mark.parametrize("birth", ["19990230", "19991301", "19990100", "19000229", "20230229"])
def test_id_number_with_nonexistent_birth_date_is_rejected(birth):
    # Check digit correct, so the date is the only thing wrong.
    raw = complete_id_number("110105" + birth + "002")
    text = message(raw, validate_id_number)
    assert "does not exist" in text
    assert birth in text


def test_id_number_with_leap_day_birth_date_is_valid():
    raw = complete_id_number("110105" + "20000229" + "002")
    assert validate_id_number(raw).birth_date == date(2000, 2, 29)


def test_id_number_born_in_the_future_is_rejected():
    raw = complete_id_number("110105" + "20260102" + "002")
    with frozen_clock(datetime(2026, 1, 1, 12, 0)):
        text = message(raw, validate_id_number)
    assert "not possible" in text
    assert "20260102" in text


def test_id_number_born_today_is_valid():
    raw = complete_id_number("110105" + "20260101" + "002")
    with frozen_clock(datetime(2026, 1, 1, 0, 0)):
        assert validate_id_number(raw).birth_date == date(2026, 1, 1)


def test_id_number_birth_date_compared_with_shanghai_today():
    # 17:00 UTC on 31 Dec is already 1 Jan 01:00 in Asia/Shanghai.
    raw = complete_id_number("110105" + "20260101" + "002")
    with frozen_clock(datetime(2025, 12, 31, 17, 0, tzinfo=UTC)):
        assert validate_id_number(raw).birth_date == date(2026, 1, 1)
    with frozen_clock(datetime(2025, 12, 31, 15, 59, tzinfo=UTC)):
        assert "not possible" in message(raw, validate_id_number)


def test_id_number_born_before_1900_is_rejected():
    # GB 11643-1999's own second example (born 1880-01-01) has a correct check digit,
    # but the platform treats births before 1900 as impossible.
    assert id_check_char("44052418800101001") == "4"
    assert "not possible" in message("440524188001010014", validate_id_number)


def test_id_number_with_wrong_check_digit_is_rejected():
    assert "check digit" in message(ID_X[:17] + "0", validate_id_number)


def test_id_number_with_digit_where_x_belongs_is_rejected():
    assert "check digit" in message(ID_DIGIT[:17] + "X", validate_id_number)


def test_error_is_a_value_error_with_a_lazy_message():
    with pytest.raises(ValueError) as info:
        validate_uscc("short")
    assert isinstance(info.value, InvalidIdentifier)
    assert isinstance(info.value.message, LazyString)
    assert str(info.value) == str(info.value.message)


# ---------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------


def test_normalise_upper_cases_and_strips_all_spaces():
    assert normalise(" 9135 0100\tm000100y43\n") == USCC


def test_normalise_strips_full_width_space():
    assert normalise("110105\u300019491231\u3000002x") == ID_X


def test_normalise_of_none_is_empty():
    assert normalise(None) == ""


def test_uscc_in_lower_case_with_spaces_is_valid_and_normalised():
    assert validate_uscc("  91350100m000100y43 ").value == USCC


def test_id_number_with_lower_case_x_and_full_width_spaces_is_valid():
    assert validate_id_number("\u3000110105 19491231 002x\u3000").value == ID_X


# ---------------------------------------------------------------------------------------
# validate(raw, kind)
# ---------------------------------------------------------------------------------------


def test_validate_guesses_legal_for_uscc():
    assert validate(USCC).kind == "legal"


def test_validate_guesses_natural_for_id_number():
    parsed = validate(" 110105 19491231 002x ")
    assert parsed.kind == "natural"
    assert parsed.value == ID_X
    assert parsed.birth_date == date(1949, 12, 31)


def test_validate_guesses_legal_for_all_digit_uscc():
    code = complete_uscc("91110100000000004")
    assert code == "911101000000000040"
    assert validate(code).kind == "legal"


def test_validate_falls_back_to_uscc_for_all_digit_code_shaped_like_an_id_number():
    # value[6:8] == "19" and 19000000 is no date, so the identity-number reading fails first.
    code = complete_uscc("91110119000000000")
    assert code == "911101190000000005"
    parsed = validate(code)
    assert parsed.kind == "legal"
    assert parsed.value == code


def test_validate_reports_id_number_error_for_bad_digit_string():
    # 18 digits, neither a valid identity number nor a valid code: the identity-number reason.
    wrong = "110105198001010017"  # ID_DIGIT ends in 6
    assert "check character" in message(wrong, validate_uscc)
    assert "check digit" in message(wrong, validate)


def test_validate_reports_uscc_error_for_bad_code():
    assert "check character" in message(USCC[:17] + "4", validate)


def test_validate_reports_uscc_length_for_empty_input():
    assert "18 characters; 0 were given" in message("", validate)


def test_validate_with_kind_legal_rejects_id_number_shaped_code():
    assert "check character" in message(ID_X, lambda raw: validate(raw, "legal"))


def test_validate_with_kind_natural_rejects_uscc():
    assert "17 digits" in message(USCC, lambda raw: validate(raw, "natural"))


def test_validate_guess_rejects_a_mistyped_id_number():
    typo = ID_X[:16] + "8" + ID_X[17:]  # one digit wrong: 2 -> 8 before the X
    assert typo == "11010519491231008X"
    with pytest.raises(InvalidIdentifier):
        validate_id_number(typo)
    with pytest.raises(InvalidIdentifier):
        validate(typo)


# ---------------------------------------------------------------------------------------
# Masking and scrubbing
# ---------------------------------------------------------------------------------------


def test_mask_natural_keeps_first_six_and_last_four():
    assert mask(ID_X, "natural") == "110105********002X"


def test_mask_legal_is_unchanged():
    assert mask(USCC, "legal") == USCC


def test_mask_short_value_is_unchanged():
    assert mask("123456789", "natural") == "123456789"


def test_scrub_masks_id_number_in_chinese_text():
    text = f"申请人身份证号{ID_X}，已核验。"
    assert scrub(text) == "申请人身份证号110105********002X，已核验。"


def test_scrub_masks_lower_case_x_and_every_occurrence():
    text = f"a={ID_X.lower()} b={ID_DIGIT}"
    assert scrub(text) == f"a=110105********002x b={ID_DIGIT[:6]}********{ID_DIGIT[-4:]}"


def test_scrub_masks_number_at_start_and_end_of_text():
    assert scrub(ID_DIGIT) == mask(ID_DIGIT, "natural")


def test_scrub_leaves_19_digit_number_alone():
    text = "order 1101051949123100211 done"
    assert scrub(text) == text


def test_scrub_leaves_17_digit_number_alone():
    text = "ref 11010519491231002"
    assert scrub(text) == text


@pytest.mark.parametrize("code", [c for c in VALID_USCCS if not c.isdigit()])
def test_scrub_leaves_uscc_with_letters_alone(code):
    text = f"企业 {code} 信用修复"
    assert scrub(text) == text


def test_scrub_leaves_an_all_digit_uscc_without_a_birth_date_alone():
    # Huawei's code is 18 digits, but digits 7-14 are no date: it is not an identity number.
    assert scrub("914403001922038216") == "914403001922038216"


def test_scrub_masks_a_number_glued_to_letters():
    assert scrub("ID11010519491231002X") == "ID110105********002X"


def test_validate_without_kind_reads_an_all_digit_uscc_as_a_code():
    assert validate("914403001922038216").kind == "legal"


def test_scrub_leaves_text_without_identifiers_alone():
    text = "no identifiers here: 2026-10-13, case 42"
    assert scrub(text) == text


# ---------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------

uscc_prefixes = st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17)


@st.composite
def id_prefixes(draw):
    region = draw(st.text(alphabet=DIGITS, min_size=6, max_size=6))
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 6, 1)))
    sequence = draw(st.text(alphabet=DIGITS, min_size=3, max_size=3))
    return region + birth.strftime("%Y%m%d") + sequence


@PROPERTY
@given(uscc_prefixes)
def test_completed_uscc_always_validates(prefix):
    code = complete_uscc(prefix)
    assert validate_uscc(code).value == code


@PROPERTY
@given(id_prefixes())
def test_completed_id_number_always_validates(prefix):
    # Random 17 digits are mostly not a real birth date; the prefix embeds one.
    number = complete_id_number(prefix)
    with frozen_clock(datetime(2026, 6, 1, 12, 0)):
        parsed = validate_id_number(number)
    assert parsed.value == number
    assert parsed.birth_date.strftime("%Y%m%d") == prefix[6:14]


def _substitutions_uscc(code):
    for pos in range(18):
        for ch in USCC_ALPHABET:
            if ch != code[pos]:
                yield code[:pos] + ch + code[pos + 1 :]


def _substitutions_id(number):
    for pos in range(18):
        for ch in DIGITS + "X" if pos == 17 else DIGITS:
            if ch != number[pos]:
                yield number[:pos] + ch + number[pos + 1 :]


@pytest.mark.parametrize("code", VALID_USCCS)
def test_every_single_substitution_of_real_uscc_is_rejected(code):
    changed = list(_substitutions_uscc(code))
    assert len(changed) == 18 * 30
    for other in changed:
        with pytest.raises(InvalidIdentifier):
            validate_uscc(other)


@pytest.mark.parametrize("number", [ID_X, ID_DIGIT])
def test_every_single_substitution_of_real_id_number_is_rejected(number):
    changed = list(_substitutions_id(number))
    assert len(changed) == 17 * 9 + 10
    with frozen_clock(datetime(2026, 6, 1, 12, 0)):
        for other in changed:
            with pytest.raises(InvalidIdentifier):
                validate_id_number(other)


@PROPERTY
@given(uscc_prefixes, st.integers(0, 17), st.data())
def test_single_substitution_in_uscc_is_always_detected(prefix, pos, data):
    # 31 is prime and every weight 3^i mod 31 is non-zero, so any change of one value
    # (by 1..30 modulo 31) changes the weighted sum modulo 31.
    code = complete_uscc(prefix)
    new = data.draw(st.sampled_from([ch for ch in USCC_ALPHABET if ch != code[pos]]))
    changed = code[:pos] + new + code[pos + 1 :]
    with pytest.raises(InvalidIdentifier):
        validate_uscc(changed)


@PROPERTY
@given(id_prefixes(), st.integers(0, 17), st.data())
def test_single_substitution_in_id_number_is_always_detected(prefix, pos, data):
    # 11 is prime and every weight 2^(17-i) mod 11 is non-zero; a digit changes by 1..9,
    # never a multiple of 11; the check character itself is a function of the other 17.
    number = complete_id_number(prefix)
    allowed = DIGITS + "X" if pos == 17 else DIGITS
    new = data.draw(st.sampled_from([ch for ch in allowed if ch != number[pos]]))
    changed = number[:pos] + new + number[pos + 1 :]
    with frozen_clock(datetime(2026, 6, 1, 12, 0)):
        with pytest.raises(InvalidIdentifier):
            validate_id_number(changed)


@PROPERTY
@given(id_prefixes())
def test_scrub_of_id_number_equals_its_mask(prefix):
    number = complete_id_number(prefix)
    assert scrub(number) == mask(number, "natural")
    assert mask(number, "natural")[6:14] == "*" * 8


@PROPERTY
@given(uscc_prefixes)
def test_completed_uscc_with_a_letter_is_never_scrubbed(prefix):
    code = complete_uscc(prefix)
    if code[:17].isdigit() and (code[17].isdigit() or code[17] == "X"):
        return  # identity-number shaped: masking it is deliberate
    assert scrub(f"code {code}.") == f"code {code}."

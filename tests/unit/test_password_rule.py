"""The password rule (issue 13, app/passwords.py) on fixed vectors: each refusal with its reason.

Every vector but the issue's own is chosen to break exactly one rule, so that deleting the
line of any one rule turns its test red.
"""
from __future__ import annotations

import pytest

from app.passwords import common_passwords, password_problems

SHORT = "Use at least 12 characters."
COMMON = "This is one of the most common passwords."
DECORATED = "This is a common password with digits or symbols added."
NAME = "Do not use your name, user name or e-mail address in the password."
REPEAT = "Do not repeat a character or a short pattern (such as aaaa or abcabc)."
RUN = "Do not use a run of consecutive characters (such as 12345, abcde or qwert)."


@pytest.mark.parametrize(("password", "names", "reasons"), [
    # The issue's four: accepted on main.
    ("1234567890", [], [SHORT, COMMON, RUN]),
    ("aaaaaaaaaa", [], [SHORT, COMMON, REPEAT]),
    ("password12", [], [SHORT, COMMON]),
    ("officer.wang2026", ["officer.wang2026"], [NAME]),
])
def test_the_weak_passwords_of_the_issue_are_refused_with_their_reasons(password, names, reasons):
    assert password_problems(password, names=names) == reasons


@pytest.mark.parametrize(("password", "names", "reason"), [
    ("Xq7#mRt2!pL", [], SHORT),  # 11 characters
    ("international", [], COMMON),
    ("LeaveMeAlone", [], COMMON),  # the list is compared case-insensitively
    ("ILoveYou!!2026", [], DECORATED),
    ("Sunshine 2024!?", [], DECORATED),
    ("my name is jianguo, hi", ["Zhang Jianguo"], NAME),  # a word of the display name
    ("ZhangJianguo rules", ["Zhang Jianguo"], NAME),  # the whole name without its space
    ("wang.jg likes green tea", ["wang.jg@example.cn"], NAME),  # the address's local part
    ("王经理的密码很长很长很长", ["王经理"], NAME),  # a name in Chinese characters
    ("上海新开贸易有限公司的密码", ["上海新开贸易有限公司"], NAME),  # the subject's name
    ("tea pot zzzz ok then", [], REPEAT),
    ("xkcdxkcdxkcd", [], REPEAT),
    ("mouse 34567 cheese", [], RUN),
    ("lamp poiuy rug mat", [], RUN),  # a keyboard row, backwards
    ("fghij is a fine word", [], RUN),
])
def test_each_rule_refuses_with_its_own_reason(password, names, reason):
    assert password_problems(password, names=names) == [reason]


@pytest.mark.parametrize("password", [
    "correct horse battery staple",
    "Tr0ub4dor&3 and then some",
    "我的猫喜欢晒太阳和吃小鱼干",
    "a long enough password for the used account",
])
def test_a_long_unusual_password_is_accepted(password):
    assert password_problems(password, names=["used-long-ago@example.cn", "tom", "李"]) == []


def test_short_latin_names_are_not_looked_for():
    """A three-letter name is inside too many passwords by chance ("atomic" holds "tom")."""
    assert password_problems("atomic bomb shelter", names=["tom"]) == []


def test_the_bundled_list_is_a_real_public_one():
    """Django's 20,000 (Royce Williams, from breach corpora) and zxcvbn's 30,000 (xato.net's ten
    million passwords), merged: app/data/README.md. The top of both lists is in it."""
    common = common_passwords()
    assert len(common) > 40_000
    assert {"123456", "password", "qwerty", "iloveyou", "1qaz2wsx", "password1234"} <= common


def test_the_minimum_comes_from_the_configuration(app):
    with app.app_context():
        app.config["PASSWORD_MIN_LENGTH"] = 16
        try:
            assert password_problems("correct horse battery", names=[]) == []
            assert password_problems("xq7 lamp mat rug", names=[]) == []
            assert password_problems("xq7 lamp mat ru", names=[]) == ["请至少输入 16 个字符。"]  # and in Chinese
        finally:
            app.config["PASSWORD_MIN_LENGTH"] = 12
